/** The minimal EIP-1193 surface Trustgate uses, and JSON-RPC error shapes. */

export interface RequestArguments {
  readonly method: string;
  readonly params?: readonly unknown[] | object;
}

export interface Eip1193Provider {
  request(args: RequestArguments): Promise<unknown>;
}

/** A JSON-RPC error with its numeric code, as EIP-1193 providers throw them. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/**
 * A JSON-RPC 2.0 server over HTTP for an EIP-1193 provider: the embedded chain's public endpoint, so
 * wallets, scripts and stock resolvers reach the same chain the service uses. Single and batch requests;
 * CORS open (a public chain endpoint carries no credentials); bodies capped.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StartupError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Eip1193Provider } from './eip1193.ts';

const MAX_BODY = 5 * 1024 * 1024;
const MAX_BATCH = 100;

interface JsonRpcRequest {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

type JsonRpcResponse =
  | { jsonrpc: '2.0'; id: unknown; result: unknown }
  | { jsonrpc: '2.0'; id: unknown; error: { code: number; message: string; data?: unknown } };

const rpcError = (id: unknown, code: number, message: string, data?: unknown): JsonRpcResponse => ({
  jsonrpc: '2.0',
  id: id ?? null,
  error: data === undefined ? { code, message } : { code, message, data },
});

async function handleOne(provider: Eip1193Provider, req: JsonRpcRequest): Promise<JsonRpcResponse> {
  if (typeof req !== 'object' || req === null || req.jsonrpc !== '2.0' || typeof req.method !== 'string') {
    return rpcError(req?.id, -32600, 'Invalid Request');
  }
  if (req.params !== undefined && typeof req.params !== 'object')
    return rpcError(req.id, -32602, 'Invalid params');
  try {
    const result = await provider.request({ method: req.method, params: (req.params ?? []) as unknown[] });
    return { jsonrpc: '2.0', id: req.id ?? null, result: result ?? null };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; data?: unknown };
    // JSON-RPC errors (numeric code) are the chain's answer; anything else is internal and stays private.
    if (typeof e.code !== 'number') return rpcError(req.id, -32603, 'Internal error');
    return rpcError(req.id, e.code, typeof e.message === 'string' ? e.message : 'Internal error', e.data);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A running JSON-RPC server. */
export interface RpcServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `provider` on host:port; a clear StartupError when the port is taken. */
export async function startRpcServer(
  provider: Eip1193Provider,
  options: { host: string; port: number; log: Logger },
): Promise<RpcServer> {
  const server: Server = createServer(async (req, res) => {
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, rpcError(null, -32600, 'JSON-RPC is served over POST'));
      return;
    }
    let text: string;
    try {
      text = await readBody(req);
    } catch {
      send(res, 413, rpcError(null, -32600, 'Request too large'));
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      send(res, 200, rpcError(null, -32700, 'Parse error'));
      return;
    }
    if (Array.isArray(payload)) {
      if (payload.length === 0 || payload.length > MAX_BATCH) {
        send(res, 200, rpcError(null, -32600, `A batch holds 1 to ${MAX_BATCH} requests`));
        return;
      }
      // In order: a batch may send dependent transactions (nonce n, then n+1).
      const responses: JsonRpcResponse[] = [];
      for (const item of payload) responses.push(await handleOne(provider, item as JsonRpcRequest));
      send(res, 200, responses);
      return;
    }
    send(res, 200, await handleOne(provider, payload as JsonRpcRequest));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new StartupError(
              `CHAIN_PORT ${options.port} on ${options.host} is already in use (another chain or Trustgate instance?). ` +
                'Stop it, or set CHAIN_PORT to a free port.',
            )
          : err,
      );
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  options.log.info({ url }, 'embedded chain JSON-RPC listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

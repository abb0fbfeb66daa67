/**
 * Shared Signals streams: the receivers (apps) a tenant pushes Security Event Tokens to, each with its
 * push endpoint (RFC 8935), the event types it wants, and optionally the `Authorization` header the
 * receiver expects, sealed under the master key (never stored or shown in the clear).
 *
 * Rules: the endpoint is https (http and private addresses only where OIDC_ALLOW_PRIVATE_CALLBACKS
 * allows back-channel logout to them: development and tests); a stream's client must be one of the
 * tenant's clients; every read and write is scoped to the tenant.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { KeyRing } from '../crypto/envelope.ts';
import { InvalidRequestError, NotFoundError } from '../errors.ts';
import type { SsfStream } from '../store/generated/postgres/client.ts';
import type { Store } from '../store/index.ts';
import { SSF_EVENT_TYPES } from './events.ts';

/** What an admin sends to create a stream. */
export const streamInput = z.strictObject({
  /** The OIDC client the receiver is (SETs name the person by that client's `sub`). */
  clientId: z.string().min(1).max(200).optional(),
  endpointUrl: z.url({ protocol: /^https?$/ }).max(2000),
  events: z
    .array(z.enum(SSF_EVENT_TYPES))
    .min(1)
    .max(SSF_EVENT_TYPES.length)
    .default([...SSF_EVENT_TYPES]),
  /** The receiver's `Authorization` header value, e.g. `Bearer …` (write-only). */
  authorizationHeader: z
    .string()
    .min(1)
    .max(4096)
    .regex(/^[\x20-\x7e]+$/, 'printable ASCII')
    .optional(),
});
export type StreamInput = z.input<typeof streamInput>;

export interface StreamView {
  id: string;
  clientId: string | null;
  endpointUrl: string;
  events: string[];
  hasAuthorization: boolean;
  status: string;
  createdAt: string;
}

/** The envelope context of a stream's sealed authorization header (bound to its tenant and row). */
export const ssfStreamContext = (tenantId: string, id: string) => `ssf-stream:${tenantId}:${id}`;

export function streamView(s: SsfStream): StreamView {
  return {
    id: s.id,
    clientId: s.clientId,
    endpointUrl: s.endpointUrl,
    events: JSON.parse(s.events) as string[],
    hasAuthorization: s.authEnvelope !== null,
    status: s.status,
    createdAt: s.createdAt.toISOString(),
  };
}

export class SsfStreams {
  constructor(
    private readonly deps: {
      store: Store;
      keys: KeyRing;
      /** OIDC_ALLOW_PRIVATE_CALLBACKS: http and private endpoints allowed. */
      allowPrivate: boolean;
    },
  ) {}

  async create(tenantId: string, raw: StreamInput): Promise<StreamView> {
    const input = streamInput.parse(raw);
    const url = new URL(input.endpointUrl);
    if (url.protocol !== 'https:' && !this.deps.allowPrivate) {
      throw new InvalidRequestError('The push endpoint must use https.');
    }
    if (url.username || url.password) {
      throw new InvalidRequestError('The push endpoint must not carry credentials; use authorizationHeader.');
    }
    const db = this.deps.store.db;
    if (input.clientId) {
      const client = await db.oidcPayload.findUnique({
        where: { tenantId_model_id: { tenantId, model: 'Client', id: input.clientId } },
        select: { id: true },
      });
      if (!client) throw new InvalidRequestError('No such client in this tenant.');
    }
    const id = randomUUID();
    const stream = await db.ssfStream.create({
      data: {
        id,
        tenantId,
        clientId: input.clientId ?? null,
        endpointUrl: url.href,
        events: JSON.stringify([...new Set(input.events)]),
        ...(input.authorizationHeader
          ? {
              masterKeyId: this.deps.keys.current.id,
              authEnvelope: new Uint8Array(
                this.deps.keys.seal(
                  Buffer.from(input.authorizationHeader, 'utf8'),
                  ssfStreamContext(tenantId, id),
                ),
              ),
            }
          : {}),
      },
    });
    return streamView(stream);
  }

  async list(tenantId: string): Promise<StreamView[]> {
    const rows = await this.deps.store.db.ssfStream.findMany({
      where: { tenantId },
      orderBy: { createdAt: 'asc' },
      take: 500,
    });
    return rows.map(streamView);
  }

  /** Deletes a stream of the tenant and drops its undelivered SETs; 404 when there is none. */
  async delete(tenantId: string, id: string): Promise<void> {
    await this.deps.store.tx(async (tx) => {
      const r = await tx.ssfStream.deleteMany({ where: { id, tenantId } });
      if (r.count === 0) throw new NotFoundError('No such stream.');
      await tx.ssfDelivery.deleteMany({ where: { tenantId, streamId: id, status: 'pending' } });
    });
  }

  /** The tenant's enabled streams that want `type`. */
  async subscribed(tenantId: string): Promise<SsfStream[]> {
    return this.deps.store.db.ssfStream.findMany({ where: { tenantId, status: 'enabled' }, take: 500 });
  }

  /** The stream's receiver `Authorization` header, opened from its envelope. */
  authorizationOf(stream: SsfStream): string | undefined {
    if (!stream.authEnvelope) return undefined;
    return this.deps.keys
      .open(stream.authEnvelope, ssfStreamContext(stream.tenantId, stream.id))
      .toString('utf8');
  }
}

/** Whether `stream` asked for event type `type`. */
export function wants(stream: SsfStream, type: string): boolean {
  try {
    return (JSON.parse(stream.events) as unknown[]).includes(type);
  } catch {
    return false;
  }
}

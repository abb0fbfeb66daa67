/**
 * OpenID Connect clients of a tenant, created by admins (API and CLI). They are stored where the
 * provider stores dynamically registered ones (the adapter's `Client` model), validated by the provider
 * first, so both kinds behave the same. Only admin-created clients can be first-party (skip consent).
 */
import { randomBytes } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import { z } from 'zod';
import { ConflictError, TrustgateError } from '../errors.ts';
import { isUniqueViolation, type Store } from '../store/index.ts';
import { FIRST_PARTY, validateClientMetadata } from './provider.ts';

export class InvalidClientMetadataError extends TrustgateError {
  constructor(detail: string) {
    super('invalid_client_metadata', 400, 'Invalid client metadata', detail);
  }
}

const uri = z.url({ protocol: /^https?$/ }).max(2000);

/** What an admin gives to create a client. */
export const clientInput = z
  .strictObject({
    client_name: z.string().trim().min(1).max(200),
    /** Required unless the client only uses client credentials (a service, e.g. one issuing credentials). */
    redirect_uris: z.array(uri).min(1).max(20).optional(),
    post_logout_redirect_uris: z.array(uri).max(20).optional(),
    /** `confidential` gets a secret (client_secret_basic); `public` uses PKCE only (no secret). */
    type: z.enum(['confidential', 'public']).default('confidential'),
    first_party: z.boolean().default(false),
    subject_type: z.enum(['public', 'pairwise']).default('public'),
    scope: z
      .string()
      .regex(/^[a-z:_]+( [a-z:_]+)*$/, 'space-separated scopes')
      .max(500)
      .optional(),
    grant_types: z
      .array(z.enum(['authorization_code', 'refresh_token', 'client_credentials']))
      .min(1)
      .optional(),
    backchannel_logout_uri: uri.optional(),
    dpop_bound_access_tokens: z.boolean().optional(),
    id_token_signed_response_alg: z.enum(['ES256', 'EdDSA', 'RS256']).optional(),
    client_uri: uri.optional(),
  })
  .refine(
    (c) =>
      c.redirect_uris !== undefined ||
      ((c.grant_types ?? []).every((g) => g === 'client_credentials') && c.grant_types !== undefined),
    { path: ['redirect_uris'], message: 'redirect_uris are required for the authorization code flow' },
  );
export type ClientInput = z.input<typeof clientInput>;

/** A client as admins see it (never its secret). */
export interface ClientView {
  client_id: string;
  client_name?: string;
  redirect_uris: string[];
  first_party: boolean;
  public: boolean;
  [key: string]: unknown;
}

export async function createClient(
  provider: Provider,
  store: Store,
  tenantId: string,
  input: ClientInput,
): Promise<{ client: ClientView; clientSecret?: string }> {
  const parsed = clientInput.parse(input);
  const clientId = `tg_${randomBytes(12).toString('base64url')}`;
  const secret = parsed.type === 'confidential' ? randomBytes(32).toString('base64url') : undefined;
  const grantTypes = parsed.grant_types ?? ['authorization_code', 'refresh_token'];
  const metadata: ClientMetadata = {
    client_id: clientId,
    client_name: parsed.client_name,
    redirect_uris: parsed.redirect_uris ?? [],
    grant_types: grantTypes,
    response_types: grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: secret ? 'client_secret_basic' : 'none',
    subject_type: parsed.subject_type,
    [FIRST_PARTY]: parsed.first_party,
    ...(secret ? { client_secret: secret } : {}),
    ...(parsed.post_logout_redirect_uris
      ? { post_logout_redirect_uris: parsed.post_logout_redirect_uris }
      : {}),
    ...(parsed.scope ? { scope: parsed.scope } : {}),
    ...(parsed.backchannel_logout_uri
      ? { backchannel_logout_uri: parsed.backchannel_logout_uri, backchannel_logout_session_required: true }
      : {}),
    ...(parsed.dpop_bound_access_tokens !== undefined
      ? { dpop_bound_access_tokens: parsed.dpop_bound_access_tokens }
      : {}),
    ...(parsed.id_token_signed_response_alg
      ? { id_token_signed_response_alg: parsed.id_token_signed_response_alg }
      : {}),
    ...(parsed.client_uri ? { client_uri: parsed.client_uri } : {}),
  };
  try {
    await validateClientMetadata(provider, metadata);
  } catch (err) {
    const e = err as { error_description?: string; message?: string };
    throw new InvalidClientMetadataError(e.error_description ?? e.message ?? 'invalid client metadata');
  }
  try {
    await store.db.oidcPayload.create({
      data: {
        tenantId,
        model: 'Client',
        id: clientId,
        payload: JSON.stringify(metadata),
        createdAt: BigInt(Date.now()),
      },
    });
  } catch (err) {
    // Only a taken id is a conflict; anything else is the server's problem, not the caller's.
    if (!isUniqueViolation(err)) throw err;
    throw new ConflictError('client_exists', 'A client with this id already exists.');
  }
  return { client: view(metadata), ...(secret ? { clientSecret: secret } : {}) };
}

export async function listClients(store: Store, tenantId: string): Promise<ClientView[]> {
  const rows = await store.db.oidcPayload.findMany({
    where: { tenantId, model: 'Client' },
    orderBy: { createdAt: 'asc' },
    take: 1000,
  });
  return rows.map((r) => view(JSON.parse(r.payload) as ClientMetadata));
}

/** Deletes a client and every grant, code and token issued to it. False when there was none. */
export async function deleteClient(store: Store, tenantId: string, clientId: string): Promise<boolean> {
  return store.tx(async (tx) => {
    const r = await tx.oidcPayload.deleteMany({ where: { tenantId, model: 'Client', id: clientId } });
    if (r.count === 0) return false;
    const links = await tx.oidcLink.findMany({ where: { tenantId, clientId }, select: { grantId: true } });
    const grantIds = new Set(links.map((l) => l.grantId));
    // What was issued without a link (client-credentials tokens, registration access tokens, grants
    // made without a Trustgate session) names the client in its payload. `contains` is a LIKE (its `_`
    // a wildcard, case-insensitive on SQLite): the exact id is checked on the parsed payload.
    const named = await tx.oidcPayload.findMany({
      where: {
        tenantId,
        model: { not: 'Client' },
        payload: { contains: `"clientId":${JSON.stringify(clientId)}` },
      },
      select: { model: true, id: true, payload: true, grantId: true },
    });
    const issued = named.filter(
      (row) => (JSON.parse(row.payload) as { clientId?: unknown }).clientId === clientId,
    );
    for (const row of issued) if (row.grantId) grantIds.add(row.grantId);
    if (grantIds.size > 0)
      await tx.oidcPayload.deleteMany({ where: { tenantId, grantId: { in: [...grantIds] } } });
    for (const model of new Set(issued.map((row) => row.model))) {
      const ids = issued.filter((row) => row.model === model).map((row) => row.id);
      await tx.oidcPayload.deleteMany({ where: { tenantId, model, id: { in: ids } } });
    }
    await tx.oidcLink.deleteMany({ where: { tenantId, clientId } });
    return true;
  });
}

function view(metadata: ClientMetadata): ClientView {
  const {
    client_secret: _secret,
    registration_access_token: _rat,
    ...rest
  } = metadata as ClientMetadata & {
    registration_access_token?: string;
  };
  return {
    ...rest,
    client_id: metadata.client_id,
    redirect_uris: [...(metadata.redirect_uris ?? [])],
    first_party: metadata[FIRST_PARTY] === true,
    public: metadata.token_endpoint_auth_method === 'none',
  };
}

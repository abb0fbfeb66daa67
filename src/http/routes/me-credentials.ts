/**
 * A signed-in person's credentials, per tenant under `/t/{tenant}/api/me/credentials`: list them (with
 * their revocation and suspension status), read one (the JWT and the decoded credential, or as a file to
 * download), and show one as a QR code a wallet can scan. Someone else's credential answers 404, like an
 * unknown one.
 */
import { decodeJwt } from 'jose';
import QRCode from 'qrcode';
import { z } from 'zod';
import { CredentialIssuance } from '../../credentials/issuance.ts';
import { NotFoundError, TrustgateError } from '../../errors.ts';
import type { IssuedCredential } from '../../store/generated/postgres/client.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface MeCredentialRouteDeps {
  edge: SessionEdge;
  issuance: CredentialIssuance;
}

/**
 * Largest JWT put into a QR code: what the largest symbol (version 40) holds in byte mode at error
 * correction level L. A JWT is ASCII, one byte per character.
 */
export const MAX_QR_JWT_LENGTH = 2953;

/** 422 `credential_too_large_for_qr`: the credential does not fit a scannable QR code. */
export class CredentialTooLargeForQrError extends TrustgateError {
  constructor(length: number) {
    super(
      'credential_too_large_for_qr',
      422,
      'Credential too large for a QR code',
      `This credential is ${length} characters long; a scannable QR code holds at most ${MAX_QR_JWT_LENGTH}. Download it instead.`,
    );
  }
}

const statusSchema = z.object({ revoked: z.boolean(), suspended: z.boolean() });
const summarySchema = z
  .object({
    id: z.string(),
    type: z.string(),
    format: z.enum(['jwt_vc', 'vc+jwt']),
    issuedAt: z.string(),
    expiresAt: z.string().nullable(),
    audience: z.string().nullable(),
    issuer: z.string().nullable().meta({ description: 'The issuer’s DID (the JWT’s `iss`).' }),
    status: statusSchema,
  })
  .meta({ id: 'HeldCredential' });
const detailSchema = summarySchema
  .extend({ jwt: z.string(), credential: z.record(z.string(), z.unknown()) })
  .meta({ id: 'HeldCredentialDetail' });

type Held = IssuedCredential & { status: { revoked: boolean; suspended: boolean } };

function summary(record: Held) {
  return {
    id: record.id,
    type: record.type,
    format: record.format,
    issuedAt: record.issuedAt.toISOString(),
    expiresAt: record.expiresAt?.toISOString() ?? null,
    audience: record.audience,
    issuer: issuerOf(record.jwt),
    status: record.status,
  };
}

/** The `iss` of a stored credential's JWT (ours are always well formed; null otherwise). */
function issuerOf(jwt: string): string | null {
  try {
    const iss = decodeJwt(jwt).iss;
    return typeof iss === 'string' ? iss : null;
  } catch {
    return null;
  }
}

/** A file name for a download: the type and the id's last segment, in safe characters. */
function fileName(record: Held): string {
  const tail = record.id.split(/[:/]/).at(-1) ?? 'credential';
  return `${record.type}-${tail}.json`.replace(/[^A-Za-z0-9._-]/g, '_');
}

// Credential ids are URIs (`urn:uuid:…` for ours); Express decodes the path segment.
const idParams = tenantParams.extend({ id: z.string().min(1).max(512) });

export function meCredentialRoutes(deps: MeCredentialRouteDeps): Route[] {
  const { edge, issuance } = deps;
  /** The signed-in person's credential `id`, or 404. */
  const mine = async (
    req: Parameters<SessionEdge['require']>[0],
    res: Parameters<SessionEdge['require']>[1],
    tenant: string,
    id: string,
  ) => {
    const { attempt, account } = await edge.require(req, res, tenant);
    const record = await issuance.holderCredential(attempt.tenant.id, account.id, id);
    if (!record) throw new NotFoundError('No such credential of yours.');
    return record;
  };
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/credentials',
      operationId: 'listMyCredentials',
      summary: 'My credentials (newest first), each with its revocation and suspension status.',
      tags: ['credentials'],
      params: tenantParams,
      responses: {
        200: { description: 'Credentials.', schema: z.object({ credentials: z.array(summarySchema) }) },
        401: { description: 'No session.' },
      },
      handler: async ({ req, res, params }) => {
        const { attempt, account } = await edge.require(req, res, params.tenant);
        const records = await issuance.holderCredentials(attempt.tenant.id, account.id);
        return { credentials: records.map(summary) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/credentials/:id',
      operationId: 'getMyCredential',
      summary: 'One of my credentials: the signed JWT and the decoded credential; `?download=1` as a file.',
      tags: ['credentials'],
      params: idParams,
      query: z.object({
        download: z
          .enum(['0', '1', 'true', 'false'])
          .optional()
          .meta({ description: '`1`: answer as an attachment (Content-Disposition) to save.' }),
      }),
      responses: {
        200: { description: 'The credential.', schema: detailSchema },
        404: { description: 'Unknown, or not mine.' },
      },
      handler: async ({ req, res, params, query }) => {
        const record = await mine(req, res, params.tenant, params.id);
        if (query.download === '1' || query.download === 'true') {
          res.setHeader('Content-Disposition', `attachment; filename="${fileName(record)}"`);
        }
        return { ...summary(record), jwt: record.jwt, credential: CredentialIssuance.decode(record) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/credentials/:id/qr',
      operationId: 'getMyCredentialQr',
      summary: 'One of my credentials as a QR code (SVG) of its JWT, for a wallet to scan.',
      tags: ['credentials'],
      params: idParams,
      responses: {
        200: { description: 'The QR code.', contentType: 'image/svg+xml' },
        404: { description: 'Unknown, or not mine.' },
        422: { description: '`credential_too_large_for_qr`: download it instead.' },
      },
      handler: async ({ req, res, params }) => {
        const record = await mine(req, res, params.tenant, params.id);
        if (record.jwt.length > MAX_QR_JWT_LENGTH) throw new CredentialTooLargeForQrError(record.jwt.length);
        let svg: string;
        try {
          svg = await QRCode.toString(record.jwt, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 });
        } catch {
          // The encoder's own limit (it depends on the characters): the same answer.
          throw new CredentialTooLargeForQrError(record.jwt.length);
        }
        res.status(200).type('image/svg+xml').send(svg);
        return undefined;
      },
    }),
  ];
}

/**
 * Bitstring Status Lists for verifiers: `GET /status/{listId}` answers the signed
 * `BitstringStatusListCredential` as `application/vc+jwt`, cacheable until the publisher's next signing
 * window (at most 5 min, so a revocation reaches caches within that time), with a strong ETag for
 * conditional requests.
 */
import { z } from 'zod';
import type { StatusListPublisher } from '../../credentials/status-publication.ts';
import { defineRoute, type Route } from '../routes.ts';

/** Media type of a VC-JOSE-COSE credential. */
export const VC_JWT_MEDIA_TYPE = 'application/vc+jwt';

/** Longest `max-age` a status list is served with, in seconds. */
export const STATUS_MAX_AGE_SECONDS = 300;

export interface StatusRouteDeps {
  /** Read at request time, so a getter can bind it late. */
  publisher: Pick<StatusListPublisher, 'credential'>;
}

/** True when an `If-None-Match` header matches `etag` (weak comparison, RFC 9110 §13.1.2). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}

/** `GET /status/{listId}`. */
export function statusRoutes(deps: StatusRouteDeps): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/status/:listId',
      operationId: 'getStatusList',
      summary: 'A Bitstring Status List, as a signed BitstringStatusListCredential (vc+jwt).',
      description:
        'W3C Bitstring Status List v1.0. The body is a VC 2.0 BitstringStatusListCredential secured as ' +
        "application/vc+jwt (ES256K), issued by the list's tenant issuer DID. Bit `statusListIndex` of " +
        'the GZIP-compressed, base64url `encodedList` (index 0 = most significant bit of the first byte) ' +
        'is set when the credential is revoked or suspended. Supports If-None-Match (304).',
      tags: ['credentials'],
      params: z.object({
        listId: z.string().min(1).max(200).meta({ description: 'The status list id.' }),
      }),
      responses: {
        200: { description: 'The signed status list credential.', contentType: VC_JWT_MEDIA_TYPE },
        304: { description: 'Not modified (If-None-Match matched the ETag).' },
        404: { description: 'status_list_not_found: no such list.' },
      },
      handler: async ({ req, res, params }) => {
        const published = await deps.publisher.credential(params.listId);
        const untilRefresh = Math.ceil((published.refreshAt.getTime() - Date.now()) / 1000);
        const maxAge = Math.min(STATUS_MAX_AGE_SECONDS, Math.max(0, untilRefresh));
        res.setHeader('ETag', published.etag);
        res.setHeader('Cache-Control', `public, max-age=${maxAge}`);
        // No Last-Modified: the list can change within one signing window, so dates cannot validate.
        if (matches(req.headers['if-none-match'], published.etag)) {
          res.status(304).end();
          return undefined;
        }
        // A Buffer, so that Express adds no charset to the media type.
        res.status(200).type(VC_JWT_MEDIA_TYPE).send(Buffer.from(published.jws, 'utf8'));
        return undefined;
      },
    }),
  ];
}

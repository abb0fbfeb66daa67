/**
 * DID resolution over HTTP, as a DIF Universal Resolver driver: `GET /1.0/identifiers/{did}`.
 *
 * The DID may be sent as is (`did:web:example.com%3A8443`, the DID's own percent-encoding kept) or fully
 * URL-encoded (`did%3Aweb%3Aexample.com%253A8443`); the raw path segment tells them apart, because
 * Express's decoded parameter would turn the DID's own `%3A` into a colon and name another DID.
 */
import { z } from 'zod';
import { TrustgateError } from '../../errors.ts';
import { InvalidDidError } from '../../identity/resolver/errors.ts';
import type { DidAccept, DidResolverService } from '../../identity/resolver/index.ts';
import { defineRoute, type Route } from '../routes.ts';

/** Media type of a full DID resolution result. */
export const DID_RESOLUTION_TYPE = 'application/ld+json;profile="https://w3id.org/did-resolution"';

export interface IdentifierDeps {
  resolver: Pick<DidResolverService, 'resolve'>;
}

const resultSchema = z
  .object({
    didDocument: z.record(z.string(), z.unknown()).nullable(),
    didResolutionMetadata: z.record(z.string(), z.unknown()),
    didDocumentMetadata: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'DidResolutionResult', description: 'W3C DID resolution result.' });

const PREFIX = '/1.0/identifiers/';

/** The DID from the raw request path (see the module comment). */
function didOfPath(path: string): string {
  const raw = path.slice(path.indexOf(PREFIX) + PREFIX.length).replace(/\/$/, '');
  if (raw.startsWith('did:')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidDidError();
  }
}

type Representation = { kind: 'result'; type: string } | { kind: 'document'; type: DidAccept };

const OFFERED = [
  'application/did-resolution',
  'application/ld+json',
  'application/json',
  'application/did+ld+json',
  'application/did+json',
];

/** Content negotiation: the full result unless the client asks for a bare document. */
function representation(accepts: (types: string[]) => string | false): Representation {
  const chosen = accepts(OFFERED);
  switch (chosen) {
    case 'application/did+ld+json':
    case 'application/did+json':
      return { kind: 'document', type: chosen };
    case 'application/json':
      return { kind: 'result', type: 'application/json' };
    case false:
      throw new TrustgateError(
        'not_acceptable',
        406,
        'Not acceptable',
        `Ask for one of: ${DID_RESOLUTION_TYPE}, application/did+ld+json, application/did+json.`,
      );
    default:
      return { kind: 'result', type: DID_RESOLUTION_TYPE };
  }
}

/** `GET /1.0/identifiers/{did}`. */
export function identifierRoutes(deps: IdentifierDeps): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/1.0/identifiers/:did',
      operationId: 'resolveDid',
      summary: 'Resolve a DID (did:ethr, did:key, did:web) to its DID document.',
      description:
        'DIF Universal Resolver driver binding. Answers the DID resolution result ' +
        `(${DID_RESOLUTION_TYPE}); with Accept: application/did+ld+json or application/did+json the bare ` +
        'DID document. A deactivated DID answers 410 with its result. did:web documents are fetched over ' +
        'https from public addresses only (ssrf_refused otherwise).',
      tags: ['identity'],
      params: z.object({
        did: z
          .string()
          .max(2048)
          .meta({ description: 'The DID, e.g. did:ethr:0x7a69:0x… (URL-encoding optional).' }),
      }),
      query: z.object({
        versionId: z
          .string()
          .regex(/^\d+$/)
          .optional()
          .meta({ description: 'did:ethr only: the document as of this block number.' }),
      }),
      responses: {
        200: {
          description: 'DID resolution result.',
          schema: resultSchema,
          contentType: DID_RESOLUTION_TYPE,
        },
        400: { description: 'invalid_did, method_not_supported, unknown_network or ssrf_refused.' },
        404: { description: 'not_found: the DID does not exist.' },
        406: { description: 'not_acceptable: no representation the client accepts.' },
        410: {
          description: 'The DID is deactivated (the body is its resolution result).',
          schema: resultSchema,
        },
        502: { description: 'fetch_failed, response_too_large or invalid_did_document (did:web).' },
        503: { description: 'The chain did not answer (did:ethr).' },
        504: { description: 'fetch_timeout (did:web).' },
      },
      handler: async ({ req, res, query }) => {
        const wanted = representation((types) => req.accepts(types));
        const did = didOfPath(req.path);
        const result = await deps.resolver.resolve(did, {
          ...(wanted.kind === 'document' ? { accept: wanted.type } : {}),
          ...(query.versionId ? { versionId: Number(query.versionId) } : {}),
        });
        const status = result.didDocumentMetadata.deactivated === true ? 410 : 200;
        const body = wanted.kind === 'document' ? result.didDocument : result;
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('Vary', 'Accept');
        res.status(status).type(wanted.type).send(JSON.stringify(body));
        return undefined;
      },
    }),
  ];
}

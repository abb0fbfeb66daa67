/**
 * W3C VC API verification, open to anyone (verifying needs no account): `POST /credentials/verify`,
 * `POST /presentations/verify`, and `POST /presentations/challenges` for the one-time challenge a
 * presentation must carry. Answers are VC API verification results (`{verified, checks, warnings,
 * errors}`), 200 whether or not the credential verifies; malformed requests are 400 problems.
 */
import { z } from 'zod';
import type { PresentationVerifier } from '../../credentials/presentations.ts';
import type { StatusChecker } from '../../credentials/status-check.ts';
import type { IssuerResolver } from '../../credentials/vc-jose.ts';
import { verifyCredential } from '../../credentials/verify.ts';
import { defineRoute, type Route } from '../routes.ts';

export interface VcApiDeps {
  resolver: IssuerResolver;
  statusChecker: StatusChecker;
  presentations: PresentationVerifier;
}

const problem = z.object({ code: z.string(), message: z.string() });
const resultSchema = z
  .object({
    verified: z.boolean(),
    checks: z.array(z.string()),
    warnings: z.array(problem),
    errors: z.array(problem),
  })
  .meta({ id: 'VerificationResult' });

const domain = z.string().min(1).max(500);

export function vcApiRoutes(deps: VcApiDeps): Route[] {
  return [
    defineRoute({
      method: 'post',
      path: '/credentials/verify',
      operationId: 'verifyCredential',
      summary: 'Verify a credential: signature, issuer DID, validity period and status list.',
      description:
        'Accepts a JWT credential (VC 1.1 `jwt_vc` or VC 2.0 `vc+jwt`), an EnvelopedVerifiableCredential, or a ' +
        'credential with a JwtProof2020 proof.',
      tags: ['credentials'],
      body: z.object({
        verifiableCredential: z.union([z.string().min(10).max(65_536), z.record(z.string(), z.unknown())]),
        options: z.object({}).catchall(z.unknown()).optional(),
      }),
      responses: { 200: { description: 'The verification result.', schema: resultSchema } },
      handler: async ({ body }) => {
        const result = await verifyCredential(body.verifiableCredential, {
          resolver: deps.resolver,
          checkStatus: async (credential) => {
            await deps.statusChecker.check(credential);
          },
        });
        const { verified, checks, warnings, errors } = result;
        return { verified, checks, warnings, errors };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/presentations/challenges',
      operationId: 'createPresentationChallenge',
      summary: 'A one-time challenge (for a domain) that a presentation must carry; five minutes.',
      tags: ['credentials'],
      body: z.strictObject({ domain }),
      status: 201,
      responses: { 201: { description: 'The challenge.' } },
      handler: ({ body }) => deps.presentations.challenge(body.domain),
    }),
    defineRoute({
      method: 'post',
      path: '/presentations/verify',
      operationId: 'verifyPresentation',
      summary:
        'Verify a JWT presentation: holder signature, challenge and domain (once), holder binding, credentials.',
      tags: ['credentials'],
      body: z.object({
        verifiablePresentation: z.string().min(10).max(262_144),
        options: z.object({ challenge: z.string().min(8).max(100), domain }),
      }),
      responses: { 200: { description: 'The verification result.', schema: resultSchema } },
      handler: ({ body }) => deps.presentations.verify(body.verifiablePresentation, body.options),
    }),
  ];
}

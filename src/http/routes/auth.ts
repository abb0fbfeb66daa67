/**
 * The sign-in API behind the hosted pages, per tenant under `/t/{tenant}/auth`: sign up with a
 * passkey, sign in with a passkey or a DID, step up, recover, sign out, read the current session.
 * The session lives in an HttpOnly cookie; every state change must come from this site.
 */
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import type { AuthDeps, SignedIn } from '../../flows/auth-context.ts';
import type { SignInOptions } from '../../flows/flow-credentials.ts';
import { recover } from '../../flows/recover.ts';
import {
  didSignInChallenge,
  passkeySignInOptions,
  signInWithDid,
  signInWithPasskey,
} from '../../flows/sign-in.ts';
import { signUp, signUpOptions } from '../../flows/sign-up.ts';
import { stepUp, stepUpPasskeyOptions } from '../../flows/step-up.ts';
import { findTenant, issuerOf } from '../../tenants.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import { accountSummary, type SessionEdge, sessionView } from '../session-auth.ts';

const b64url = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]*$/, 'base64url');
const extensions = z.record(z.string(), z.unknown()).default({});
/** A WebAuthn registration response (RegistrationResponseJSON). */
export const registrationResponse = z.looseObject({
  id: b64url.min(1),
  rawId: b64url.min(1),
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64url.min(1),
    attestationObject: b64url.min(1),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  clientExtensionResults: extensions,
  authenticatorAttachment: z.string().max(32).optional(),
});
/** A WebAuthn authentication response (AuthenticationResponseJSON). */
export const authenticationResponse = z.looseObject({
  id: b64url.min(1),
  rawId: b64url.min(1),
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: b64url.min(1),
    authenticatorData: b64url.min(1),
    signature: b64url.min(1),
    userHandle: b64url.optional(),
  }),
  clientExtensionResults: extensions,
  authenticatorAttachment: z.string().max(32).optional(),
});
/** What the sign-in page collected for the risk engine: the device fingerprint and typing rhythm. */
const riskPayload = z
  .strictObject({ device: z.unknown().optional(), typing: z.unknown().optional() })
  .optional()
  .meta({ description: 'Device fingerprint and typing rhythm from the sign-in page (optional).' });
/** Ask for an IdentityAssuranceCredential of the session in the answer. */
const credentialWish = {
  credential: z
    .boolean()
    .optional()
    .meta({ description: 'Answer with an IdentityAssuranceCredential of the session (format jwt_vc).' }),
  credentialFormat: z
    .enum(['jwt_vc', 'vc+jwt'])
    .optional()
    .meta({ description: 'Answer with an IdentityAssuranceCredential in this format (implies credential).' }),
};

/** The flows' options for a body's `credential` / `credentialFormat`. */
function credentialOptions(body: {
  credential?: boolean;
  credentialFormat?: 'jwt_vc' | 'vc+jwt';
}): SignInOptions {
  if (body.credentialFormat) return { credential: { format: body.credentialFormat } };
  return body.credential ? { credential: { format: 'jwt_vc' } } : {};
}

const nonce = z.string().min(8).max(64);
const didAnswer = z.union([
  z.strictObject({ nonce, jwt: z.string().min(10).max(16_384), risk: riskPayload, ...credentialWish }),
  z.strictObject({
    nonce,
    did: z.string().min(8).max(2048),
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
    risk: riskPayload,
    ...credentialWish,
  }),
]);
const empty = z.strictObject({});

const sessionSchema = z
  .object({
    id: z.string(),
    aal: z.number().int(),
    acr: z.string(),
    amr: z.array(z.string()),
    factors: z.array(z.string()),
    phr: z.boolean(),
    phrh: z.boolean(),
    authTime: z.string(),
    idleExpiresAt: z.string(),
    absoluteExpiresAt: z.string(),
    mustEnrolPasskey: z.boolean(),
    pending: z
      .object({ aal: z.number().optional(), acr: z.string().optional(), maxAgeS: z.number().optional() })
      .nullable(),
  })
  .meta({ id: 'Session' });
const accountSummarySchema = z
  .object({
    id: z.string(),
    did: z.string(),
    username: z.string().nullable(),
    displayName: z.string().nullable(),
  })
  .meta({ id: 'AccountSummary' });
const signedInSchema = z.object({
  account: accountSummarySchema,
  session: sessionSchema,
  next: z.string().optional(),
  credential: z
    .object({ id: z.string(), format: z.enum(['jwt_vc', 'vc+jwt']), jwt: z.string() })
    .optional()
    .meta({ description: 'The IdentityAssuranceCredential asked for (`credential` or `credentialFormat`).' }),
  credentialError: z
    .string()
    .optional()
    .meta({ description: 'Why the asked-for credential is missing; the sign-in itself succeeded.' }),
});
const optionsSchema = z.object({ options: z.record(z.string(), z.unknown()) });

export interface AuthRouteDeps {
  auth: AuthDeps;
  edge: SessionEdge;
  publicUrl: string;
}

const refused = {
  401: { description: 'Refused (problem code says why).' },
  429: { description: 'Rate limited.' },
};

export function authRoutes(deps: AuthRouteDeps): Route[] {
  const { auth, edge } = deps;
  /** Sets the cookie and answers with the account and session. */
  const signedIn = (res: Parameters<SessionEdge['setSession']>[0], result: SignedIn, next?: string) => {
    edge.setSession(res, result.token, result.session);
    const step = result.session.pending ? 'step_up' : next;
    return {
      account: accountSummary(result.account),
      session: sessionView(result.session),
      ...(step ? { next: step } : {}),
      ...(result.credential ? { credential: result.credential } : {}),
      ...(result.credentialError ? { credentialError: result.credentialError } : {}),
    };
  };

  return [
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/sign-up/options',
      operationId: 'signUpOptions',
      summary: 'Start sign-up: pick a username, receive passkey creation options.',
      tags: ['sign-in'],
      params: tenantParams,
      body: z.strictObject({
        username: z.string().min(1).max(64),
        displayName: z.string().max(64).optional(),
      }),
      responses: {
        200: { description: 'Creation options.', schema: optionsSchema },
        409: { description: 'Username taken.' },
      },
      handler: async ({ req, res, params, body }) => {
        const attempt = await edge.attempt(req, res, params.tenant);
        return { options: await signUpOptions(auth, attempt, body) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/sign-up/verify',
      operationId: 'signUp',
      summary: 'Finish sign-up: the new passkey creates the account (with its DID) and a session.',
      tags: ['sign-in'],
      params: tenantParams,
      body: z.strictObject({
        response: registrationResponse,
        passkeyName: z.string().max(64).optional(),
        risk: riskPayload,
      }),
      status: 201,
      responses: { 201: { description: 'Signed up and signed in.', schema: signedInSchema }, ...refused },
      handler: async ({ req, res, params, body }) => {
        const attempt = await edge.attempt(req, res, params.tenant);
        const result = await signUp(auth, attempt, {
          response: body.response as unknown as RegistrationResponseJSON,
          ...(body.passkeyName ? { passkeyName: body.passkeyName } : {}),
        });
        return signedIn(res, result);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/passkey/options',
      operationId: 'passkeySignInOptions',
      summary: 'Passkey sign-in options (discoverable credentials and conditional UI; no username).',
      tags: ['sign-in'],
      params: tenantParams,
      body: empty,
      responses: { 200: { description: 'Request options.', schema: optionsSchema }, ...refused },
      handler: async ({ req, res, params }) => {
        const attempt = await edge.attempt(req, res, params.tenant);
        return { options: await passkeySignInOptions(auth, attempt) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/passkey/verify',
      operationId: 'signInWithPasskey',
      summary: 'Sign in with a passkey assertion.',
      tags: ['sign-in'],
      params: tenantParams,
      body: z.strictObject({ response: authenticationResponse, risk: riskPayload, ...credentialWish }),
      responses: { 200: { description: 'Signed in.', schema: signedInSchema }, ...refused },
      handler: async ({ req, res, params, body }) => {
        const attempt = await edge.attempt(req, res, params.tenant);
        const result = await signInWithPasskey(
          auth,
          attempt,
          body.response as unknown as AuthenticationResponseJSON,
          credentialOptions(body),
        );
        return signedIn(res, result);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/did/challenge',
      operationId: 'didSignInChallenge',
      summary: 'A one-time challenge to sign in with a DID (amr `pop`).',
      tags: ['sign-in'],
      params: tenantParams,
      body: empty,
      responses: { 200: { description: 'The challenge.' }, ...refused },
      handler: async ({ req, res, params }) => {
        const attempt = await edge.attempt(req, res, params.tenant);
        return didSignInChallenge(auth, attempt, issuerOf(deps.publicUrl, params.tenant));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/did/verify',
      operationId: 'signInWithDid',
      summary: 'Sign in by answering a DID challenge (a JWT, or an EIP-191 signature for did:ethr).',
      tags: ['sign-in'],
      params: tenantParams,
      body: didAnswer,
      responses: { 200: { description: 'Signed in.', schema: signedInSchema }, ...refused },
      handler: async ({ req, res, params, body }) => {
        const attempt = await edge.attempt(req, res, params.tenant);
        return signedIn(
          res,
          await signInWithDid(
            auth,
            attempt,
            body,
            issuerOf(deps.publicUrl, params.tenant),
            credentialOptions(body),
          ),
        );
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/recovery',
      operationId: 'recover',
      summary: 'Recover with a recovery code: ends every other session and asks for a new passkey.',
      description: 'Unknown usernames and wrong codes get the same answer.',
      tags: ['sign-in'],
      params: tenantParams,
      body: z.strictObject({
        username: z.string().min(1).max(128),
        code: z.string().min(1).max(64),
        risk: riskPayload,
      }),
      responses: { 200: { description: 'Recovered.', schema: signedInSchema }, ...refused },
      handler: async ({ req, res, params, body }) => {
        const attempt = await edge.attempt(req, res, params.tenant);
        return signedIn(res, await recover(auth, attempt, body), 'enrol_passkey');
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/step-up/passkey/options',
      operationId: 'stepUpPasskeyOptions',
      summary: 'Passkey options to step up the current session.',
      tags: ['sign-in'],
      params: tenantParams,
      body: empty,
      responses: { 200: { description: 'Request options.', schema: optionsSchema }, ...refused },
      handler: async ({ req, res, params }) => {
        const { attempt, session } = await edge.require(req, res, params.tenant, { allowPending: true });
        return { options: await stepUpPasskeyOptions(auth, attempt, session) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/step-up/passkey/verify',
      operationId: 'stepUpWithPasskey',
      summary: 'Step up with a passkey: the session id rotates and its level rises.',
      tags: ['sign-in'],
      params: tenantParams,
      body: z.strictObject({ response: authenticationResponse, risk: riskPayload, ...credentialWish }),
      responses: { 200: { description: 'Stepped up.', schema: signedInSchema }, ...refused },
      handler: async ({ req, res, params, body }) => {
        const { attempt, session, account } = await edge.require(req, res, params.tenant, {
          allowPending: true,
        });
        const passkey = body.response as unknown as AuthenticationResponseJSON;
        return signedIn(
          res,
          await stepUp(auth, attempt, session, account, { passkey }, credentialOptions(body)),
        );
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/step-up/totp',
      operationId: 'stepUpWithTotp',
      summary: 'Step up with a TOTP code: the session id rotates and its level rises.',
      tags: ['sign-in'],
      params: tenantParams,
      body: z.strictObject({ code: z.string().min(1).max(32), risk: riskPayload, ...credentialWish }),
      responses: { 200: { description: 'Stepped up.', schema: signedInSchema }, ...refused },
      handler: async ({ req, res, params, body }) => {
        const { attempt, session, account } = await edge.require(req, res, params.tenant, {
          allowPending: true,
        });
        return signedIn(
          res,
          await stepUp(auth, attempt, session, account, { totp: body.code }, credentialOptions(body)),
        );
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/auth/sign-out',
      operationId: 'signOut',
      summary: 'End the current session.',
      tags: ['sign-in'],
      params: tenantParams,
      body: empty,
      status: 204,
      responses: { 204: { description: 'Signed out (also when there was no session).' } },
      handler: async ({ req, res, params }) => {
        edge.assertSameSite(req);
        const tenant = await findTenant(auth.store, params.tenant);
        const session = await auth.sessions.find(edge.tokenOf(req), tenant);
        if (session) await auth.sessions.end(session.row.id, 'sign_out');
        edge.clearSession(res);
        res.status(204).end();
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/auth/session',
      operationId: 'currentSession',
      summary: 'The current session: level (`acr`, `aal`), `amr`, `auth_time` and expiry.',
      tags: ['sign-in'],
      params: tenantParams,
      responses: {
        200: { description: 'The session.', schema: signedInSchema },
        401: { description: 'No session.' },
      },
      handler: async ({ req, res, params }) => {
        const { session, account } = await edge.require(req, res, params.tenant, { allowPending: true });
        return { account: accountSummary(account), session: sessionView(session) };
      },
    }),
  ];
}

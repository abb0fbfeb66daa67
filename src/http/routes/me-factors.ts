/**
 * A signed-in person's factors and sessions, per tenant under `/t/{tenant}/api/me`: list factors; add,
 * rename and remove passkeys; enrol and remove TOTP; replace recovery codes; list and end sessions.
 * Removals and replacements need a recent AAL2 proof and otherwise answer RFC 9470's challenge.
 */
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import { recordEvent } from '../../audit/events.ts';
import { NotFoundError } from '../../errors.ts';
import type { AuthDeps } from '../../flows/auth-context.ts';
import {
  confirmTotp,
  enrolPasskey,
  enrolPasskeyOptions,
  regenerateRecoveryCodes,
  removePasskey,
  removeTotp,
  renamePasskey,
  startTotp,
} from '../../flows/enrol-factor.ts';
import type { Passkey } from '../../store/generated/postgres/client.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';
import { registrationResponse } from './auth.ts';

export interface MeFactorRouteDeps {
  auth: AuthDeps;
  edge: SessionEdge;
}

const passkeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    fmt: z.string(),
    aaguid: z.string(),
    modelName: z.string().nullable(),
    attestationTrusted: z.boolean(),
    hardwareBound: z.boolean(),
    backupEligible: z.boolean(),
    backedUp: z.boolean(),
    status: z.enum(['active', 'disabled']),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
  })
  .meta({ id: 'Passkey' });

function passkeyView(p: Passkey) {
  return {
    id: p.id,
    name: p.name,
    fmt: p.fmt,
    aaguid: p.aaguid,
    modelName: p.modelName,
    attestationTrusted: p.attestationTrusted,
    hardwareBound: p.hardwareBound,
    backupEligible: p.backupEligible,
    backedUp: p.backedUp,
    status: p.status,
    createdAt: p.createdAt.toISOString(),
    lastUsedAt: p.lastUsedAt?.toISOString() ?? null,
  };
}

const idParams = tenantParams.extend({ id: z.string().uuid() });
const empty = z.strictObject({});
const stepUp = { 401: { description: 'No session, or step-up required (RFC 9470 challenge).' } };

export function meFactorRoutes(deps: MeFactorRouteDeps): Route[] {
  const { auth, edge } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/factors',
      operationId: 'listMyFactors',
      summary: 'My passkeys, TOTP status and remaining recovery codes.',
      tags: ['factors'],
      params: tenantParams,
      responses: { 200: { description: 'Factors.' }, ...stepUp },
      handler: async ({ req, res, params }) => {
        const { account } = await edge.require(req, res, params.tenant);
        const [passkeys, totp, remaining] = await Promise.all([
          auth.store.db.passkey.findMany({ where: { accountId: account.id }, orderBy: { createdAt: 'asc' } }),
          auth.totp.status(account),
          auth.recoveryCodes.remaining(account),
        ]);
        return {
          passkeys: passkeys.map(passkeyView),
          totp: { enrolled: totp.enrolled, confirmed: totp.confirmed },
          recoveryCodes: { remaining },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/me/passkeys/options',
      operationId: 'addPasskeyOptions',
      summary: 'Creation options to add a passkey (AAL2, or the first passkey, or right after recovery).',
      tags: ['factors'],
      params: tenantParams,
      body: empty,
      responses: { 200: { description: 'Creation options.' }, ...stepUp },
      handler: async ({ req, res, params }) => {
        const { attempt, session, account } = await edge.require(req, res, params.tenant);
        return { options: await enrolPasskeyOptions(auth, attempt, session, account) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/me/passkeys',
      operationId: 'addPasskey',
      summary: 'Add a passkey; every other session ends.',
      tags: ['factors'],
      params: tenantParams,
      body: z.strictObject({ response: registrationResponse, name: z.string().max(64).optional() }),
      status: 201,
      responses: { 201: { description: 'The new passkey.', schema: passkeySchema }, ...stepUp },
      handler: async ({ req, res, params, body }) => {
        const { attempt, session, account } = await edge.require(req, res, params.tenant);
        const { passkey, signedIn } = await enrolPasskey(auth, attempt, session, account, {
          response: body.response as unknown as RegistrationResponseJSON,
          ...(body.name ? { name: body.name } : {}),
        });
        if (signedIn) edge.setSession(res, signedIn.token, signedIn.session);
        return passkeyView(passkey);
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/t/:tenant/api/me/passkeys/:id',
      operationId: 'renamePasskey',
      summary: 'Rename a passkey.',
      tags: ['factors'],
      params: idParams,
      body: z.strictObject({ name: z.string().trim().min(1).max(64) }),
      responses: {
        200: { description: 'The passkey.', schema: passkeySchema },
        404: { description: 'Not yours.' },
      },
      handler: async ({ req, res, params, body }) => {
        const { account } = await edge.require(req, res, params.tenant);
        return passkeyView(await renamePasskey(auth, account, params.id, body.name));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/t/:tenant/api/me/passkeys/:id',
      operationId: 'removePasskey',
      summary: 'Remove a passkey (recent AAL2 needed; not the last one); every other session ends.',
      tags: ['factors'],
      params: idParams,
      status: 204,
      responses: { 204: { description: 'Removed.' }, 409: { description: 'Last passkey.' }, ...stepUp },
      handler: async ({ req, res, params }) => {
        const { attempt, session, account } = await edge.require(req, res, params.tenant);
        await removePasskey(auth, attempt, session, account, params.id);
        res.status(204).end();
        return undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/me/totp',
      operationId: 'startTotp',
      summary: 'Start TOTP enrolment: the secret, its otpauth URI and a QR code (SVG), shown once.',
      tags: ['factors'],
      params: tenantParams,
      body: empty,
      responses: {
        200: { description: 'Secret, URI, QR code.' },
        409: { description: 'Already enrolled.' },
        ...stepUp,
      },
      handler: async ({ req, res, params }) => {
        const { attempt, session, account } = await edge.require(req, res, params.tenant);
        res.setHeader('Cache-Control', 'no-store');
        return startTotp(auth, session, account, attempt.tenant.displayName);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/me/totp/confirm',
      operationId: 'confirmTotp',
      summary: 'Confirm TOTP enrolment with a first code; every other session ends.',
      tags: ['factors'],
      params: tenantParams,
      body: z.strictObject({ code: z.string().min(1).max(32) }),
      responses: { 200: { description: 'Enrolled.' }, ...stepUp },
      handler: async ({ req, res, params, body }) => {
        const { attempt, session, account } = await edge.require(req, res, params.tenant);
        await confirmTotp(auth, attempt, session, account, body.code);
        return { enrolled: true };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/t/:tenant/api/me/totp',
      operationId: 'removeTotp',
      summary: 'Remove TOTP (recent AAL2 needed); every other session ends.',
      tags: ['factors'],
      params: tenantParams,
      status: 204,
      responses: { 204: { description: 'Removed.' }, ...stepUp },
      handler: async ({ req, res, params }) => {
        const { attempt, session, account } = await edge.require(req, res, params.tenant);
        await removeTotp(auth, attempt, session, account);
        res.status(204).end();
        return undefined;
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/me/recovery-codes',
      operationId: 'regenerateRecoveryCodes',
      summary: 'A new set of 10 recovery codes, shown once; the old set stops working.',
      tags: ['factors'],
      params: tenantParams,
      body: empty,
      responses: { 200: { description: 'The codes.' }, ...stepUp },
      handler: async ({ req, res, params }) => {
        const { attempt, session, account } = await edge.require(req, res, params.tenant);
        res.setHeader('Cache-Control', 'no-store');
        return { codes: await regenerateRecoveryCodes(auth, attempt, session, account) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/sessions',
      operationId: 'listMySessions',
      summary: 'My live sessions.',
      tags: ['factors'],
      params: tenantParams,
      responses: { 200: { description: 'Sessions.' }, ...stepUp },
      handler: async ({ req, res, params }) => {
        const { session, account } = await edge.require(req, res, params.tenant);
        const rows = await auth.sessions.list(account.id);
        return {
          sessions: rows.map((r) => ({
            id: r.publicId,
            current: r.id === session.row.id,
            aal: r.aal,
            amr: JSON.parse(r.amr) as string[],
            createdAt: r.createdAt.toISOString(),
            lastSeenAt: r.lastSeenAt.toISOString(),
            userAgent: r.userAgent,
            ip: r.ip,
            deviceId: r.deviceId,
          })),
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/t/:tenant/api/me/sessions/:id',
      operationId: 'endMySession',
      summary: 'End one of my sessions.',
      tags: ['factors'],
      params: idParams,
      status: 204,
      responses: { 204: { description: 'Ended.' }, 404: { description: 'No such live session of mine.' } },
      handler: async ({ req, res, params }) => {
        const { account, session } = await edge.require(req, res, params.tenant);
        await auth.store.tx(async (tx) => {
          if (!(await auth.sessions.endByPublicId(account.id, params.id, 'ended_by_user', tx))) {
            throw new NotFoundError('No such session.');
          }
          await recordEvent(tx, {
            tenantId: account.tenantId,
            accountId: account.id,
            type: 'session.ended',
            detail: { session: params.id, from: session.row.publicId },
          });
        });
        res.status(204).end();
        return undefined;
      },
    }),
  ];
}

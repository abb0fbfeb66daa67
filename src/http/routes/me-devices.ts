/**
 * A signed-in person's devices, per tenant under `/t/{tenant}/api/me/devices`: list them (fingerprint
 * history, passkeys, DID delegate, attestation, last seen, trust state), name them, link one to a DID
 * delegate it holds, and revoke one. Revoking needs a recent AAL2 proof (RFC 9470 challenge
 * otherwise). Another person's device is 404, never 403.
 */
import { getAddress, isAddress } from 'ethers';
import { z } from 'zod';
import type { ChainConnection } from '../../chain/index.ts';
import { validDelegateTypes } from '../../devices/delegates.ts';
import { ConflictError } from '../../errors.ts';
import { chainRead } from '../../flows/account-jobs.ts';
import type { DeviceRevocations } from '../../flows/revoke-device.ts';
import { RECENT_AAL2, requireAssurance } from '../../sessions/require.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface MeDeviceRouteDeps {
  edge: SessionEdge;
  revocations: DeviceRevocations;
  chain: ChainConnection;
}

export const deviceIdParams = tenantParams.extend({ id: z.string().min(1).max(64) });
const stepUp = { 401: { description: 'No session, or step-up required (RFC 9470 challenge).' } };

export function meDeviceRoutes(deps: MeDeviceRouteDeps): Route[] {
  const { edge, revocations } = deps;
  const registry = revocations.registry;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/devices',
      operationId: 'listMyDevices',
      summary: 'My devices: fingerprint, passkeys, DID delegate, attestation, last seen, trust state.',
      tags: ['devices'],
      params: tenantParams,
      responses: { 200: { description: '`{ devices }`; `current` marks this browser’s device.' }, ...stepUp },
      handler: async ({ req, res, params }) => {
        const { session, account } = await edge.require(req, res, params.tenant);
        const devices = await registry.list(account.tenantId, account.id);
        return { devices: devices.map((d) => ({ ...d, current: d.id === session.row.deviceId })) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/devices/:id',
      operationId: 'getMyDevice',
      summary: 'One of my devices with its fingerprint history.',
      tags: ['devices'],
      params: deviceIdParams,
      responses: { 200: { description: 'The device.' }, 404: { description: 'Not mine.' }, ...stepUp },
      handler: async ({ req, res, params }) => {
        const { account } = await edge.require(req, res, params.tenant);
        return registry.view({ tenantId: account.tenantId, accountId: account.id }, params.id);
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/t/:tenant/api/me/devices/:id',
      operationId: 'updateMyDevice',
      summary: 'Name a device, or link it to a delegate of my DID that it holds.',
      description:
        'The delegate must currently be a valid `veriKey` or `sigAuth` delegate of my DID on chain ' +
        '(add it first through `did-operations`); revoking the device then revokes that delegate.',
      tags: ['devices'],
      params: deviceIdParams,
      body: z
        .strictObject({
          label: z.string().trim().min(1).max(64).optional(),
          delegateAddress: z
            .string()
            .refine((a) => isAddress(a), 'a 0x-prefixed 20-byte address')
            .optional(),
        })
        .refine((b) => b.label !== undefined || b.delegateAddress !== undefined, 'label or delegateAddress'),
      responses: {
        200: { description: 'The device.' },
        404: { description: 'Not mine.' },
        409: { description: '`not_a_delegate`, or the device is revoked.' },
        ...stepUp,
      },
      handler: async ({ req, res, params, body }) => {
        const { session, account } = await edge.require(req, res, params.tenant);
        const scope = { tenantId: account.tenantId, accountId: account.id };
        const device = await registry.find(scope, params.id);
        if (body.delegateAddress) {
          if (device.state === 'revoked')
            throw new ConflictError('device_revoked', 'This device is revoked.');
          // Linking a key to a device decides what a revocation revokes: a sensitive change.
          requireAssurance(session, RECENT_AAL2);
          const address = getAddress(body.delegateAddress);
          const valid = await chainRead(() => validDelegateTypes(deps.chain, account.address, address));
          if (valid.length === 0) {
            throw new ConflictError('not_a_delegate', 'This address is not a valid delegate of your DID.');
          }
          await registry.setDelegate(scope, device.id, address);
        }
        if (body.label) return registry.rename(scope, device.id, body.label);
        return registry.view(scope, device.id);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/me/devices/:id/revoke',
      operationId: 'revokeMyDevice',
      summary:
        'Revoke one of my devices (recent AAL2 needed): passkeys, sessions, apps, DID delegate, credentials.',
      description:
        'Idempotent: revoking a revoked device answers its revocation. The answer shows each step; steps ' +
        'waiting for the chain read `pending` until mined (poll the revocation).',
      tags: ['devices'],
      params: deviceIdParams,
      body: z.strictObject({ reason: z.string().trim().min(1).max(200).optional() }),
      status: 202,
      responses: {
        202: { description: 'The revocation with each step.' },
        404: { description: 'Not mine.' },
        ...stepUp,
      },
      handler: async ({ req, res, params, body }) => {
        const { session, account } = await edge.require(req, res, params.tenant);
        requireAssurance(session, RECENT_AAL2);
        const revocation = await revocations.revoke(
          { tenantId: account.tenantId, accountId: account.id },
          params.id,
          { actor: { kind: 'person', id: account.id }, ...(body.reason ? { reason: body.reason } : {}) },
        );
        // Revoking the device this browser is on ends this very session.
        if (await revocations.sessionEnded(session.row.id)) edge.clearSession(res);
        return revocation;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/me/revocations/:id',
      operationId: 'getMyRevocation',
      summary: 'The status of a revocation of one of my devices, step by step.',
      tags: ['devices'],
      params: tenantParams.extend({ id: z.string().uuid() }),
      responses: { 200: { description: 'The revocation.' }, 404: { description: 'Not mine.' }, ...stepUp },
      handler: async ({ req, res, params }) => {
        const { account } = await edge.require(req, res, params.tenant);
        return revocations.status({ tenantId: account.tenantId, accountId: account.id }, params.id);
      },
    }),
  ];
}

/**
 * Admin API for devices: a person's devices, revoking one (the whole cascade, see
 * src/flows/revoke-device.ts) and a revocation's status step by step. Reads need an admin role; revoking
 * is a write (a recent AAL3 / `phrh` sign-in, see src/http/admin-auth.ts). Everything is scoped to the path's tenant: another tenant's
 * person, device or revocation is 404.
 */
import { z } from 'zod';
import { NotFoundError } from '../../errors.ts';
import type { DeviceRevocations } from '../../flows/revoke-device.ts';
import type { Store } from '../../store/index.ts';
import { requireAdmin } from '../admin-auth.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';
import { deviceIdParams } from './me-devices.ts';

export interface AdminDeviceRouteDeps {
  store: Store;
  edge: SessionEdge;
  revocations: DeviceRevocations;
}

export function adminDeviceRoutes(deps: AdminDeviceRouteDeps): Route[] {
  const { edge, revocations } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/people/:accountId/devices',
      operationId: 'adminListPersonDevices',
      summary: 'A person’s devices with their passkeys, delegate, attestation, last seen and trust state.',
      tags: ['admin', 'devices'],
      params: tenantParams.extend({ accountId: z.string().min(1).max(64) }),
      responses: {
        200: { description: '`{ devices }`.' },
        404: { description: 'No such person in this tenant.' },
      },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadDevices' });
        const person = await deps.store.db.account.findFirst({
          where: { id: params.accountId, tenantId: attempt.tenant.id },
          select: { id: true },
        });
        if (!person) throw new NotFoundError('No such person.');
        return { devices: await revocations.registry.list(attempt.tenant.id, person.id) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/devices/:id',
      operationId: 'adminGetDevice',
      summary: 'One device with its fingerprint history.',
      tags: ['admin', 'devices'],
      params: deviceIdParams,
      responses: {
        200: { description: 'The device.' },
        404: { description: 'No such device in this tenant.' },
      },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadDevices' });
        return revocations.registry.view({ tenantId: attempt.tenant.id }, params.id);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/admin/devices/:id/revoke',
      operationId: 'adminRevokeDevice',
      summary: 'Revoke a device: passkeys, sessions, OIDC grants, DID delegate, credentials, Shared Signals.',
      description: 'Idempotent: a second call answers (and continues) the same revocation.',
      tags: ['admin', 'devices'],
      params: deviceIdParams,
      body: z.strictObject({ reason: z.string().trim().min(1).max(200).optional() }),
      status: 202,
      responses: {
        202: { description: 'The revocation with each step.' },
        404: { description: 'No such device in this tenant.' },
      },
      handler: async ({ req, res, params, body }) => {
        const { attempt, account } = await requireAdmin(edge, req, res, params.tenant, {
          action: 'RevokeDevice',
        });
        return revocations.revoke({ tenantId: attempt.tenant.id }, params.id, {
          actor: { kind: 'admin', id: account.id },
          ...(body.reason ? { reason: body.reason } : {}),
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/revocations/:id',
      operationId: 'adminGetRevocation',
      summary: 'A device revocation’s status with each step (the delegate reads `pending` until mined).',
      tags: ['admin', 'devices'],
      params: tenantParams.extend({ id: z.string().uuid() }),
      responses: { 200: { description: 'The revocation.' }, 404: { description: 'No such revocation.' } },
      handler: async ({ req, res, params }) => {
        const { attempt } = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadDevices' });
        return revocations.status({ tenantId: attempt.tenant.id }, params.id);
      },
    }),
  ];
}

/**
 * `GET /t/:tenant/api/admin/authenticators` (ReadSettings): what the console shows about
 * authenticators. The tenant's attestation policy (changed with `PATCH /t/:tenant/api/admin/settings`),
 * the attestation trust store's roots (built-in vendor roots and the operator's ATTESTATION_ROOTS_DIR),
 * the FIDO metadata BLOB in use, and the tenant's active passkeys grouped by authenticator model
 * (AAGUID), with the model's name from registration or the metadata.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseCertificate } from '../../factors/attestation/chain.ts';
import type { AttestationTrustStore } from '../../factors/attestation/trust-store.ts';
import type { Store } from '../../store/index.ts';
import { requireAdmin } from '../admin-auth.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';
import type { SessionEdge } from '../session-auth.ts';

export interface AdminAuthenticatorRouteDeps {
  store: Store;
  edge: SessionEdge;
  trust: AttestationTrustStore;
}

const authenticatorsSchema = z
  .object({
    attestationPolicy: z.enum(['any', 'trusted']),
    roots: z.array(
      z.object({
        fmt: z.string().meta({ description: 'Attestation format the root applies to, or `any`.' }),
        subject: z.string(),
        issuer: z.string(),
        notAfter: z.string(),
        sha256: z.string().meta({ description: 'SHA-256 of the DER certificate, hex.' }),
      }),
    ),
    metadata: z.object({
      loaded: z.boolean(),
      entries: z.number().int(),
      nextUpdate: z.string().nullable(),
      stale: z
        .boolean()
        .meta({ description: 'nextUpdate has passed: the operator should refresh MDS_BLOB.' }),
    }),
    seen: z.array(
      z.object({
        aaguid: z.string(),
        model: z.string().nullable(),
        passkeys: z.number().int(),
        trusted: z.boolean().meta({ description: 'Every passkey of the model has a trusted attestation.' }),
        hardwareBound: z.boolean().meta({ description: 'Every passkey of the model is hardware-bound.' }),
        trustedPasskeys: z.number().int(),
        hardwareBoundPasskeys: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'Authenticators' });

/** A certificate's distinguished name on one line. */
const oneLine = (name: string) => name.split('\n').filter(Boolean).join(', ');

export function adminAuthenticatorRoutes(deps: AdminAuthenticatorRouteDeps): Route[] {
  const { edge, trust } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/admin/authenticators',
      operationId: 'adminAuthenticators',
      summary: 'Attestation policy, trusted roots, FIDO metadata, and the passkey models registered here.',
      tags: ['admin'],
      params: tenantParams,
      responses: { 200: { description: 'Authenticators.', schema: authenticatorsSchema } },
      handler: async ({ req, res, params }) => {
        const admin = await requireAdmin(edge, req, res, params.tenant, { action: 'ReadSettings' });
        // Read, not the cached tenant: the policy may have changed a moment ago.
        const tenant = await deps.store.db.tenant.findUniqueOrThrow({ where: { id: admin.tenant.id } });
        const groups = await deps.store.db.passkey.groupBy({
          by: ['aaguid', 'modelName', 'attestationTrusted', 'hardwareBound'],
          where: { tenantId: tenant.id, status: 'active' },
          _count: { _all: true },
        });
        const models = new Map<string, z.infer<typeof authenticatorsSchema>['seen'][number]>();
        for (const g of groups) {
          const model = models.get(g.aaguid) ?? {
            aaguid: g.aaguid,
            model: null,
            passkeys: 0,
            trusted: false,
            hardwareBound: false,
            trustedPasskeys: 0,
            hardwareBoundPasskeys: 0,
          };
          const n = g._count._all;
          model.model ??= g.modelName;
          model.passkeys += n;
          if (g.attestationTrusted) model.trustedPasskeys += n;
          if (g.hardwareBound) model.hardwareBoundPasskeys += n;
          models.set(g.aaguid, model);
        }
        const seen = [...models.values()]
          .map((m) => ({
            ...m,
            model: m.model ?? trust.mds?.statementFor({ aaguid: m.aaguid })?.description ?? null,
            trusted: m.trustedPasskeys === m.passkeys,
            hardwareBound: m.hardwareBoundPasskeys === m.passkeys,
          }))
          .sort((a, b) => b.passkeys - a.passkeys || a.aaguid.localeCompare(b.aaguid));
        const roots = trust.roots().flatMap(({ fmt, der }) => {
          const cert = parseCertificate(der);
          if (!cert) return [];
          return [
            {
              fmt,
              subject: oneLine(cert.subject),
              issuer: oneLine(cert.issuer),
              notAfter: new Date(cert.validTo).toISOString(),
              sha256: createHash('sha256').update(der).digest('hex'),
            },
          ];
        });
        return {
          attestationPolicy: tenant.attestationPolicy === 'trusted' ? 'trusted' : 'any',
          roots,
          metadata: {
            loaded: trust.mds !== undefined,
            entries: trust.mds?.size ?? 0,
            nextUpdate: trust.mds?.nextUpdate.toISOString() ?? null,
            stale: trust.mds?.stale ?? false,
          },
          seen,
        };
      },
    }),
  ];
}

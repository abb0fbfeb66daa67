/**
 * OAuth access tokens for Trustgate's own APIs (the VC API's `vc:issue`): an opaque token issued by a
 * tenant's provider, still valid, of a client that still exists, under a grant that was not revoked.
 * DPoP-bound tokens are refused here (RFC 9449 §7.1: a bound token is not a bearer token), since these
 * APIs take `Authorization: Bearer` only.
 */
import type { BearerAuthorizer, BearerGrant } from '../http/routes/vc-issue.ts';
import type { Store } from '../store/index.ts';
import type { TenantProviders } from './provider.ts';

const TOKEN = /^[A-Za-z0-9_-]{20,128}$/;

interface TokenLike {
  clientId?: string;
  grantId?: string;
  scope?: string;
  jkt?: string;
  'x5t#S256'?: string;
  isValid?: boolean;
}

export function oidcBearer(store: Store, providers: TenantProviders): BearerAuthorizer {
  return {
    async authorize(value: string): Promise<BearerGrant | null> {
      if (!TOKEN.test(value)) return null;
      // Opaque tokens do not name their tenant: the row does.
      const row = await store.db.oidcPayload.findFirst({
        where: { id: value, model: { in: ['AccessToken', 'ClientCredentials'] } },
        select: { tenantId: true, model: true },
      });
      if (!row) return null;
      const { provider } = await providers.byTenantId(row.tenantId);
      const token = (
        row.model === 'AccessToken'
          ? await provider.AccessToken.find(value)
          : await provider.ClientCredentials.find(value)
      ) as TokenLike | undefined;
      if (!token || token.isValid === false || !token.clientId) return null;
      if (token.jkt || token['x5t#S256']) return null;
      if (!(await provider.Client.find(token.clientId))) return null;
      if (token.grantId && !(await provider.Grant.find(token.grantId))) return null;
      return {
        tenantId: row.tenantId,
        clientId: token.clientId,
        scopes: (token.scope ?? '').split(' ').filter(Boolean),
      };
    },
  };
}

/**
 * How a SET names the person to a receiver: `iss_sub` with the tenant's issuer and the `sub` that
 * receiver's OIDC client sees (public: the account id; pairwise: the provider's own pairwise subject, so
 * an app can match the SET to its own user). A stream
 * without a client is tenant-wide and gets the public `sub`.
 */
import type { TenantProviders } from '../oidc/provider.ts';

/** Names people in SETs as the receiving client knows them (see `TenantProviders.subjectFor`). */
export class SubjectResolver {
  constructor(private readonly deps: { providers: TenantProviders }) {}

  /** The `sub` the receiver of `clientId` knows `accountId` by (the public one without a client). */
  subFor(tenantId: string, accountId: string, clientId: string | null): Promise<string> {
    return this.deps.providers.subjectFor(tenantId, accountId, clientId);
  }
}

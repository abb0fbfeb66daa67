/**
 * Each tenant's credential issuer: a did:ethr whose controller key Trustgate holds (sealed under the
 * master key), created on first use under the alias `tenant-issuer:<tenantId>`.
 */
import { createManagedDid, type IdentityAgent } from '../identity/agent.ts';

export interface TenantIssuer {
  did: string;
  /** Key id of the issuer's secp256k1 controller key in the agent's key manager. */
  kid: string;
  /** The verification method that signs: `<did>#controller`. */
  verificationMethod: string;
}

const aliasOf = (tenantId: string) => `tenant-issuer:${tenantId}`;

export class TenantIssuers {
  private readonly cache = new Map<string, Promise<TenantIssuer>>();

  constructor(private readonly agent: IdentityAgent) {}

  /** The tenant's issuer, created once (concurrent first calls, on any instance, agree on one DID). */
  get(tenantId: string): Promise<TenantIssuer> {
    let issuer = this.cache.get(tenantId);
    if (!issuer) {
      issuer = this.load(tenantId);
      this.cache.set(tenantId, issuer);
      issuer.catch(() => this.cache.delete(tenantId));
    }
    return issuer;
  }

  private async load(tenantId: string): Promise<TenantIssuer> {
    const alias = aliasOf(tenantId);
    const existing = await this.find(alias);
    if (existing) return existing;
    try {
      const created = await createManagedDid(this.agent, { alias });
      return { did: created.did, kid: created.kid, verificationMethod: `${created.did}#controller` };
    } catch (err) {
      // Another instance created it first: the alias is unique.
      const winner = await this.find(alias);
      if (winner) return winner;
      throw err;
    }
  }

  private async find(alias: string): Promise<TenantIssuer | null> {
    try {
      const identifier = await this.agent.didManagerGetByAlias({ alias });
      if (!identifier.controllerKeyId) return null;
      return {
        did: identifier.did,
        kid: identifier.controllerKeyId,
        verificationMethod: `${identifier.did}#controller`,
      };
    } catch {
      return null;
    }
  }
}

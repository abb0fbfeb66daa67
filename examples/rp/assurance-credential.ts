/**
 * The app's own check of the `assurance_credential` claim: an IdentityAssuranceCredential (W3C VC 1.1 as
 * a JWT, ES256K) issued by the tenant's did:ethr about this sign-in, with this app's client id as its
 * audience. Nothing here asks Trustgate whether the credential is good: the issuer's DID document comes
 * from the chain (ERC-1056 registry) through the stock `ethr-did-resolver`, and `did-jwt-vc` checks the
 * signature, the validity period and the audience. Trustgate only tells where the chain is
 * (`GET /api/chain`), which any verifier could also be configured with by hand.
 *
 * What is checked, in order:
 *   1. the claim is a string (absent: the app shows "no credential");
 *   2. signature by an assertion method of the `iss` DID as resolved on the chain; `nbf`/`exp`; `aud`
 *      is this client (a credential made for another app is refused);
 *   3. the type includes `IdentityAssuranceCredential`;
 *   4. its subject is the DID the ID token names (it is about this person);
 *   5. when the app pins issuers (`trustedIssuers`), the issuer is one of them.
 */
import { verifyCredential } from 'did-jwt-vc';
import { type Resolvable, Resolver } from 'did-resolver';
import { getResolver } from 'ethr-did-resolver';

export const IDENTITY_ASSURANCE_CREDENTIAL = 'IdentityAssuranceCredential';

/** What `GET {PUBLIC_URL}/api/chain` tells verifiers (the fields this app uses). */
export interface ChainFacts {
  chainId: number;
  rpcUrl: string;
  /** ERC-1056 registry address. */
  registry: string;
}

/** What the credential says about the sign-in, as shown on the profile page. */
export interface AssuranceClaims {
  aal?: number;
  acr?: string;
  amr?: string[];
  phishingResistant?: boolean;
  authTime?: string;
}

/** The app's verdict. `unchecked`: the check could not run (chain unreachable): neither good nor bad. */
export type CredentialCheck =
  | { status: 'absent' }
  | {
      status: 'verified';
      issuer: string;
      subject: string;
      claims: AssuranceClaims;
      /** ISO time the credential stops being valid, when it says. */
      validUntil?: string;
    }
  | { status: 'invalid'; reason: string; issuer?: string }
  | { status: 'unchecked'; reason: string };

/** Reads the chain facts Trustgate publishes for outside verifiers. */
export async function fetchChainFacts(trustgateUrl: string, timeoutMs = 10_000): Promise<ChainFacts> {
  const res = await fetch(new URL('/api/chain', trustgateUrl), {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`GET /api/chain answered ${res.status}`);
  const body = (await res.json()) as Partial<ChainFacts>;
  if (
    typeof body.chainId !== 'number' ||
    typeof body.rpcUrl !== 'string' ||
    typeof body.registry !== 'string' ||
    !/^0x[0-9a-fA-F]{40}$/.test(body.registry)
  ) {
    throw new Error('GET /api/chain did not give chainId, rpcUrl and registry');
  }
  return { chainId: body.chainId, rpcUrl: body.rpcUrl, registry: body.registry };
}

/**
 * The stock did:ethr resolver for one chain: `did:ethr:0x<chainId hex>:0x…` resolves against its
 * registry over JSON-RPC. Every other DID method or network fails to resolve, so only issuers on this
 * chain can ever verify.
 */
export function chainResolver(chain: ChainFacts): Resolver {
  return new Resolver(
    getResolver({
      networks: [
        {
          name: `0x${chain.chainId.toString(16)}`,
          chainId: chain.chainId,
          rpcUrl: chain.rpcUrl,
          registry: chain.registry,
          legacyNonce: false,
        },
      ],
    }),
  );
}

export interface CredentialExpectations {
  resolver: Resolvable;
  /** This app's client id: the credential's `aud`. */
  audience: string;
  /** The DID the ID token names (`did` claim): the credential's subject must be it. */
  subjectDid?: string;
  /** Issuer DIDs the app accepts; empty or absent: any issuer on the chain. */
  trustedIssuers?: readonly string[];
}

/** Verifies the `assurance_credential` claim of an ID token (see the module comment for the rules). */
export async function checkAssuranceCredential(
  claim: unknown,
  expect: CredentialExpectations,
): Promise<CredentialCheck> {
  if (claim === undefined || claim === null) return { status: 'absent' };
  if (typeof claim !== 'string' || claim.split('.').length !== 3) {
    return { status: 'invalid', reason: 'The claim is not a JWT.' };
  }
  let verified: Awaited<ReturnType<typeof verifyCredential>>;
  try {
    verified = await verifyCredential(claim, expect.resolver, {
      audience: expect.audience,
      proofPurpose: 'assertionMethod',
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // did-jwt prefixes its errors with a code: a resolution that could not run says nothing about the
    // credential; everything else (bad signature, expired, other audience, unknown DID) is a refusal.
    if (/^resolver_error:.*(fetch|network|ECONNREFUSED|timeout|could not detect network)/i.test(message)) {
      return { status: 'unchecked', reason: message };
    }
    return { status: 'invalid', reason: message };
  }
  const credential = verified.verifiableCredential;
  const issuer = verified.issuer;
  const types = [credential.type].flat();
  if (!types.includes(IDENTITY_ASSURANCE_CREDENTIAL)) {
    return { status: 'invalid', issuer, reason: `Not an ${IDENTITY_ASSURANCE_CREDENTIAL}.` };
  }
  const subject = [credential.credentialSubject].flat()[0] as Record<string, unknown> | undefined;
  const subjectId = typeof subject?.id === 'string' ? subject.id : undefined;
  if (!subjectId || (expect.subjectDid !== undefined && subjectId !== expect.subjectDid)) {
    return { status: 'invalid', issuer, reason: 'The credential is about someone else.' };
  }
  if (expect.trustedIssuers?.length && !expect.trustedIssuers.includes(issuer)) {
    return { status: 'invalid', issuer, reason: 'The issuer is not one this app trusts.' };
  }
  const claims: AssuranceClaims = {
    ...(typeof subject?.aal === 'number' ? { aal: subject.aal } : {}),
    ...(typeof subject?.acr === 'string' ? { acr: subject.acr } : {}),
    ...(Array.isArray(subject?.amr) ? { amr: subject.amr.filter((v) => typeof v === 'string') } : {}),
    ...(typeof subject?.phishingResistant === 'boolean'
      ? { phishingResistant: subject.phishingResistant }
      : {}),
    ...(typeof subject?.authTime === 'string' ? { authTime: subject.authTime } : {}),
  };
  return {
    status: 'verified',
    issuer,
    subject: subjectId,
    claims,
    ...(credential.expirationDate ? { validUntil: credential.expirationDate } : {}),
  };
}

/**
 * Checks credentials against the chain Trustgate names, fetching its facts once (again after a
 * failure, so that the app can start before Trustgate does).
 */
export class AssuranceVerifier {
  private resolver: Promise<Resolver> | undefined;

  constructor(
    private readonly options: {
      trustgateUrl: string;
      audience: string;
      trustedIssuers?: readonly string[];
      /** Chain facts given by hand instead of fetched. */
      chain?: ChainFacts;
      /** Longest wait for the chain, per check (default 10 s). */
      timeoutMs?: number;
    },
  ) {}

  async check(claim: unknown, subjectDid: string | undefined): Promise<CredentialCheck> {
    if (claim === undefined || claim === null) return { status: 'absent' };
    let resolver: Resolver;
    try {
      resolver = await this.resolverFor();
    } catch (err) {
      return { status: 'unchecked', reason: `Chain facts unavailable: ${(err as Error).message}` };
    }
    const checked = checkAssuranceCredential(claim, {
      resolver,
      audience: this.options.audience,
      ...(subjectDid !== undefined ? { subjectDid } : {}),
      ...(this.options.trustedIssuers ? { trustedIssuers: this.options.trustedIssuers } : {}),
    });
    // A chain that does not answer must not hold the person's sign-in: the verdict is then "not checked".
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CredentialCheck>((resolve) => {
      timer = setTimeout(
        () => resolve({ status: 'unchecked', reason: 'The chain did not answer in time.' }),
        this.options.timeoutMs ?? 10_000,
      );
    });
    try {
      return await Promise.race([checked, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private resolverFor(): Promise<Resolver> {
    if (!this.resolver) {
      const { chain, trustgateUrl } = this.options;
      const pending = (chain ? Promise.resolve(chain) : fetchChainFacts(trustgateUrl)).then(chainResolver);
      pending.catch(() => {
        if (this.resolver === pending) this.resolver = undefined;
      });
      this.resolver = pending;
    }
    return this.resolver;
  }
}

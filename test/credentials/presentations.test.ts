import { ES256KSigner } from 'did-jwt';
import {
  createVerifiableCredentialJwt,
  createVerifiablePresentationJwt,
  type Issuer,
  verifyCredential,
} from 'did-jwt-vc';
import { type BaseWallet, getBytes, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CredentialVerifier, PresentationVerifier } from '../../src/credentials/presentations.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let t: TestService;
let verifier: PresentationVerifier;
const DOMAIN = 'https://verifier.example';

const didOf = (w: BaseWallet) => `did:ethr:0x7a69:${w.address.toLowerCase()}`;
const asIssuer = (w: BaseWallet): Issuer => ({
  did: didOf(w),
  signer: ES256KSigner(getBytes(w.privateKey)),
  alg: 'ES256K',
});

beforeAll(async () => {
  t = await startTestService();
  const resolver = t.service.resolver.resolvable();
  // The embedded credentials are checked with stock did-jwt-vc here; the service plugs in its own verifier.
  const verifyJwtVc: CredentialVerifier = async (jwt) => {
    try {
      const v = await verifyCredential(jwt, resolver);
      return {
        verified: true,
        checks: ['signature'],
        warnings: [],
        errors: [],
        subject: v.verifiableCredential.credentialSubject.id,
      };
    } catch (err) {
      return {
        verified: false,
        checks: [],
        warnings: [],
        errors: [{ code: 'invalid_credential', message: String(err) }],
      };
    }
  };
  verifier = new PresentationVerifier(t.service.state, resolver, verifyJwtVc);
});
afterAll(async () => {
  await t?.destroy();
});

async function credentialFor(issuer: BaseWallet, subject: string) {
  return createVerifiableCredentialJwt(
    {
      sub: subject,
      nbf: Math.floor(Date.now() / 1000) - 5,
      vc: {
        '@context': ['https://www.w3.org/2018/credentials/v1'],
        type: ['VerifiableCredential', 'IdentityAssuranceCredential'],
        credentialSubject: { aal: 'http://idmanagement.gov/ns/assurance/aal/2' },
      },
    },
    asIssuer(issuer),
  );
}

async function presentation(
  holder: BaseWallet,
  credentials: string[],
  challenge: string,
  domain = DOMAIN,
  signer = holder,
) {
  return createVerifiablePresentationJwt(
    {
      vp: {
        '@context': ['https://www.w3.org/2018/credentials/v1'],
        type: ['VerifiablePresentation'],
        holder: didOf(holder),
        verifiableCredential: credentials,
      },
    },
    { ...asIssuer(signer), did: didOf(holder) },
    { challenge, domain },
  );
}

describe('presentations with holder binding and one-time challenges', () => {
  it('verifies a presentation by the credential’s subject, for the issued challenge and domain', async () => {
    const [issuer, holder] = [Wallet.createRandom(), Wallet.createRandom()];
    const { challenge } = await verifier.challenge(DOMAIN);
    const vp = await presentation(holder, [await credentialFor(issuer, didOf(holder))], challenge);
    const result = await verifier.verify(vp, { challenge, domain: DOMAIN });
    expect(result).toMatchObject({ verified: true, errors: [] });
    expect(result.checks).toEqual(
      expect.arrayContaining(['challenge', 'domain', 'signature', 'holderBinding']),
    );
  });

  it('refuses a reused challenge', async () => {
    const [issuer, holder] = [Wallet.createRandom(), Wallet.createRandom()];
    const { challenge } = await verifier.challenge(DOMAIN);
    const vp = await presentation(holder, [await credentialFor(issuer, didOf(holder))], challenge);
    expect((await verifier.verify(vp, { challenge, domain: DOMAIN })).verified).toBe(true);
    const again = await verifier.verify(vp, { challenge, domain: DOMAIN });
    expect(again.errors[0]?.code).toBe('invalid_challenge');
  });

  it('refuses a foreign challenge (never issued here) and one issued for another domain', async () => {
    const holder = Wallet.createRandom();
    const foreign = await verifier.verify(await presentation(holder, [], 'made-up-challenge'), {
      challenge: 'made-up-challenge',
      domain: DOMAIN,
    });
    expect(foreign.errors[0]?.code).toBe('invalid_challenge');
    const { challenge } = await verifier.challenge('https://other.example');
    const other = await verifier.verify(await presentation(holder, [], challenge), {
      challenge,
      domain: DOMAIN,
    });
    expect(other.errors[0]?.code).toBe('invalid_challenge');
  });

  it('refuses a presentation whose nonce or audience is not the challenge and domain asked for', async () => {
    const holder = Wallet.createRandom();
    const { challenge } = await verifier.challenge(DOMAIN);
    const wrongNonce = await presentation(holder, [], 'another-nonce-value');
    expect((await verifier.verify(wrongNonce, { challenge, domain: DOMAIN })).verified).toBe(false);
    const second = await verifier.challenge(DOMAIN);
    const wrongAud = await presentation(holder, [], second.challenge, 'https://evil.example');
    expect((await verifier.verify(wrongAud, { challenge: second.challenge, domain: DOMAIN })).verified).toBe(
      false,
    );
  });

  it('refuses a presentation signed by someone other than the holder it names', async () => {
    const [issuer, holder, thief] = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
    const { challenge } = await verifier.challenge(DOMAIN);
    const vp = await presentation(
      holder,
      [await credentialFor(issuer, didOf(holder))],
      challenge,
      DOMAIN,
      thief,
    );
    const result = await verifier.verify(vp, { challenge, domain: DOMAIN });
    expect(result.verified).toBe(false);
    expect(result.errors[0]?.code).toBe('invalid_signature');
  });

  it('refuses someone else’s credential presented by a valid holder', async () => {
    const [issuer, victim, holder] = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
    const { challenge } = await verifier.challenge(DOMAIN);
    const vp = await presentation(holder, [await credentialFor(issuer, didOf(victim))], challenge);
    const result = await verifier.verify(vp, { challenge, domain: DOMAIN });
    expect(result.verified).toBe(false);
    expect(result.errors.map((e) => e.code)).toContain('holder_mismatch');
  });

  it('lets exactly one of five concurrent verifications of one challenge succeed', async () => {
    const [issuer, holder] = [Wallet.createRandom(), Wallet.createRandom()];
    const { challenge } = await verifier.challenge(DOMAIN);
    const vp = await presentation(holder, [await credentialFor(issuer, didOf(holder))], challenge);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => verifier.verify(vp, { challenge, domain: DOMAIN })),
    );
    expect(results.filter((r) => r.verified)).toHaveLength(1);
  });
});

import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type WebAuthnCredential,
} from '@simplewebauthn/server';
import { decodeAttestationObject, isoBase64URL } from '@simplewebauthn/server/helpers';
import { describe, expect, it } from 'vitest';
import { type SoftAttestation, SoftAuthenticator } from '../helpers/webauthn/soft-authenticator.ts';
import { createAttestationChain } from '../helpers/webauthn/test-pki.ts';

const rpID = 'login.trustgate.test';
const origin = `https://${rpID}`;
const aaguid = '0b1d2c3e-4f50-4617-8a9b-0c1d2e3f4a5b';

function registrationOptions(attestationType: 'none' | 'direct' = 'direct') {
  return generateRegistrationOptions({
    rpName: 'Trustgate',
    rpID,
    userName: 'alice@example.com',
    attestationType,
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
}

async function register(authenticator: SoftAuthenticator, options?: PublicKeyCredentialCreationOptionsJSON) {
  const creation = options ?? (await registrationOptions());
  const response = authenticator.createCredential(creation, { origin });
  const verification = await verifyRegistrationResponse({
    response,
    expectedChallenge: creation.challenge,
    expectedOrigin: origin,
    expectedRPID: rpID,
    requireUserVerification: true,
  });
  return { creation, response, verification };
}

async function registeredCredential(authenticator: SoftAuthenticator): Promise<WebAuthnCredential> {
  const { verification } = await register(authenticator);
  if (!verification.verified) throw new Error('registration failed');
  return verification.registrationInfo.credential;
}

describe('SoftAuthenticator registration against @simplewebauthn/server', () => {
  const cases: Array<[string, () => Promise<SoftAttestation>, string, number]> = [
    ['none', async () => 'none', 'none', 0],
    ['packed self attestation', async () => 'self', 'packed', 0],
    [
      'packed full attestation',
      async () => ({ chain: await createAttestationChain({ aaguid }) }),
      'packed',
      1,
    ],
    [
      'packed full attestation with an intermediate',
      async () => ({ chain: await createAttestationChain({ aaguid, withIntermediate: true }) }),
      'packed',
      2,
    ],
  ];
  for (const [name, attestation, fmt, x5cLength] of cases) {
    it(`should verify a ${name} registration with user verification required`, async () => {
      const authenticator = new SoftAuthenticator({ aaguid, attestation: await attestation() });
      const { response, verification } = await register(authenticator);
      expect(verification.verified).toBe(true);
      const info = verification.registrationInfo!;
      expect(info.fmt).toBe(fmt);
      expect(info.aaguid).toBe(aaguid);
      expect(info.userVerified).toBe(true);
      expect(info.credential.id).toBe(response.id);
      expect(info.credentialDeviceType).toBe('singleDevice');
      const attStmt = decodeAttestationObject(isoBase64URL.toBuffer(response.response.attestationObject)).get(
        'attStmt',
      );
      expect(attStmt.get('x5c')?.length ?? 0).toBe(x5cLength);
    });
  }

  it('should report backup eligibility and state when configured', async () => {
    const authenticator = new SoftAuthenticator({ backupEligible: true, backedUp: true });
    const { verification } = await register(authenticator);
    expect(verification.registrationInfo?.credentialDeviceType).toBe('multiDevice');
    expect(verification.registrationInfo?.credentialBackedUp).toBe(true);
  });

  it('should fail when user verification is required but the authenticator did not verify', async () => {
    const authenticator = new SoftAuthenticator({ userVerified: false });
    await expect(register(authenticator)).rejects.toThrow(/user could not be verified/i);
  });

  it('should fail when the origin is not the expected one', async () => {
    const authenticator = new SoftAuthenticator();
    const creation = await registrationOptions();
    const response = authenticator.createCredential(creation, { origin: 'https://phish.example' });
    await expect(
      verifyRegistrationResponse({
        response,
        expectedChallenge: creation.challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
      }),
    ).rejects.toThrow(/origin/i);
  });

  it('should fail when the rpId hash is for another relying party', async () => {
    const authenticator = new SoftAuthenticator();
    const creation = await registrationOptions();
    const response = authenticator.createCredential(creation, { origin, rpId: 'evil.example' });
    await expect(
      verifyRegistrationResponse({
        response,
        expectedChallenge: creation.challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
      }),
    ).rejects.toThrow(/RP ID/i);
  });

  it('should fail when the full attestation is signed by a key other than the x5c leaf', async () => {
    const chain = await createAttestationChain({ aaguid });
    const other = await createAttestationChain({ aaguid });
    const authenticator = new SoftAuthenticator({
      aaguid,
      attestation: { chain: { chain: chain.chain, leafKey: other.leafKey } },
    });
    const { verification } = await register(authenticator);
    expect(verification.verified).toBe(false);
  });

  it('should refuse to create a credential listed in excludeCredentials', async () => {
    const authenticator = new SoftAuthenticator();
    const credential = await registeredCredential(authenticator);
    const creation = await generateRegistrationOptions({
      rpName: 'Trustgate',
      rpID,
      userName: 'alice@example.com',
      excludeCredentials: [{ id: credential.id }],
    });
    expect(() => authenticator.createCredential(creation, { origin })).toThrow(/excludeCredentials/);
  });
});

describe('SoftAuthenticator authentication against @simplewebauthn/server', () => {
  async function signIn(
    authenticator: SoftAuthenticator,
    credential: WebAuthnCredential,
    overrides: { allow?: boolean; origin?: string; challenge?: string } = {},
  ) {
    const options = await generateAuthenticationOptions({
      rpID,
      userVerification: 'required',
      ...(overrides.allow ? { allowCredentials: [{ id: credential.id }] } : {}),
    });
    const response = authenticator.getAssertion(options, {
      origin: overrides.origin ?? origin,
      ...(overrides.challenge ? { challenge: overrides.challenge } : {}),
    });
    const verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: options.challenge,
      expectedOrigin: origin,
      expectedRPID: rpID,
      credential,
      requireUserVerification: true,
    });
    return { response, verification };
  }

  it('should verify a discoverable sign-in, return the user handle and raise the counter', async () => {
    const authenticator = new SoftAuthenticator();
    const creation = await registrationOptions();
    const { verification: registered } = await register(authenticator, creation);
    const credential = registered.registrationInfo!.credential;

    const first = await signIn(authenticator, credential);
    expect(first.verification.verified).toBe(true);
    expect(first.response.response.userHandle).toBe(creation.user.id);
    expect(first.verification.authenticationInfo.newCounter).toBe(1);

    const second = await signIn(authenticator, { ...credential, counter: 1 }, { allow: true });
    expect(second.verification.verified).toBe(true);
    expect(second.verification.authenticationInfo.newCounter).toBe(2);
  });

  it('should pick the allowed credential when several exist for the rpId', async () => {
    const authenticator = new SoftAuthenticator();
    const first = await registeredCredential(authenticator);
    await registeredCredential(authenticator);
    const { response, verification } = await signIn(authenticator, first, { allow: true });
    expect(response.id).toBe(first.id);
    expect(verification.verified).toBe(true);
  });

  it('should fail when the origin is not the expected one', async () => {
    const authenticator = new SoftAuthenticator();
    const credential = await registeredCredential(authenticator);
    await expect(signIn(authenticator, credential, { origin: 'https://phish.example' })).rejects.toThrow(
      /origin/i,
    );
  });

  it('should fail when the challenge is not the one issued', async () => {
    const authenticator = new SoftAuthenticator();
    const credential = await registeredCredential(authenticator);
    await expect(signIn(authenticator, credential, { challenge: 'c3RhbGUtY2hhbGxlbmdl' })).rejects.toThrow(
      /challenge/i,
    );
  });

  it('should fail when user verification is required but the authenticator did not verify', async () => {
    const authenticator = new SoftAuthenticator();
    const credential = await registeredCredential(authenticator);
    const options = await generateAuthenticationOptions({ rpID, userVerification: 'required' });
    const response = authenticator.getAssertion(options, { origin, userVerified: false });
    await expect(
      verifyAuthenticationResponse({
        response,
        expectedChallenge: options.challenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        credential,
        requireUserVerification: true,
      }),
    ).rejects.toThrow(/user could not be verified/i);
  });

  it('should fail when the counter regresses below the stored one', async () => {
    const authenticator = new SoftAuthenticator();
    const credential = await registeredCredential(authenticator);
    authenticator.setCounter(credential.id, 4);
    await expect(signIn(authenticator, { ...credential, counter: 10 })).rejects.toThrow(/counter/i);
  });

  it('should keep reporting 0 when counterIncrement is 0 (and the server accepts it)', async () => {
    const authenticator = new SoftAuthenticator({ counterIncrement: 0 });
    const credential = await registeredCredential(authenticator);
    const { verification } = await signIn(authenticator, credential);
    expect(verification.verified).toBe(true);
    expect(verification.authenticationInfo.newCounter).toBe(0);
  });

  it('should refuse to sign in when it holds no credential for the rpId', async () => {
    const authenticator = new SoftAuthenticator();
    const options = await generateAuthenticationOptions({ rpID });
    expect(() => authenticator.getAssertion(options, { origin })).toThrow(/No credential/);
  });
});

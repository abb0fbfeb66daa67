/**
 * Passkeys (WebAuthn Level 3) through SimpleWebAuthn. Rules enforced here:
 *
 *   - every challenge is single use and bound to the browser (flow cookie or session) and purpose that
 *     asked for it: a response to a challenge issued to another browser, or for another purpose, fails;
 *   - origin and RP ID must be this service's; user verification is required;
 *   - registration asks for `direct` attestation; SimpleWebAuthn verifies the statement, and the trust
 *     store (not SimpleWebAuthn, which skips chains it has no roots for) decides whether it is trusted;
 *     metadata listing the model as revoked or compromised refuses it;
 *   - a signature counter that does not advance (when either side is non-zero) marks a suspected clone:
 *     the sign-in is refused and a security event recorded. The check runs after the signature is
 *     verified, so nobody can forge clone alarms.
 */
import { randomBytes } from 'node:crypto';
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { decodeAttestationObject, decodeClientDataJSON, isoBase64URL } from '@simplewebauthn/server/helpers';
import { safeReason, TrustgateError } from '../errors.ts';
import type { EphemeralState } from '../state/types.ts';
import type { Account, Passkey } from '../store/generated/postgres/client.ts';
import type { Store } from '../store/index.ts';
import type { AttestationSummary, FactorProof } from './types.ts';

/** How long a WebAuthn ceremony may take. */
export const CEREMONY_TTL_MS = 5 * 60_000;

export type CeremonyPurpose = 'sign_up' | 'enrol' | 'sign_in' | 'step_up';

/** Refusals, each with a stable code. Details are safe to show. */
export class PasskeyError extends TrustgateError {
  constructor(
    code:
      | 'invalid_challenge'
      | 'invalid_response'
      | 'unknown_credential'
      | 'credential_disabled'
      | 'suspected_clone'
      | 'attestation_untrusted',
    detail: string,
  ) {
    super(code, code === 'attestation_untrusted' ? 403 : 401, 'Passkey verification failed', detail);
  }
}

/** Decides whether an attestation is trusted (see `attestation/trust-store.ts`). */
export interface AttestationTrust {
  evaluate(input: {
    fmt: string;
    aaguid: string;
    x5c: Uint8Array[];
  }): AttestationVerdict | Promise<AttestationVerdict>;
  /** Throws when metadata now lists the model as revoked or compromised. */
  assertNotRefused(aaguid: string): void;
}

export interface AttestationVerdict {
  trusted: boolean;
  /** The key is kept in hardware (metadata `keyProtection`, or an operator-configured root). */
  hardware?: boolean;
  modelName?: string;
  reason: string;
}

/** What a challenge remembers between options and verification. */
export interface Ceremony {
  purpose: CeremonyPurpose;
  tenantId: string;
  /** Hash of the browser binding (flow cookie or session token). */
  binding: string;
  /** For step-up and enrolment: the account the ceremony belongs to. */
  accountId?: string;
  /** For sign-up: the account to create. */
  pending?: { username: string; displayName?: string; userHandle: string };
}

/** A verified registration, ready to store. */
export interface NewPasskey {
  credentialId: string;
  publicKey: Uint8Array;
  counter: number;
  transports: string[];
  attestation: AttestationSummary;
}

export interface RelyingParty {
  /** RP ID: the public URL's host name. */
  id: string;
  name: string;
  /** The only origin accepted. */
  origin: string;
}

const key = (challenge: string) => `webauthn:challenge:${challenge}`;

export class PasskeyFactor {
  constructor(
    private readonly deps: {
      store: Store;
      state: EphemeralState;
      trust: AttestationTrust;
      rp: RelyingParty;
    },
  ) {}

  /** Options for `navigator.credentials.create`: discoverable, UV required, direct attestation. */
  async registrationOptions(
    ceremony: Ceremony,
    user: { handle: string; name: string; displayName?: string },
    exclude: Array<{ credentialId: string; transports: string }> = [],
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const options = await generateRegistrationOptions({
      rpName: this.deps.rp.name,
      rpID: this.deps.rp.id,
      userName: user.name,
      userDisplayName: user.displayName ?? user.name,
      userID: isoBase64URL.toBuffer(user.handle),
      attestationType: 'direct',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      excludeCredentials: exclude.map((c) => ({
        id: c.credentialId,
        transports: JSON.parse(c.transports) as string[],
      })),
      timeout: CEREMONY_TTL_MS,
    });
    await this.remember(options.challenge, ceremony);
    return options;
  }

  /** Options for `navigator.credentials.get`; no `allow` means discoverable (and conditional UI). */
  async authenticationOptions(
    ceremony: Ceremony,
    allow: Array<{ credentialId: string; transports: string }> = [],
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const options = await generateAuthenticationOptions({
      rpID: this.deps.rp.id,
      userVerification: 'required',
      allowCredentials: allow.map((c) => ({
        id: c.credentialId,
        transports: JSON.parse(c.transports) as AuthenticatorTransportLike[],
      })),
      timeout: CEREMONY_TTL_MS,
    });
    await this.remember(options.challenge, ceremony);
    return options;
  }

  /** Verifies a registration against the ceremony it answers; returns what to store. */
  async verifyRegistration(
    expected: { purpose: CeremonyPurpose; tenantId: string; binding: string; requireTrusted: boolean },
    response: RegistrationResponseJSON,
  ): Promise<{ ceremony: Ceremony; passkey: NewPasskey; proof: FactorProof }> {
    const { ceremony, challenge } = await this.takeCeremony(expected, response.response?.clientDataJSON);
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.deps.rp.origin,
        expectedRPID: this.deps.rp.id,
        requireUserVerification: true,
      });
    } catch (err) {
      throw new PasskeyError('invalid_response', `The passkey registration is invalid: ${safeReason(err)}`);
    }
    if (!verified.verified)
      throw new PasskeyError('invalid_response', 'The passkey registration is invalid.');
    const info = verified.registrationInfo;
    const attStmt = decodeAttestationObject(info.attestationObject).get('attStmt');
    const x5c = (attStmt.get('x5c') ?? []) as Uint8Array[];
    const trust = await this.deps.trust.evaluate({ fmt: info.fmt, aaguid: info.aaguid, x5c });
    if (expected.requireTrusted && !trust.trusted) {
      throw new PasskeyError(
        'attestation_untrusted',
        'This organisation accepts only authenticators whose attestation it can verify.',
      );
    }
    const backupEligible = info.credentialDeviceType === 'multiDevice';
    const attestation: AttestationSummary = {
      fmt: info.fmt,
      aaguid: info.aaguid,
      ...(trust.modelName ? { modelName: trust.modelName } : {}),
      trusted: trust.trusted,
      backupEligible,
      backedUp: info.credentialBackedUp,
      // Hardware-bound: a trusted attestation saying the key lives in hardware, and not syncable.
      hardwareBound: trust.trusted && trust.hardware === true && !backupEligible,
    };
    return {
      ceremony,
      passkey: {
        credentialId: info.credential.id,
        publicKey: info.credential.publicKey,
        counter: info.credential.counter,
        transports: info.credential.transports ?? response.response.transports ?? [],
        attestation,
      },
      proof: proofOf(attestation.hardwareBound, undefined, attestation),
    };
  }

  /**
   * Verifies an assertion against the ceremony it answers and the stored passkey; advances the counter.
   * `onClone` is called (and the sign-in refused) when the counter did not advance.
   */
  async verifyAuthentication(
    expected: { purpose: CeremonyPurpose; tenantId: string; binding: string; accountId?: string },
    response: AuthenticationResponseJSON,
    onClone: (passkey: Passkey, seen: number) => Promise<void>,
  ): Promise<{ passkey: Passkey; account: Account; proof: FactorProof }> {
    const { challenge } = await this.takeCeremony(expected, response.response?.clientDataJSON);
    const found = await this.deps.store.db.passkey.findUnique({
      where: { tenantId_credentialId: { tenantId: expected.tenantId, credentialId: String(response.id) } },
      include: { account: true },
    });
    if (!found || (expected.accountId && found.accountId !== expected.accountId)) {
      throw new PasskeyError('unknown_credential', 'This passkey is not registered here.');
    }
    const { account, ...passkey } = found;
    if (passkey.status !== 'active')
      throw new PasskeyError('credential_disabled', 'This passkey is disabled.');
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: this.deps.rp.origin,
        expectedRPID: this.deps.rp.id,
        // Counter 0 here: the clone check is ours (below), so it can record the event.
        credential: {
          id: passkey.credentialId,
          publicKey: new Uint8Array(passkey.publicKey),
          counter: 0,
          transports: JSON.parse(passkey.transports),
        },
        requireUserVerification: true,
      });
    } catch (err) {
      throw new PasskeyError('invalid_response', `The passkey assertion is invalid: ${safeReason(err)}`);
    }
    if (!verified.verified) throw new PasskeyError('invalid_response', 'The passkey assertion is invalid.');
    const seen = verified.authenticationInfo.newCounter;
    const stored = Number(passkey.counter);
    if ((seen > 0 || stored > 0) && seen <= stored) {
      await onClone(passkey, seen);
      throw new PasskeyError(
        'suspected_clone',
        'This passkey’s signature counter went backwards: it may have been cloned. Use another factor.',
      );
    }
    // Conditional: of two racing assertions with the same counter only one advances it.
    const updated = await this.deps.store.db.passkey.updateMany({
      where: { id: passkey.id, counter: { lt: BigInt(seen) }, status: 'active' },
      data: {
        counter: BigInt(seen),
        lastUsedAt: new Date(),
        backedUp: verified.authenticationInfo.credentialBackedUp,
      },
    });
    if (updated.count !== 1 && seen > 0) {
      await onClone(passkey, seen);
      throw new PasskeyError('suspected_clone', 'This passkey’s signature counter did not advance.');
    }
    if (seen === 0) {
      await this.deps.store.db.passkey.update({
        where: { id: passkey.id },
        data: { lastUsedAt: new Date() },
      });
    }
    return { passkey, account, proof: proofOf(passkey.hardwareBound, passkey.id) };
  }

  private async remember(challenge: string, ceremony: Ceremony): Promise<void> {
    await this.deps.state.set(key(challenge), JSON.stringify(ceremony), CEREMONY_TTL_MS);
  }

  /**
   * Takes (consumes) the ceremony of the response's challenge and checks it was issued to this
   * browser, tenant and purpose. Consumed first, so a replay finds nothing whatever the outcome.
   */
  private async takeCeremony(
    expected: { purpose: CeremonyPurpose; tenantId: string; binding: string; accountId?: string },
    clientDataJSON: unknown,
  ): Promise<{ ceremony: Ceremony; challenge: string }> {
    let challenge: string;
    try {
      challenge = decodeClientDataJSON(String(clientDataJSON)).challenge;
    } catch {
      throw new PasskeyError('invalid_response', 'clientDataJSON is not valid base64url JSON.');
    }
    if (typeof challenge !== 'string' || !/^[A-Za-z0-9_-]{16,128}$/.test(challenge)) {
      throw new PasskeyError('invalid_response', 'clientDataJSON carries no valid challenge.');
    }
    const raw = await this.deps.state.take(key(challenge));
    if (!raw)
      throw new PasskeyError('invalid_challenge', 'The challenge is unknown, expired or already used.');
    const ceremony = JSON.parse(raw) as Ceremony;
    if (
      ceremony.purpose !== expected.purpose ||
      ceremony.tenantId !== expected.tenantId ||
      ceremony.binding !== expected.binding ||
      (expected.accountId !== undefined && ceremony.accountId !== expected.accountId)
    ) {
      throw new PasskeyError(
        'invalid_challenge',
        'The challenge was not issued to this browser for this step.',
      );
    }
    return { ceremony, challenge };
  }
}

type AuthenticatorTransportLike = 'ble' | 'cable' | 'hybrid' | 'internal' | 'nfc' | 'smart-card' | 'usb';

/** A random WebAuthn user handle (never the DID or the username). */
export const newUserHandle = () => randomBytes(32).toString('base64url');

function proofOf(hardwareBound: boolean, passkeyId?: string, attestation?: AttestationSummary): FactorProof {
  return {
    kind: 'passkey',
    // RFC 8176: hwk for a hardware-secured key, swk otherwise; `user` for the verified user.
    amr: [hardwareBound ? 'hwk' : 'swk', 'user'],
    phishingResistant: true,
    hardwareBound,
    userVerified: true,
    ...(passkeyId ? { passkeyId } : {}),
    ...(attestation ? { attestation } : {}),
  };
}

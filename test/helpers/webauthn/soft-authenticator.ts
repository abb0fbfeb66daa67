/**
 * A software WebAuthn authenticator plus client for tests and benchmarks: it answers
 * `PublicKeyCredentialCreationOptionsJSON` / `PublicKeyCredentialRequestOptionsJSON` with the JSON a
 * browser would send (`RegistrationResponseJSON` / `AuthenticationResponseJSON`), built byte by byte:
 * clientDataJSON, authenticatorData (WebAuthn §6.1), a CBOR attestation object with fmt `none` or
 * `packed` (self or full, §8.2), ES256 credential keys.
 *
 * Unlike a browser it does not strip attestation when the RP asks for `none`: the attestation given to
 * the constructor (or per call) is what comes out, so tests choose the format explicitly.
 *
 * Knobs for attack tests live in `CeremonyContext`: a different rpId hash, challenge, origin, type or
 * UV flag than an honest client would produce.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import type { AttestationChain } from './test-pki.ts';

/** COSE algorithm identifier of ES256. */
export const COSE_ES256 = -7;

/** The AAGUID a `SoftAuthenticator` reports unless told otherwise. */
export const SOFT_AUTHENTICATOR_AAGUID = '5f7b1a2e-3c4d-4e8f-9a0b-1c2d3e4f5a6b';

/**
 * What the authenticator attests with: fmt `none`, packed self attestation (signed with the credential
 * key), or packed full attestation with an `x5c` chain from test-pki (signed with the leaf key).
 */
export type SoftAttestation = 'none' | 'self' | { chain: Pick<AttestationChain, 'chain' | 'leafKey'> };

/** Construction options; every one has a default that passes strict verification. */
export interface SoftAuthenticatorOptions {
  /** AAGUID in authenticatorData (default `SOFT_AUTHENTICATOR_AAGUID`). */
  aaguid?: string;
  /** Default `'none'`. */
  attestation?: SoftAttestation;
  /** Set the UV flag (default true). */
  userVerified?: boolean;
  /** Set the UP flag (default true). */
  userPresent?: boolean;
  /** BE flag: a synced passkey (default false). */
  backupEligible?: boolean;
  /** BS flag (default false; only meaningful with `backupEligible`). */
  backedUp?: boolean;
  /** Added to a credential's counter per assertion (default 1; 0 mimics authenticators that report 0). */
  counterIncrement?: number;
  /** Transports reported at registration (default `['internal']`). */
  transports?: AuthenticatorTransport[];
  /** `authenticatorAttachment` in responses (default `'platform'`). */
  attachment?: 'platform' | 'cross-platform';
  /** Credential id length in bytes (default 32). */
  credentialIdLength?: number;
}

/** Per-call client context. Only `origin` is required; the rest are overrides for attack tests. */
export interface CeremonyContext {
  /** Origin the client puts in clientDataJSON, e.g. `https://login.example.com`. */
  origin: string;
  /**
   * Hash this rpId into authenticatorData instead of the options' one (the credential is still stored
   * and looked up under the options' rpId).
   */
  rpId?: string;
  /** Put this challenge in clientDataJSON instead of the options' one. */
  challenge?: string;
  /** clientDataJSON `type` (default `webauthn.create` / `webauthn.get`). */
  type?: string;
  /** clientDataJSON `crossOrigin` (default false). */
  crossOrigin?: boolean;
  /** Override the UV flag for this call. */
  userVerified?: boolean;
  /** Override the UP flag for this call. */
  userPresent?: boolean;
  /** Override the attestation for this registration. */
  attestation?: SoftAttestation;
  /** For assertions: use this credential (base64url id) even if the options would pick another. */
  credentialId?: string;
}

/** What the authenticator remembers about a credential (all passkeys are discoverable here). */
export interface SoftCredential {
  /** base64url credential id. */
  id: string;
  rpId: string;
  /** base64url user handle (`user.id` of the creation options). */
  userHandle: string;
  privateKey: KeyObject;
  /** COSE_Key of the public key, as registered. */
  cosePublicKey: Uint8Array;
  counter: number;
}

/** A `NotAllowedError` / `InvalidStateError` / `NotSupportedError` as a browser would reject with. */
export class SoftAuthenticatorError extends Error {
  constructor(
    override readonly name: 'NotAllowedError' | 'InvalidStateError' | 'NotSupportedError',
    message: string,
  ) {
    super(message);
  }
}

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

/** A software passkey authenticator holding any number of ES256 credentials. */
export class SoftAuthenticator {
  readonly aaguid: string;
  private readonly aaguidBytes: Buffer;
  private readonly options: Required<Omit<SoftAuthenticatorOptions, 'aaguid'>>;
  private readonly byId = new Map<string, SoftCredential>();
  private readonly byRp = new Map<string, SoftCredential[]>();
  private readonly rpIdHashes = new Map<string, Buffer>();

  constructor(options: SoftAuthenticatorOptions = {}) {
    this.aaguid = (options.aaguid ?? SOFT_AUTHENTICATOR_AAGUID).toLowerCase();
    this.aaguidBytes = Buffer.from(this.aaguid.replace(/-/g, ''), 'hex');
    if (this.aaguidBytes.length !== 16) throw new Error(`Not an AAGUID: ${options.aaguid}`);
    this.options = {
      attestation: options.attestation ?? 'none',
      userVerified: options.userVerified ?? true,
      userPresent: options.userPresent ?? true,
      backupEligible: options.backupEligible ?? false,
      backedUp: options.backedUp ?? false,
      counterIncrement: options.counterIncrement ?? 1,
      transports: options.transports ?? ['internal'],
      attachment: options.attachment ?? 'platform',
      credentialIdLength: options.credentialIdLength ?? 32,
    };
  }

  /** Every stored credential. */
  get credentials(): readonly SoftCredential[] {
    return [...this.byId.values()];
  }

  /** A stored credential by base64url id. */
  credential(id: string): SoftCredential | undefined {
    return this.byId.get(id);
  }

  /** Sets a credential's signature counter (e.g. to make the next assertion regress). */
  setCounter(id: string, value: number): void {
    const credential = this.byId.get(id);
    if (!credential) throw new Error(`No credential ${id}`);
    credential.counter = value >>> 0;
  }

  /** Forgets a credential (the user deleted the passkey). */
  deleteCredential(id: string): void {
    const credential = this.byId.get(id);
    if (!credential) return;
    this.byId.delete(id);
    const list = this.byRp.get(credential.rpId) ?? [];
    this.byRp.set(
      credential.rpId,
      list.filter((c) => c !== credential),
    );
  }

  /** `navigator.credentials.create()`: a new ES256 credential, attested as configured. */
  createCredential(
    options: PublicKeyCredentialCreationOptionsJSON,
    context: CeremonyContext,
  ): RegistrationResponseJSON {
    const rpId = options.rp.id ?? new URL(context.origin).hostname;
    if (!options.pubKeyCredParams.some((p) => p.type === 'public-key' && p.alg === COSE_ES256)) {
      throw new SoftAuthenticatorError('NotSupportedError', 'The relying party does not accept ES256.');
    }
    for (const excluded of options.excludeCredentials ?? []) {
      if (this.byId.get(excluded.id)?.rpId === rpId) {
        throw new SoftAuthenticatorError('InvalidStateError', 'A credential in excludeCredentials exists.');
      }
    }

    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cosePublicKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, COSE_ES256], // alg
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
    const idBytes = randomBytes(this.options.credentialIdLength);
    const credential: SoftCredential = {
      id: idBytes.toString('base64url'),
      rpId,
      userHandle: options.user.id,
      privateKey,
      cosePublicKey,
      counter: 0,
    };

    const clientDataJSON = this.clientData('webauthn.create', options.challenge, context);
    const attested = Buffer.alloc(18 + idBytes.length);
    this.aaguidBytes.copy(attested, 0);
    attested.writeUInt16BE(idBytes.length, 16);
    idBytes.copy(attested, 18);
    const authData = Buffer.concat([
      this.authDataHeader(context.rpId ?? rpId, FLAG_AT, context, credential.counter),
      attested,
      cosePublicKey,
    ]);

    const attestation = context.attestation ?? this.options.attestation;
    const attStmt = new Map<string, number | Uint8Array | Uint8Array[]>();
    let fmt = 'none';
    if (attestation !== 'none') {
      fmt = 'packed';
      const signed = Buffer.concat([authData, sha256(clientDataJSON)]);
      const key = attestation === 'self' ? privateKey : attestation.chain.leafKey;
      attStmt.set('alg', COSE_ES256);
      attStmt.set('sig', sign('sha256', signed, key));
      if (attestation !== 'self')
        attStmt.set(
          'x5c',
          attestation.chain.chain.map((der) => new Uint8Array(der)),
        );
    }
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, number | Uint8Array | Uint8Array[]>>([
        ['fmt', fmt],
        ['attStmt', attStmt],
        ['authData', authData],
      ]),
    );

    this.byId.set(credential.id, credential);
    const list = this.byRp.get(rpId);
    if (list) list.push(credential);
    else this.byRp.set(rpId, [credential]);

    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      authenticatorAttachment: this.options.attachment,
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        attestationObject: Buffer.from(attestationObject).toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        transports: [...this.options.transports],
        publicKeyAlgorithm: COSE_ES256,
        publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'),
      },
      clientExtensionResults: options.extensions?.credProps ? { credProps: { rk: true } } : {},
    };
  }

  /**
   * `navigator.credentials.get()`: with `allowCredentials`, the first of them this authenticator holds;
   * without, the most recently created credential for the rpId (a discoverable sign-in). The counter
   * rises by `counterIncrement` first.
   */
  getAssertion(
    options: PublicKeyCredentialRequestOptionsJSON,
    context: CeremonyContext,
  ): AuthenticationResponseJSON {
    const rpId = options.rpId ?? new URL(context.origin).hostname;
    const credential = this.pick(rpId, options, context.credentialId);
    credential.counter = (credential.counter + this.options.counterIncrement) >>> 0;

    const clientDataJSON = this.clientData('webauthn.get', options.challenge, context);
    const authData = this.authDataHeader(context.rpId ?? rpId, 0, context, credential.counter);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(clientDataJSON)]),
      credential.privateKey,
    );

    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      authenticatorAttachment: this.options.attachment,
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
    };
  }

  private pick(
    rpId: string,
    options: PublicKeyCredentialRequestOptionsJSON,
    forcedId: string | undefined,
  ): SoftCredential {
    if (forcedId) {
      const forced = this.byId.get(forcedId);
      if (!forced) throw new SoftAuthenticatorError('NotAllowedError', `No credential ${forcedId}.`);
      return forced;
    }
    const allowed = options.allowCredentials;
    if (allowed && allowed.length > 0) {
      for (const descriptor of allowed) {
        const found = this.byId.get(descriptor.id);
        if (found && found.rpId === rpId) return found;
      }
    } else {
      const list = this.byRp.get(rpId);
      const latest = list?.[list.length - 1];
      if (latest) return latest;
    }
    throw new SoftAuthenticatorError('NotAllowedError', `No credential for ${rpId}.`);
  }

  private clientData(type: string, challenge: string, context: CeremonyContext): Buffer {
    return Buffer.from(
      JSON.stringify({
        type: context.type ?? type,
        challenge: context.challenge ?? challenge,
        origin: context.origin,
        crossOrigin: context.crossOrigin ?? false,
      }),
    );
  }

  /** rpIdHash (32) | flags (1) | signCount (4, big-endian). */
  private authDataHeader(
    rpId: string,
    extraFlags: number,
    context: CeremonyContext,
    counter: number,
  ): Buffer {
    let rpIdHash = this.rpIdHashes.get(rpId);
    if (!rpIdHash) {
      rpIdHash = sha256(Buffer.from(rpId));
      this.rpIdHashes.set(rpId, rpIdHash);
    }
    let flags = extraFlags;
    if (context.userPresent ?? this.options.userPresent) flags |= FLAG_UP;
    if (context.userVerified ?? this.options.userVerified) flags |= FLAG_UV;
    if (this.options.backupEligible) flags |= FLAG_BE;
    if (this.options.backedUp) flags |= FLAG_BS;
    const header = Buffer.allocUnsafe(37);
    rpIdHash.copy(header, 0);
    header[32] = flags;
    header.writeUInt32BE(counter >>> 0, 33);
    return header;
  }
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

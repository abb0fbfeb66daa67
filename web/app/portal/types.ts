/**
 * The shapes the portal reads from the people's API (`/t/{tenant}/auth/session`, `/api/me/…`), as the
 * server's routes answer them (src/http/routes/auth.ts, me-*.ts).
 */

/** `GET /auth/session`: who is signed in and how strongly. */
export interface SignedIn {
  account: { id: string; did: string | null; username: string; displayName: string | null };
  session: {
    id: string;
    aal: 1 | 2 | 3;
    acr: string;
    amr: string[];
    phr: boolean;
    phrh: boolean;
    authTime: string;
    mustEnrolPasskey: boolean;
  };
}

/** A passkey as `GET /api/me/factors` lists it. */
export interface Passkey {
  id: string;
  name: string;
  fmt: string;
  modelName: string | null;
  attestationTrusted: boolean;
  hardwareBound: boolean;
  backupEligible: boolean;
  status: 'active' | 'disabled';
  createdAt: string;
  lastUsedAt: string | null;
}

/** `GET /api/me/factors`. */
export interface Factors {
  passkeys: Passkey[];
  totp: { enrolled: boolean; confirmed: boolean };
  recoveryCodes: { remaining: number };
}

/** One of `GET /api/me/sessions`. */
export interface SessionItem {
  id: string;
  current: boolean;
  aal: number;
  amr: string[];
  createdAt: string;
  lastSeenAt: string;
  userAgent: string | null;
  ip: string | null;
  /** The device the session was opened on, when known. */
  deviceId?: string | null;
}

export type { Device, Revocation } from '../lib/devices.ts';

/** One of `GET /api/me/credentials`. */
export interface HeldCredential {
  id: string;
  type: string;
  format: 'jwt_vc' | 'vc+jwt';
  issuedAt: string;
  expiresAt: string | null;
  audience: string | null;
  /** The issuer's DID. */
  issuer: string | null;
  status: { revoked: boolean; suspended: boolean };
}

/** `GET /api/me/credentials/:id`: the summary, the signed JWT and the decoded credential. */
export interface HeldCredentialDetail extends HeldCredential {
  jwt: string;
  credential: Record<string, unknown>;
}

/** One entry of `GET /api/me/activity`. */
export interface ActivityItem {
  id: string;
  at: string;
  type: string;
  title: string;
  detail: string | null;
  tone: 'info' | 'warn' | 'danger';
  /** "Lyon, France"; null when unknown. */
  place: string | null;
}

/** A verification method of a DID document. */
export interface VerificationMethod {
  id: string;
  type: string;
  controller?: string;
  blockchainAccountId?: string;
  publicKeyHex?: string;
  [key: string]: unknown;
}

/** `GET /api/me/did`: the DID, its document and where it is anchored. */
export interface MyDid {
  did: string;
  document: {
    id?: string;
    verificationMethod?: VerificationMethod[];
    authentication?: Array<string | VerificationMethod>;
    assertionMethod?: Array<string | VerificationMethod>;
    service?: Array<{ id: string; type: string; serviceEndpoint: unknown }>;
    [key: string]: unknown;
  } | null;
  metadata: { deactivated?: boolean; updated?: string; versionId?: string; [key: string]: unknown } | null;
  chain: {
    chainId: number;
    mode: 'embedded' | 'external';
    registry: string;
    blockNumber: number | null;
    reachable: boolean;
  };
  /** Recent chain jobs that changed the DID, newest first. */
  operations: Array<{
    id: string;
    summary: string;
    status: 'pending' | 'sent' | 'confirmed' | 'failed';
    txHash: string | null;
    createdAt: string;
    confirmedAt: string | null;
  }>;
  /** Why the document could not be read (the chain did not answer, …). */
  problem?: { code: string; detail: string };
}

/**
 * Issuing a tenant's credentials, in either format (`jwt_vc`: VC 1.1 JWT through did-jwt-vc; `vc+jwt`:
 * VC 2.0 secured with JOSE), each with a `revocation` and a `suspension` Bitstring Status List entry, and
 * recorded as an `IssuedCredential` (the holder lists and downloads it; status changes find it).
 *
 * Issuing one credential, in order:
 *   1. reserve      one random index per purpose, in memory, out of this instance's lease of the lists'
 *                   capacity (StatusLists.reserve: no entry written)
 *   2. sign         the credential with its status entries (a malformed credential fails here: nothing
 *                   was written)
 *   3. commit       one transaction: the record and its status entries (and an audit event when asked),
 *                   so there is never a status entry without its credential nor a recorded credential
 *                   without its entries; credentials signed while a commit runs share the next one
 *   4. retry        from 1 when another instance took one of the indexes meanwhile
 *
 * Status changes (`changeStatus`, `revokeForPasskey`) go through StatusLists.setStatus: revocation is
 * final, suspension is reversible, and only the tenant's own credentials are found.
 */
import { randomUUID } from 'node:crypto';
import { normalizeCredential } from 'did-jwt-vc';
import type { AuditActor } from '../audit/chain.ts';
import { recordEvent, type SecurityEventInput } from '../audit/events.ts';
import { ConflictError, TrustgateError } from '../errors.ts';
import type { IdentityAgent } from '../identity/agent.ts';
import type { Logger } from '../log.ts';
import type { ActiveSession } from '../sessions/sessions.ts';
import type { IssuedCredential, Passkey } from '../store/generated/postgres/client.ts';
import { isUniqueViolation, type Store, type Tx } from '../store/index.ts';
import { type CredentialDraft, encodeDraft } from './credential-draft.ts';
import { DEVICE_BINDING_CREDENTIAL, deviceBindingDraft } from './device-binding-credential.ts';
import { type JwsSigner, managedKeySigner } from './es256k.ts';
import { IDENTITY_ASSURANCE_CREDENTIAL, identityAssuranceDraft } from './identity-assurance-credential.ts';
import type { TenantIssuer, TenantIssuers } from './issuers.ts';
import {
  type ReservedAllocation,
  STATUS_PURPOSES,
  StatusAllocationConflict,
  type StatusLists,
  type StatusPurpose,
} from './status-lists.ts';
import type { BitstringStatusListEntry, StatusListPublisher } from './status-publication.ts';
import { issueVcJwt, VC_V2_CONTEXT, VcJwtError } from './vc-jose.ts';
import { issueJwtVc, VC_V1_CONTEXT } from './vc-jwt.ts';
import type { CredentialFormat } from './verify.ts';

export { DEVICE_BINDING_CREDENTIAL, IDENTITY_ASSURANCE_CREDENTIAL };

/** The formats Trustgate issues in; `jwt_vc` (VC 1.1) verifies with the most software today. */
export const ISSUE_FORMATS: readonly CredentialFormat[] = ['jwt_vc', 'vc+jwt'];
export const DEFAULT_FORMAT: CredentialFormat = 'jwt_vc';

/** Reservations tried before giving up (each retry follows a conflict with another instance). */
const MAX_ATTEMPTS = 8;
/** Longest credential id accepted from a caller. */
const MAX_ID_LENGTH = 512;
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|\\^`]+$/;

// ---------------------------------------------------------------------------------------------------------
// Errors

/** 404 `credential_not_found`: no credential with this id in this tenant (another tenant's included). */
export class CredentialNotFoundError extends TrustgateError {
  constructor() {
    super('credential_not_found', 404, 'Not found', 'No credential with this id was issued here.');
  }
}

/** 409 `credential_exists`: a credential with this id was issued already. */
export class CredentialExistsError extends ConflictError {
  constructor() {
    super('credential_exists', 'A credential with this id was issued already.');
  }
}

/** 400 `unsupported_status_purpose`: only `revocation` and `suspension` are kept. */
export class UnsupportedStatusPurposeError extends TrustgateError {
  constructor(purpose: string) {
    super(
      'unsupported_status_purpose',
      400,
      'Unsupported status purpose',
      `Status purpose ${JSON.stringify(purpose)} is not kept here; use revocation or suspension.`,
    );
  }
}

/** 400 `status_entry_mismatch`: the named status entry is not this credential's entry for the purpose. */
export class StatusEntryMismatchError extends TrustgateError {
  constructor() {
    super(
      'status_entry_mismatch',
      400,
      'Status entry mismatch',
      "The status entry named is not this credential's entry for that purpose.",
    );
  }
}

function invalidCredential(problems: string[]): VcJwtError {
  return new VcJwtError('invalid_credential', `The credential is invalid: ${problems.join('; ')}.`, {
    problems,
  });
}

// ---------------------------------------------------------------------------------------------------------
// Types

export interface CredentialIssuanceDeps {
  store: Store;
  agent: IdentityAgent;
  issuers: TenantIssuers;
  statusLists: StatusLists;
  publisher: Pick<StatusListPublisher, 'entryFor'>;
  log: Logger;
  /** How a tenant issuer signs (default: through the agent's KMS, `managedKeySigner`). */
  signer?: (issuer: TenantIssuer) => JwsSigner;
}

/** A credential just issued. */
export interface IssuedCredentialRef {
  /** The credential id (`urn:uuid:…` unless the caller chose one). */
  id: string;
  /** The signed credential: a compact JWS. */
  jwt: string;
  format: CredentialFormat;
  type: string;
  issuedAt: Date;
  expiresAt: Date | null;
}

/** Who asked (for the audit record of VC API calls). */
export type IssuanceActor = { kind: 'admin'; accountId: string } | { kind: 'client'; clientId: string };

/** A credential's current status bits. */
export interface CredentialStatusView {
  revoked: boolean;
  suspended: boolean;
}

/** One status change: set (`true`: revoke, suspend) or clear (`false`: reinstate) a purpose's bit. */
export interface StatusChangeRequest {
  purpose: string;
  value: boolean;
  /** When the caller named the entry (`statusListCredential`, `statusListIndex`), it must be this one. */
  statusListCredential?: string;
  statusListIndex?: string;
}

/** A credential's entry for one purpose, with its bit. */
export interface CredentialStatusEntryView extends BitstringStatusListEntry {
  status: boolean;
}

interface IssueSpec {
  tenantId: string;
  format: CredentialFormat;
  /** The unsigned credential in its format's data model, without `credentialStatus`. */
  credential: Record<string, unknown>;
  id: string;
  type: string;
  accountId?: string | null;
  subjectDid?: string | null;
  passkeyId?: string | null;
  audience?: string | null;
  expiresAt?: Date | null;
  /** Written with the credential (VC API calls). */
  event?: {
    type: string;
    accountId?: string | null;
    actor?: AuditActor | null;
    detail: Record<string, unknown>;
  };
}

// ---------------------------------------------------------------------------------------------------------
// The service

/** A signed credential waiting for its transaction (see `#commit`). */
interface PendingCommit {
  record: {
    id: string;
    tenantId: string;
    accountId: string | null;
    subjectDid: string | null;
    type: string;
    format: string;
    jwt: string;
    passkeyId: string | null;
    audience: string | null;
    issuedAt: Date;
    expiresAt: Date | null;
  };
  reserved: ReservedAllocation[];
  event?: SecurityEventInput;
  resolve(): void;
  reject(err: unknown): void;
}

/** Most credentials written by one transaction. */
const MAX_BATCH = 64;

export class CredentialIssuance {
  readonly #deps: CredentialIssuanceDeps;
  readonly #signers = new WeakMap<TenantIssuer, JwsSigner>();
  readonly #queue: PendingCommit[] = [];
  #draining = false;

  constructor(deps: CredentialIssuanceDeps) {
    this.#deps = deps;
  }

  /**
   * An `IdentityAssuranceCredential` for `account`, stating what `session` proved; for the OIDC provider
   * (with `audience` = the client id, the JWT's `aud`) and for sign-in and step-up when asked. The
   * session's passkey is read from the database unless the caller passes it.
   */
  async issueAssurance(input: {
    tenantId: string;
    account: { id: string; did: string };
    session: ActiveSession;
    audience?: string;
    format?: CredentialFormat;
    /** The passkey row of `session.row.passkeyId`, when the caller holds it already. */
    passkey?: Passkey | null;
  }): Promise<{ id: string; jwt: string }> {
    const { tenantId, account, session } = input;
    if (session.row.tenantId !== tenantId || session.row.accountId !== account.id) {
      throw new Error('invalid_argument: the session is not this account’s in this tenant');
    }
    const passkeyId = session.row.passkeyId;
    let passkey: Passkey | null | undefined =
      input.passkey && input.passkey.id === passkeyId ? input.passkey : undefined;
    if (passkey === undefined && passkeyId) {
      passkey = await this.#deps.store.db.passkey.findFirst({
        where: { id: passkeyId, accountId: account.id },
      });
    }
    const draft = identityAssuranceDraft({ did: account.did, session, passkey: passkey ?? null });
    const issued = await this.#issueDraft(tenantId, input.format ?? DEFAULT_FORMAT, draft, {
      accountId: account.id,
      audience: input.audience ?? null,
    });
    return { id: issued.id, jwt: issued.jwt };
  }

  /** `issueAssurance`, answering a stable error code instead of throwing (and logging the failure). */
  async tryIssueAssurance(
    input: Parameters<CredentialIssuance['issueAssurance']>[0],
  ): Promise<{ credential: { id: string; jwt: string; format: CredentialFormat } } | { error: string }> {
    try {
      const issued = await this.issueAssurance(input);
      return { credential: { ...issued, format: input.format ?? DEFAULT_FORMAT } };
    } catch (err) {
      return { error: this.#failed(err, IDENTITY_ASSURANCE_CREDENTIAL, input.tenantId) };
    }
  }

  /** A `DeviceBindingCredential` binding `passkey` (a DID URL on the owner's DID) to its owner. */
  async issueDeviceBinding(input: {
    account: { id: string; did: string; tenantId: string };
    passkey: Passkey;
    format?: CredentialFormat;
  }): Promise<{ id: string; jwt: string }> {
    const { account, passkey } = input;
    if (passkey.accountId !== account.id || passkey.tenantId !== account.tenantId) {
      throw new Error('invalid_argument: the passkey is not this account’s');
    }
    const draft = deviceBindingDraft({ did: account.did, passkey });
    const issued = await this.#issueDraft(account.tenantId, input.format ?? DEFAULT_FORMAT, draft, {
      accountId: account.id,
      passkeyId: passkey.id,
    });
    return { id: issued.id, jwt: issued.jwt };
  }

  /**
   * `issueDeviceBinding` for the registration flows, which must not fail once the passkey is stored:
   * a failure is logged and answered with null (the credential can be issued again; the passkey works).
   */
  async tryIssueDeviceBinding(
    input: Parameters<CredentialIssuance['issueDeviceBinding']>[0],
  ): Promise<{ id: string; jwt: string } | null> {
    try {
      return await this.issueDeviceBinding(input);
    } catch (err) {
      this.#failed(err, DEVICE_BINDING_CREDENTIAL, input.account.tenantId);
      return null;
    }
  }

  /**
   * Issues a credential a tenant admin or an authorized client sent through the VC API. The `@context`
   * decides the format (VC 2.0 → `vc+jwt`, VC 1.1 → `jwt_vc`; `options.format` may only confirm it). The
   * issuer must be absent or the tenant's issuer DID; `credentialStatus` and `proof` are the issuer's to
   * add. The credential id is `credential.id`, else `options.credentialId` (kept out of the credential),
   * else a new `urn:uuid:` put into it, so that its status can be changed later. Every problem is a 400
   * (`invalid_credential` listing them) before anything is written.
   */
  async issueRequested(input: {
    tenantId: string;
    credential: Record<string, unknown>;
    options?: { credentialId?: string; format?: CredentialFormat };
    actor: IssuanceActor;
  }): Promise<IssuedCredentialRef> {
    const { tenantId, options = {} } = input;
    const credential = { ...input.credential };
    const issuer = await this.#deps.issuers.get(tenantId);
    const problems: string[] = [];

    const context = credential['@context'];
    const first = Array.isArray(context) ? context[0] : context;
    const format: CredentialFormat | undefined =
      first === VC_V2_CONTEXT ? 'vc+jwt' : first === VC_V1_CONTEXT ? 'jwt_vc' : undefined;
    if (!format) problems.push(`@context: the first entry must be ${VC_V2_CONTEXT} or ${VC_V1_CONTEXT}`);
    if (format && options.format && options.format !== format) {
      problems.push(`options.format: ${options.format} does not fit the credential's @context`);
    }
    if (credential.proof !== undefined) problems.push('proof: the credential is already secured');
    if (credential.credentialStatus !== undefined) {
      problems.push('credentialStatus: status entries are assigned by the issuer');
    }
    const issuerId =
      typeof credential.issuer === 'object' ? (credential.issuer as { id?: unknown })?.id : credential.issuer;
    if (issuerId !== undefined && issuerId !== issuer.did) {
      problems.push(`issuer: this tenant issues as ${issuer.did}`);
    }
    if (credential.issuer === undefined) credential.issuer = issuer.did;

    const inlineId = credential.id;
    if (inlineId !== undefined && (typeof inlineId !== 'string' || !isUri(inlineId))) {
      problems.push('id: must be a URI');
    }
    if (options.credentialId !== undefined && !isUri(options.credentialId)) {
      problems.push('options.credentialId: must be a URI');
    }
    if (
      typeof inlineId === 'string' &&
      options.credentialId !== undefined &&
      inlineId !== options.credentialId
    ) {
      problems.push('options.credentialId: differs from credential.id');
    }
    if (problems.length > 0) throw invalidCredential(problems);

    let id = typeof inlineId === 'string' ? inlineId : options.credentialId;
    if (id === undefined) {
      id = `urn:uuid:${randomUUID()}`;
      credential.id = id;
    }
    const subjectDid = subjectIdOf(credential.credentialSubject);
    const holder =
      subjectDid?.startsWith('did:') === true
        ? await this.#deps.store.db.account.findUnique({
            where: { tenantId_did: { tenantId, did: subjectDid } },
            select: { id: true },
          })
        : null;
    const until = format === 'jwt_vc' ? credential.expirationDate : credential.validUntil;
    const expiresAt = typeof until === 'string' && !Number.isNaN(Date.parse(until)) ? new Date(until) : null;
    const type = mostSpecificType(credential.type);
    return this.#issue({
      tenantId,
      format: format!,
      credential,
      id,
      type,
      accountId: holder?.id ?? null,
      subjectDid: subjectDid ?? null,
      expiresAt,
      // The record concerns the holder (their activity shows it); who issued it is the actor.
      event: {
        type: 'credential.issued',
        accountId: holder?.id ?? null,
        actor: auditActor(input.actor),
        detail: { credentialId: id, type, format, via: 'vc_api', ...actorDetail(input.actor) },
      },
    });
  }

  /**
   * Changes a credential's status bits, all in one transaction; answers every entry of the credential
   * with its bit afterwards. 404 `credential_not_found` outside the tenant, 409 `revocation_is_final` for
   * reinstating a revoked credential, 400 for an unknown purpose or a mismatched entry.
   */
  async changeStatus(input: {
    tenantId: string;
    credentialId: string;
    changes: readonly StatusChangeRequest[];
    actor?: IssuanceActor;
  }): Promise<CredentialStatusEntryView[]> {
    const { tenantId, credentialId } = input;
    for (const change of input.changes) {
      if (!(STATUS_PURPOSES as readonly string[]).includes(change.purpose)) {
        throw new UnsupportedStatusPurposeError(change.purpose);
      }
    }
    const entries = await this.#deps.store.tx(async (tx) => {
      const record = await tx.issuedCredential.findFirst({
        where: { id: credentialId, tenantId },
        select: { id: true, accountId: true },
      });
      if (!record) throw new CredentialNotFoundError();
      const entries = await this.#entriesOf(tx, tenantId, [credentialId]);
      const changed: Array<{ purpose: string; value: boolean; changed: boolean }> = [];
      const planned = input.changes.map((change) => ({
        change,
        entry: entries.find((e) => e.purpose === change.purpose),
      }));
      // Lists are locked in id order (as everywhere), so concurrent changes never deadlock.
      planned.sort((a, b) => ((a.entry?.listId ?? '') < (b.entry?.listId ?? '') ? -1 : 1));
      for (const { change, entry } of planned) {
        if (!entry) throw new CredentialNotFoundError();
        const named = this.#deps.publisher.entryFor(entry);
        if (
          (change.statusListCredential !== undefined &&
            change.statusListCredential !== named.statusListCredential) ||
          (change.statusListIndex !== undefined && change.statusListIndex !== named.statusListIndex)
        ) {
          throw new StatusEntryMismatchError();
        }
        const result = await this.#deps.statusLists.setStatus(
          entry.listId,
          entry.index,
          change.value,
          { tenantId },
          tx,
        );
        changed.push({ purpose: change.purpose, value: change.value, changed: result.changed });
      }
      await recordEvent(tx, {
        tenantId,
        accountId: record.accountId,
        actor: input.actor ? auditActor(input.actor) : { kind: 'system' },
        type: 'credential.status_changed',
        detail: {
          credentialId,
          holderAccountId: record.accountId,
          changes: changed,
          ...(input.actor ? actorDetail(input.actor) : {}),
        },
      });
      return entries;
    });
    const bits = await this.#deps.statusLists.statuses(entries, { tenantId });
    return entries.map((entry, i) => ({ ...this.#deps.publisher.entryFor(entry), status: bits[i] ?? false }));
  }

  /**
   * Revokes every DeviceBindingCredential of passkey `passkeyId` (its removal now; device revocation
   * later). With `tx`, inside the caller's transaction, so the passkey cannot go without its credentials
   * being revoked. Answers how many credentials it revoked (already revoked ones count too).
   */
  async revokeForPasskey(tenantId: string, passkeyId: string, tx?: Tx): Promise<number> {
    const run = async (t: Tx) => {
      const records = await t.issuedCredential.findMany({
        where: { tenantId, passkeyId },
        select: { id: true },
      });
      if (records.length === 0) return 0;
      const entries = await this.#entriesOf(
        t,
        tenantId,
        records.map((r) => r.id),
      );
      let revoked = 0;
      for (const entry of entries) {
        if (entry.purpose !== 'revocation') continue;
        await this.#deps.statusLists.setStatus(entry.listId, entry.index, true, { tenantId }, t);
        revoked++;
      }
      return revoked;
    };
    return tx ? run(tx) : this.#deps.store.tx(run);
  }

  /** The holder's credentials in this tenant, newest first, each with its status. */
  async holderCredentials(
    tenantId: string,
    accountId: string,
  ): Promise<Array<IssuedCredential & { status: CredentialStatusView }>> {
    const records = await this.#deps.store.db.issuedCredential.findMany({
      where: { tenantId, accountId },
      orderBy: [{ issuedAt: 'desc' }, { id: 'asc' }],
      take: 500,
    });
    return this.#withStatus(tenantId, records);
  }

  /** One of the holder's credentials, or null (unknown, or someone else's). */
  async holderCredential(
    tenantId: string,
    accountId: string,
    id: string,
  ): Promise<(IssuedCredential & { status: CredentialStatusView }) | null> {
    const record = await this.#deps.store.db.issuedCredential.findFirst({
      where: { id, tenantId, accountId },
    });
    if (!record) return null;
    const [withStatus] = await this.#withStatus(tenantId, [record]);
    return withStatus ?? null;
  }

  /** The credential in its W3C JSON form: the vc+jwt payload, or the jwt_vc normalized (JwtProof2020). */
  static decode(record: Pick<IssuedCredential, 'jwt' | 'format'>): Record<string, unknown> {
    if (record.format === 'jwt_vc') {
      return normalizeCredential(record.jwt, false) as unknown as Record<string, unknown>;
    }
    const payload = record.jwt.split('.')[1] ?? '';
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  }

  // -------------------------------------------------------------------------------------------------------

  async #issueDraft(
    tenantId: string,
    format: CredentialFormat,
    draft: CredentialDraft,
    extra: Pick<IssueSpec, 'accountId' | 'passkeyId' | 'audience'>,
  ): Promise<IssuedCredentialRef> {
    const issuer = await this.#deps.issuers.get(tenantId);
    const id = `urn:uuid:${randomUUID()}`;
    return this.#issue({
      tenantId,
      format,
      credential: encodeDraft(draft, format, { id, issuer: issuer.did }),
      id,
      type: draft.type,
      subjectDid: draft.credentialSubject.id,
      expiresAt: draft.validUntil ?? null,
      ...extra,
    });
  }

  /** Reserve, sign, commit (see the module comment). */
  async #issue(spec: IssueSpec): Promise<IssuedCredentialRef> {
    if (spec.id.length > MAX_ID_LENGTH) throw invalidCredential([`id: at most ${MAX_ID_LENGTH} characters`]);
    const issuer = await this.#deps.issuers.get(spec.tenantId);
    const sign = this.#signerOf(issuer);
    for (let attempt = 1; ; attempt++) {
      const reserved = await this.#deps.statusLists.reserve(spec.tenantId, STATUS_PURPOSES);
      const issuedAt = new Date();
      let jwt: string;
      try {
        jwt = await this.#sign(
          spec,
          issuer,
          sign,
          reserved.map((r) => this.#deps.publisher.entryFor(r)),
        );
        await this.#commit({
          record: {
            id: spec.id,
            tenantId: spec.tenantId,
            accountId: spec.accountId ?? null,
            subjectDid: spec.subjectDid ?? null,
            type: spec.type,
            format: spec.format,
            jwt,
            passkeyId: spec.passkeyId ?? null,
            audience: spec.audience ?? null,
            issuedAt,
            expiresAt: spec.expiresAt ?? null,
          },
          reserved,
          ...(spec.event ? { event: { tenantId: spec.tenantId, ...spec.event } } : {}),
        });
      } catch (err) {
        this.#deps.statusLists.release(reserved);
        if (err instanceof StatusAllocationConflict && attempt < MAX_ATTEMPTS) continue;
        if (isUniqueViolation(err)) throw new CredentialExistsError();
        throw err;
      }
      return {
        id: spec.id,
        jwt,
        format: spec.format,
        type: spec.type,
        issuedAt,
        expiresAt: spec.expiresAt ?? null,
      };
    }
  }

  /**
   * Writes a signed credential with its status entries. Group commit: one transaction runs at a time per
   * instance, and the credentials signed meanwhile are written together by the next one, so a busy
   * issuer pays a transaction per batch rather than per credential. A batch that hits a unique key (a
   * taken id, an index another instance took) is written again one credential at a time, so each
   * caller gets exactly the answer a lone commit would have given.
   */
  #commit(item: Omit<PendingCommit, 'resolve' | 'reject'>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ...item, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, MAX_BATCH);
        if (batch.length === 1) {
          await this.#settle(batch[0]!, () => this.#write(batch));
          continue;
        }
        try {
          await this.#write(batch);
          for (const item of batch) item.resolve();
        } catch (err) {
          const conflict = isUniqueViolation(err) || err instanceof StatusAllocationConflict;
          for (const item of batch) {
            if (conflict) await this.#settle(item, () => this.#write([item]));
            else item.reject(err);
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  async #settle(item: PendingCommit, write: () => Promise<void>): Promise<void> {
    try {
      await write();
      item.resolve();
    } catch (err) {
      item.reject(err);
    }
  }

  /** One transaction: the records first (a taken id fails as such), then their entries, then events. */
  async #write(batch: readonly PendingCommit[]): Promise<void> {
    await this.#deps.store.tx(async (tx) => {
      await tx.issuedCredential.createMany({ data: batch.map((b) => b.record) });
      await this.#deps.statusLists.commitWithin(
        tx,
        batch.flatMap((b) => b.reserved),
        batch.flatMap((b) => b.reserved.map(() => b.record.id)),
      );
      for (const item of batch) if (item.event) await recordEvent(tx, item.event);
    });
  }

  #sign(
    spec: IssueSpec,
    issuer: TenantIssuer,
    sign: JwsSigner,
    credentialStatus: BitstringStatusListEntry[],
  ): Promise<string> {
    const credential = { ...spec.credential, credentialStatus };
    if (spec.format === 'jwt_vc') {
      return issueJwtVc({
        agent: this.#deps.agent,
        issuer,
        credential,
        sign,
        ...(spec.audience ? { audience: spec.audience } : {}),
      });
    }
    // VC-JOSE-COSE: the payload is the credential, so an audience is a member of it (the JWT `aud`).
    return issueVcJwt({
      credential: spec.audience ? { ...credential, aud: spec.audience } : credential,
      issuerDid: issuer.did,
      kid: issuer.verificationMethod,
      sign,
    });
  }

  #signerOf(issuer: TenantIssuer): JwsSigner {
    let sign = this.#signers.get(issuer);
    if (!sign) {
      sign = this.#deps.signer ? this.#deps.signer(issuer) : managedKeySigner(this.#deps.agent, issuer.kid);
      this.#signers.set(issuer, sign);
    }
    return sign;
  }

  /** Status entries of credentials (scoped to the tenant's lists), with their purposes. */
  async #entriesOf(db: Tx, tenantId: string, credentialIds: string[]) {
    const rows = await db.statusEntry.findMany({
      where: { credentialId: { in: credentialIds }, list: { tenantId } },
      select: { listId: true, index: true, credentialId: true, list: { select: { purpose: true } } },
      orderBy: [{ listId: 'asc' }, { index: 'asc' }],
    });
    return rows.map((r) => ({
      listId: r.listId,
      index: r.index,
      credentialId: r.credentialId,
      purpose: r.list.purpose as StatusPurpose,
    }));
  }

  async #withStatus<T extends { id: string }>(
    tenantId: string,
    records: T[],
  ): Promise<Array<T & { status: CredentialStatusView }>> {
    if (records.length === 0) return [];
    const entries = await this.#entriesOf(
      this.#deps.store.db as unknown as Tx,
      tenantId,
      records.map((r) => r.id),
    );
    const bits = await this.#deps.statusLists.statuses(entries, { tenantId });
    const status = new Map<string, CredentialStatusView>();
    entries.forEach((entry, i) => {
      if (!entry.credentialId) return;
      const view = status.get(entry.credentialId) ?? { revoked: false, suspended: false };
      if (bits[i] && entry.purpose === 'revocation') view.revoked = true;
      if (bits[i] && entry.purpose === 'suspension') view.suspended = true;
      status.set(entry.credentialId, view);
    });
    return records.map((r) => ({ ...r, status: status.get(r.id) ?? { revoked: false, suspended: false } }));
  }

  /** Logs a failed issuance (never the credential) and answers a code the client may see. */
  #failed(err: unknown, type: string, tenantId: string): string {
    const code = err instanceof TrustgateError && err.status < 500 ? err.code : 'credential_unavailable';
    this.#deps.log.warn({ err, tenantId, type }, 'issuing a credential failed');
    return code;
  }
}

function isUri(value: string): boolean {
  return value.length <= MAX_ID_LENGTH && URI.test(value);
}

function subjectIdOf(subject: unknown): string | undefined {
  const first = Array.isArray(subject) ? subject[0] : subject;
  const id = (first as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** The credential's most specific type: its last type other than `VerifiableCredential`. */
function mostSpecificType(type: unknown): string {
  const types = (Array.isArray(type) ? type : [type]).filter(
    (t): t is string => typeof t === 'string' && t !== 'VerifiableCredential',
  );
  return (types.at(-1) ?? 'VerifiableCredential').slice(0, 200);
}

/** The audit record's actor for who asked (an admin or an OAuth client). */
function auditActor(actor: IssuanceActor): AuditActor {
  return actor.kind === 'admin'
    ? { kind: 'admin', id: actor.accountId }
    : { kind: 'client', id: actor.clientId };
}

function actorDetail(actor: IssuanceActor): Record<string, string> {
  return actor.kind === 'admin'
    ? { by: 'admin', adminAccountId: actor.accountId }
    : { by: 'client', clientId: actor.clientId };
}

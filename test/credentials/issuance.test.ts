/**
 * CredentialIssuance on a real service's store and agent: credentials signed while a commit runs share
 * the next transaction (group commit) and a conflict in a batch gives each caller the answer a lone
 * commit would; an index another instance took between reservation and commit is picked again and the
 * credential re-signed with it; a credential that cannot be signed leaves nothing behind.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialIssuance, type CredentialIssuanceDeps } from '../../src/credentials/issuance.ts';
import type { ReservedAllocation, StatusLists } from '../../src/credentials/status-lists.ts';
import { createLogger } from '../../src/log.ts';
import type { Store } from '../../src/store/index.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let t: TestService;
let tenantId: string;

beforeAll(async () => {
  t = await startTestService();
  tenantId = (await t.service.store.db.tenant.findUniqueOrThrow({ where: { slug: 'default' } })).id;
});
afterAll(async () => {
  await t?.destroy();
});

/** An issuance over the service's parts, with the store's transactions counted. */
function countedIssuance(overrides: Partial<CredentialIssuanceDeps> = {}) {
  const store = t.service.store;
  const counted = { transactions: 0 };
  const countingStore: Store = {
    ...store,
    dialect: store.dialect,
    db: store.db,
    tx: (fn, options) => {
      counted.transactions++;
      return store.tx(fn, options);
    },
  };
  const issuance = new CredentialIssuance({
    store: countingStore,
    agent: t.service.agent,
    issuers: t.service.credentials.issuers,
    statusLists: t.service.credentials.statusLists,
    publisher: t.service.credentials.statusPublisher,
    log: createLogger({ level: 'silent' }),
    ...overrides,
  });
  return { issuance, counted };
}

const credential = (extra: Record<string, unknown> = {}) => ({
  '@context': ['https://www.w3.org/ns/credentials/v2'],
  type: ['VerifiableCredential', 'TestCredential'],
  credentialSubject: { id: 'did:example:subject' },
  ...extra,
});
const actor = { kind: 'client', clientId: 'test' } as const;
/** The status entries of a VC 2.0 credential JWT. */
const statusOf = (jwt: string) =>
  (
    JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      credentialStatus: Array<{ statusListIndex: string; statusPurpose: string }>;
    }
  ).credentialStatus;

describe('group commit', () => {
  it('writes credentials signed while a commit runs in a shared transaction', async () => {
    const { issuance, counted } = countedIssuance();
    const issued = await Promise.all(
      Array.from({ length: 24 }, () =>
        issuance.issueRequested({ tenantId, credential: credential(), actor }),
      ),
    );
    expect(new Set(issued.map((c) => c.id)).size).toBe(24);
    expect(counted.transactions).toBeLessThan(24);
    const ids = issued.map((c) => c.id);
    expect(await t.service.store.db.issuedCredential.count({ where: { id: { in: ids } } })).toBe(24);
    const entries = await t.service.store.db.statusEntry.findMany({ where: { credentialId: { in: ids } } });
    expect(entries).toHaveLength(48);
    // Each stored credential carries exactly the entries written for it.
    for (const c of issued) {
      const signed = statusOf(c.jwt)
        .map((e) => Number(e.statusListIndex))
        .sort();
      const stored = entries
        .filter((e) => e.credentialId === c.id)
        .map((e) => e.index)
        .sort();
      expect(stored).toEqual(signed);
    }
  });

  it('answers a taken id in a batch with credential_exists and still issues the rest of the batch', async () => {
    const { issuance, counted } = countedIssuance();
    const id = `urn:uuid:${randomUUID()}`;
    const results = await Promise.allSettled(
      Array.from({ length: 16 }, (_, i) =>
        issuance.issueRequested({ tenantId, credential: credential(i % 8 === 3 ? { id } : {}), actor }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(15);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'credential_exists', status: 409 });
    // The batch was written, failed on the id, and was written again one by one.
    expect(counted.transactions).toBeGreaterThan(2);
    expect(await t.service.store.db.statusEntry.count({ where: { credentialId: id } })).toBe(2);
  });
});

describe('conflicts with other instances', () => {
  it('picks another index when one was taken after the reservation, and signs the credential again with it', async () => {
    const lists = t.service.credentials.statusLists;
    let stolen: ReservedAllocation | undefined;
    // Another instance takes the first reserved revocation index before this one commits.
    const racing = Object.create(lists) as StatusLists;
    racing.reserve = async (tenant, purposes) => {
      const reserved = await lists.reserve(tenant, purposes);
      if (!stolen) {
        stolen = reserved[0]!;
        await t.service.store.db.statusEntry.create({
          data: { listId: stolen.listId, index: stolen.index, credentialId: 'another-instance' },
        });
      }
      return reserved;
    };
    racing.release = (reserved) => lists.release(reserved);
    racing.commitWithin = (tx, reserved, ids) => lists.commitWithin(tx, reserved, ids);
    const { issuance, counted } = countedIssuance({ statusLists: racing });
    const issued = await issuance.issueRequested({ tenantId, credential: credential(), actor });
    expect(counted.transactions).toBe(2);
    const entries = await t.service.store.db.statusEntry.findMany({ where: { credentialId: issued.id } });
    expect(entries).toHaveLength(2);
    expect(entries.some((e) => e.listId === stolen!.listId && e.index === stolen!.index)).toBe(false);
    const signed = statusOf(issued.jwt).find((e) => e.statusPurpose === 'revocation')!;
    expect(Number(signed.statusListIndex)).not.toBe(stolen!.index);
    expect(entries.map((e) => e.index)).toContain(Number(signed.statusListIndex));
    const holder = await t.service.store.db.statusEntry.findUniqueOrThrow({
      where: { listId_index: { listId: stolen!.listId, index: stolen!.index } },
    });
    expect(holder.credentialId).toBe('another-instance');
  });

  it('writes nothing for a credential that cannot be signed', async () => {
    const { issuance, counted } = countedIssuance();
    const before = await t.service.store.db.statusEntry.count();
    await expect(
      issuance.issueRequested({
        tenantId,
        credential: credential({ validFrom: 'yesterday' }),
        actor,
      }),
    ).rejects.toMatchObject({ code: 'invalid_credential', status: 400 });
    expect(counted.transactions).toBe(0);
    expect(await t.service.store.db.statusEntry.count()).toBe(before);
  });
});

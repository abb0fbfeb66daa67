/**
 * The audit hash chain at the store: each record is appended in the transaction of the change it
 * records (a rolled-back change leaves neither a record nor a gap), concurrent appends get distinct,
 * consecutive sequence numbers on every store, each hash is SHA-256 over the RFC 8785 canonical JSON of
 * the record, and nothing secret can be recorded.
 */
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/canonical-json.ts';
import { AuditSecretError, GENESIS_HASH, recomputeHash } from '../../src/audit/chain.ts';
import { recordEvent } from '../../src/audit/events.ts';
import { verifyAuditChain } from '../../src/audit/verify.ts';
import type { Store } from '../../src/store/index.ts';
import { storeWirings, useMigratedStore } from '../helpers/stores.ts';

describe('canonical JSON (RFC 8785)', () => {
  it('sorts members by UTF-16 code units, drops whitespace and undefined members', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, '\u20ac': 1, '\r': 2, é: 3 })).toBe(
      '{"\\r":2,"a":[true,null,"x"],"b":1,"é":3,"€":1}',
    );
  });

  it('serializes numbers the ECMAScript way (RFC 8785 section 3.2.2.3 samples)', () => {
    expect(canonicalJson([1e21, 1e-7, 0.000001, -0, 333333333.3333333, 4.5, 2 ** 53])).toBe(
      '[1e+21,1e-7,0.000001,0,333333333.3333333,4.5,9007199254740992]',
    );
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson({ a: 1n })).toThrow(/bigint/);
    expect(() => canonicalJson({ a: new Date() })).toThrow(/Date/);
  });
});

async function rows(store: Store, tenantId: string) {
  return store.db.securityEvent.findMany({ where: { tenantId }, orderBy: { seq: 'asc' } });
}

for (const wiring of storeWirings('audit chain')) {
  describe(`audit chain on ${wiring.name}`, () => {
    const h = useMigratedStore(wiring);

    it('chains records: seq from 1, genesis prevHash, each hash over the canonical record', async () => {
      const tenantId = randomUUID();
      await recordEvent(h.store.db, { tenantId, type: 'a.one', detail: { n: 1 }, ip: '192.0.2.1' });
      await recordEvent(h.store, { tenantId, type: 'a.two', actor: { kind: 'admin', id: 'x' } });
      await h.store.tx((tx) => recordEvent(tx, { tenantId, accountId: 'acc', type: 'a.three' }));
      const chain = await rows(h.store, tenantId);
      expect(chain.map((r) => r.seq)).toEqual([1, 2, 3]);
      expect(chain[0]!.prevHash).toBe(GENESIS_HASH);
      expect(chain[1]!.prevHash).toBe(chain[0]!.hash);
      expect(chain[2]!.prevHash).toBe(chain[1]!.hash);
      // Independently: SHA-256 of the canonical JSON of exactly these fields.
      const first = chain[0]!;
      const expected = createHash('sha256')
        .update(
          `{"accountId":null,"actor":null,"createdAt":"${first.createdAt.toISOString()}","detail":{"n":1},` +
            `"ip":"192.0.2.1","prevHash":"${GENESIS_HASH}","seq":1,"tenantId":"${tenantId}","type":"a.one"}`,
        )
        .digest('hex');
      expect(first.hash).toBe(expected);
      for (const row of chain) expect(recomputeHash(row)).toBe(row.hash);
      expect(JSON.parse(chain[1]!.actor!)).toEqual({ kind: 'admin', id: 'x' });
      const head = await h.store.db.auditHead.findUniqueOrThrow({ where: { tenantId } });
      expect(head).toMatchObject({ seq: 3, hash: chain[2]!.hash });
    });

    it('appends in the change’s transaction: a rolled-back change leaves no record and no gap', async () => {
      const tenantId = randomUUID();
      await recordEvent(h.store.db, { tenantId, type: 'before' });
      await expect(
        h.store.tx(async (tx) => {
          await recordEvent(tx, { tenantId, type: 'doomed' });
          throw new Error('the change fails after its record was appended');
        }),
      ).rejects.toThrow('the change fails');
      await recordEvent(h.store.db, { tenantId, type: 'after' });
      const chain = await rows(h.store, tenantId);
      expect(chain.map((r) => [r.seq, r.type])).toEqual([
        [1, 'before'],
        [2, 'after'],
      ]);
      expect((await verifyAuditChain(h.store, tenantId, { anchors: null })).ok).toBe(true);
    });

    it('gives concurrent appends of one tenant distinct, consecutive seqs (also the very first ones)', async () => {
      const tenantId = randomUUID();
      const n = 40;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          i % 2 === 0
            ? recordEvent(h.store.db, { tenantId, type: 'burst', detail: { i } })
            : h.store.tx(async (tx) => {
                await tx.securityEvent.count({ where: { tenantId } });
                await recordEvent(tx, { tenantId, type: 'burst', detail: { i } });
              }),
        ),
      );
      const chain = await rows(h.store, tenantId);
      expect(chain.map((r) => r.seq)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(new Set(chain.map((r) => (JSON.parse(r.detail) as { i: number }).i)).size).toBe(n);
      const result = await verifyAuditChain(h.store, tenantId, { anchors: null, batchSize: 7 });
      expect(result).toMatchObject({ ok: true, records: n });
    });

    it('keeps one chain per tenant', async () => {
      const a = randomUUID();
      const b = randomUUID();
      await recordEvent(h.store.db, { tenantId: a, type: 'x' });
      await recordEvent(h.store.db, { tenantId: b, type: 'x' });
      await recordEvent(h.store.db, { tenantId: a, type: 'y' });
      expect((await rows(h.store, a)).map((r) => r.seq)).toEqual([1, 2]);
      expect((await rows(h.store, b)).map((r) => [r.seq, r.prevHash])).toEqual([[1, GENESIS_HASH]]);
    });

    it('refuses detail keys that name secrets, at any depth, and writes nothing', async () => {
      const tenantId = randomUUID();
      for (const detail of [
        { accessToken: 'x' },
        { refresh_token: 'x' },
        { code: '123456' },
        { recoveryCodes: ['a'] },
        { clientSecret: 'x' },
        { nested: { password: 'x' } },
        { list: [{ assertion: 'x' }] },
        { totp: 'x' },
      ]) {
        await expect(recordEvent(h.store.db, { tenantId, type: 'leak', detail })).rejects.toBeInstanceOf(
          AuditSecretError,
        );
      }
      expect(await h.store.db.securityEvent.count({ where: { tenantId } })).toBe(0);
      expect(await h.store.db.auditHead.count({ where: { tenantId } })).toBe(0);
      await recordEvent(h.store.db, {
        tenantId,
        type: 'ok',
        detail: { error: 'invalid_otp', reasons: ['new_device'], passkeyId: 'p', factor: 'totp' },
      });
      expect(await h.store.db.securityEvent.count({ where: { tenantId } })).toBe(1);
    });
  });
}

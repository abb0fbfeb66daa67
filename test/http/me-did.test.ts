/**
 * `GET /t/:tenant/api/me/did`: the signed-in person's DID, resolved by the service's own resolver on the
 * embedded chain; a DID operation run through the real flow (relayed, mined) appears with its status
 * and changes the document. When the chain does not answer the endpoint still answers 200, with
 * `reachable: false`, no document and a problem; a failed resolution is a problem too, never a 500. Only
 * the person's own DID and operations; no session → 401.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ServiceUnavailableError } from '../../src/errors.ts';
import { AccountJobs } from '../../src/flows/account-jobs.ts';
import { runDidOperation } from '../../src/flows/did-operation.ts';
import { Accounts } from '../../src/identity/accounts.ts';
import { AuthClient } from '../helpers/auth-client.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

let svc: TestService;
let person: AuthClient;
let accountId: string;

interface MyDid {
  did: string;
  document: { id: string; service?: Array<{ type: string; serviceEndpoint: unknown }> } | null;
  metadata: Record<string, unknown>;
  chain: { chainId: number; mode: string; registry: string; blockNumber: number | null; reachable: boolean };
  operations: Array<{
    id: string;
    kind: string;
    summary: string;
    status: string;
    blockNumber: number | null;
  }>;
  problem?: { code: string; detail: string };
}

const PORTAL = 'https://portal.example/me';

beforeAll(async () => {
  svc = await startTestService({ AUTH_RATE_LIMIT_PER_MINUTE: '100000' });
  person = new AuthClient(svc.url);
  const up = await person.signUp('did-person');
  expect(up.status).toBe(201);
  accountId = (up.body.account as { id: string }).id;
}, 60_000);
afterAll(async () => {
  vi.restoreAllMocks();
  await svc?.destroy();
});

const myDid = (client: AuthClient) => client.call<MyDid>('GET', client.t('/api/me/did'));

/** Publishes a service endpoint on the person's DID through the DID-operation flow; waits until mined. */
async function publishService() {
  const s = svc.service;
  const accounts = new Accounts(s.store, s.agent, s.chain.chainId);
  const deps = {
    accounts,
    accountJobs: new AccountJobs(s.store, s.outbox, s.state, accounts),
    agent: s.agent,
    chain: s.chain,
    outbox: s.outbox,
  };
  const account = await s.store.db.account.findUniqueOrThrow({ where: { id: accountId } });
  const job = await runDidOperation(deps, account, {
    operation: 'setAttribute',
    args: { name: 'did/svc/Portal', value: `0x${Buffer.from(PORTAL).toString('hex')}`, validity: 86_400 },
    idempotencyKey: 'portal-service-1',
  });
  const done = await s.outbox.waitFor(job.id, 20_000);
  expect(done.status).toBe('confirmed');
  return done;
}

describe('my DID', () => {
  it('answers the DID, its resolved document and the chain it lives on', async () => {
    const r = await myDid(person);
    expect(r.status).toBe(200);
    expect(r.body.did).toMatch(/^did:ethr:0x7a69:0x[0-9a-f]{40}$/);
    expect(r.body.document!.id).toBe(r.body.did);
    expect(r.body.chain).toMatchObject({
      chainId: 31337,
      mode: 'embedded',
      registry: svc.service.chain.registryAddress,
      reachable: true,
    });
    expect(r.body.chain.blockNumber).toBeGreaterThanOrEqual(0);
    expect(r.body.operations).toEqual([]);
    expect(r.body.problem).toBeUndefined();
  });

  it('lists a DID operation with its status once mined, and the document shows the change', async () => {
    const job = await publishService();
    // The did:ethr index follows the chain by polling: the change shows within a moment.
    let r = await myDid(person);
    for (let i = 0; i < 50 && !r.body.document?.service; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      r = await myDid(person);
    }
    expect(r.body.operations).toHaveLength(1);
    expect(r.body.operations[0]).toMatchObject({
      id: job.id,
      summary: 'A detail was published on your DID',
      status: 'confirmed',
      blockNumber: job.blockNumber,
    });
    expect(r.body.operations[0]!.kind).toMatch(/^setAttribute/);
    expect(r.body.document!.service?.map((s) => s.serviceEndpoint)).toContain(PORTAL);
    expect(r.body.metadata.versionId).toBe(String(job.blockNumber));
    expect(typeof r.body.metadata.updated).toBe('string');
  });

  it('still answers 200 when the chain does not answer: unreachable, no document, a problem', async () => {
    const ping = vi.spyOn(svc.service.chain, 'ping').mockRejectedValue(new Error('connect ECONNREFUSED'));
    const resolve = vi.spyOn(svc.service.resolver, 'resolve');
    try {
      const r = await myDid(person);
      expect(r.status).toBe(200);
      expect(r.body.chain).toMatchObject({ reachable: false, blockNumber: null, chainId: 31337 });
      expect(r.body.document).toBeNull();
      expect(r.body.problem).toEqual({
        code: 'chain_unavailable',
        detail: 'The chain did not answer; the DID document cannot be read now.',
      });
      // What the service knows without the chain is still there.
      expect(r.body.operations).toHaveLength(1);
      expect(resolve).not.toHaveBeenCalled();
    } finally {
      ping.mockRestore();
      resolve.mockRestore();
    }
  });

  it('shows a failed resolution as a problem without its internals, never a 500', async () => {
    const resolve = vi
      .spyOn(svc.service.resolver, 'resolve')
      .mockRejectedValue(new ServiceUnavailableError('upstream RPC at 10.0.0.7 refused'));
    try {
      const r = await myDid(person);
      expect(r.status).toBe(200);
      expect(r.body.chain.reachable).toBe(true);
      expect(r.body.document).toBeNull();
      expect(r.body.problem).toEqual({ code: 'service_unavailable', detail: 'Service unavailable' });
      expect(JSON.stringify(r.body)).not.toContain('10.0.0.7');
    } finally {
      resolve.mockRestore();
    }
  });

  it('shows only the person’s own DID and operations; 401 without a session', async () => {
    const other = new AuthClient(svc.url);
    expect((await other.signUp('other-did-person')).status).toBe(201);
    const theirs = await myDid(other);
    const mine = await myDid(person);
    expect(theirs.body.did).not.toBe(mine.body.did);
    expect(theirs.body.operations).toEqual([]);
    expect((await new AuthClient(svc.url).call('GET', '/t/default/api/me/did')).status).toBe(401);
  });
});

import { getDidKeyResolver } from '@veramo/did-provider-key';
import { createJWT, ES256KSigner } from 'did-jwt';
import { type BaseWallet, getBytes, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DidAuthenticator } from '../../src/identity/did-auth.ts';
import { createMemoryState } from '../../src/state/memory.ts';
import { deployRegistry } from '../contracts/registry-fixture.ts';
import { didKeyHolder } from '../helpers/did-key.ts';
import { type InProcessChain, startInProcessChain } from '../helpers/hardhat-network.ts';
import { stockEthrResolver } from '../helpers/stock-resolver.ts';

const AUDIENCE = 'http://localhost:3000/t/default';

let chain: InProcessChain;
let auth: DidAuthenticator;
let now = Date.now();

beforeAll(async () => {
  chain = await startInProcessChain();
  const registry = await deployRegistry(chain.signers[0]!);
  const resolver = stockEthrResolver(chain.ethers, await registry.getAddress(), {
    extra: getDidKeyResolver(),
  });
  auth = new DidAuthenticator(createMemoryState(), resolver, () => now);
});
afterAll(() => chain?.close());

async function ethrJwt(wallet: BaseWallet, claims: Record<string, unknown>) {
  const did = `did:ethr:0x7a69:${wallet.address}`;
  const jwt = await createJWT(
    { aud: AUDIENCE, exp: Math.floor(now / 1000) + 120, ...claims },
    { issuer: did, signer: ES256KSigner(getBytes(wallet.privateKey)) },
    { alg: 'ES256K' },
  );
  return { did, jwt };
}

describe('DID sign-in', () => {
  it('accepts an ES256K JWT from a did:ethr holder carrying the nonce and audience', async () => {
    const c = await auth.challenge(AUDIENCE);
    const { did, jwt } = await ethrJwt(Wallet.createRandom(), { nonce: c.nonce });
    expect(await auth.verify({ nonce: c.nonce, jwt }, AUDIENCE)).toEqual({ did, method: 'jwt' });
  });

  for (const kind of ['ed25519', 'p256'] as const) {
    it(`accepts a JWT from a did:key (${kind}) holder`, async () => {
      const holder = didKeyHolder(kind);
      const c = await auth.challenge(AUDIENCE);
      const jwt = await createJWT(
        { aud: AUDIENCE, nonce: c.nonce, exp: Math.floor(now / 1000) + 60 },
        { issuer: holder.did, signer: holder.signer },
        { alg: holder.alg },
      );
      expect((await auth.verify({ nonce: c.nonce, jwt }, AUDIENCE)).did).toBe(holder.did);
    });
  }

  it('accepts a verifiable presentation JWT whose holder is its signer', async () => {
    const c = await auth.challenge(AUDIENCE);
    const wallet = Wallet.createRandom();
    const did = `did:ethr:0x7a69:${wallet.address}`;
    const { jwt } = await ethrJwt(wallet, {
      nonce: c.nonce,
      vp: {
        '@context': ['https://www.w3.org/2018/credentials/v1'],
        type: ['VerifiablePresentation'],
        holder: did,
      },
    });
    expect((await auth.verify({ nonce: c.nonce, jwt }, AUDIENCE)).did).toBe(did);
  });

  it('accepts an EIP-191 signature of the challenge message by the did:ethr owner', async () => {
    const wallet = Wallet.createRandom();
    const c = await auth.challenge(AUDIENCE);
    const signature = await wallet.signMessage(c.message);
    const did = `did:ethr:0x7a69:${wallet.address}`;
    expect(await auth.verify({ nonce: c.nonce, did, signature }, AUDIENCE)).toEqual({
      did,
      method: 'eip191',
    });
  });
});

describe('DID sign-in attacks fail', () => {
  it('refuses a replayed challenge', async () => {
    const c = await auth.challenge(AUDIENCE);
    const { jwt } = await ethrJwt(Wallet.createRandom(), { nonce: c.nonce });
    await auth.verify({ nonce: c.nonce, jwt }, AUDIENCE);
    await expect(auth.verify({ nonce: c.nonce, jwt }, AUDIENCE)).rejects.toMatchObject({
      code: 'invalid_challenge',
    });
  });

  it('lets exactly one of ten concurrent uses of a challenge succeed', async () => {
    const c = await auth.challenge(AUDIENCE);
    const { jwt } = await ethrJwt(Wallet.createRandom(), { nonce: c.nonce });
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => auth.verify({ nonce: c.nonce, jwt }, AUDIENCE)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('refuses an unknown nonce and a challenge issued for another audience', async () => {
    const { jwt } = await ethrJwt(Wallet.createRandom(), { nonce: 'made-up' });
    await expect(auth.verify({ nonce: 'made-up', jwt }, AUDIENCE)).rejects.toMatchObject({
      code: 'invalid_challenge',
    });
    const c = await auth.challenge('http://localhost:3000/t/other');
    const other = await ethrJwt(Wallet.createRandom(), { nonce: c.nonce });
    await expect(auth.verify({ nonce: c.nonce, jwt: other.jwt }, AUDIENCE)).rejects.toMatchObject({
      code: 'invalid_challenge',
    });
  });

  it('refuses an expired challenge', async () => {
    const c = await auth.challenge(AUDIENCE);
    const { jwt } = await ethrJwt(Wallet.createRandom(), { nonce: c.nonce });
    now += 6 * 60_000;
    try {
      await expect(auth.verify({ nonce: c.nonce, jwt }, AUDIENCE)).rejects.toMatchObject({
        code: 'invalid_challenge',
      });
    } finally {
      now -= 6 * 60_000;
    }
  });

  it('refuses a JWT without the nonce, for another audience, or without expiry', async () => {
    for (const claims of [{}, { aud: 'https://evil.example' }, { exp: undefined }]) {
      const c = await auth.challenge(AUDIENCE);
      const { jwt } = await ethrJwt(Wallet.createRandom(), {
        nonce: 'aud' in claims || 'exp' in claims ? c.nonce : undefined,
        ...claims,
      });
      await expect(auth.verify({ nonce: c.nonce, jwt }, AUDIENCE)).rejects.toMatchObject({
        code: 'invalid_proof',
      });
    }
  });

  it('refuses a JWT whose issuer is a DID URL (e.g. pinned to an older document version)', async () => {
    const c = await auth.challenge(AUDIENCE);
    const wallet = Wallet.createRandom();
    const jwt = await createJWT(
      { aud: AUDIENCE, nonce: c.nonce, exp: Math.floor(now / 1000) + 60 },
      {
        issuer: `did:ethr:0x7a69:${wallet.address}?versionId=1`,
        signer: ES256KSigner(getBytes(wallet.privateKey)),
      },
      { alg: 'ES256K' },
    );
    await expect(auth.verify({ nonce: c.nonce, jwt }, AUDIENCE)).rejects.toMatchObject({
      code: 'invalid_proof',
    });
  });

  it('refuses a JWT that claims a DID whose key did not sign it', async () => {
    const c = await auth.challenge(AUDIENCE);
    const victim = Wallet.createRandom();
    const jwt = await createJWT(
      { aud: AUDIENCE, nonce: c.nonce, exp: Math.floor(now / 1000) + 60 },
      {
        issuer: `did:ethr:0x7a69:${victim.address}`,
        signer: ES256KSigner(getBytes(Wallet.createRandom().privateKey)),
      },
      { alg: 'ES256K' },
    );
    await expect(auth.verify({ nonce: c.nonce, jwt }, AUDIENCE)).rejects.toMatchObject({
      code: 'invalid_proof',
    });
  });

  it('refuses an unsigned (alg: none) JWT and a tampered payload', async () => {
    const c = await auth.challenge(AUDIENCE);
    const wallet = Wallet.createRandom();
    const payload = {
      iss: `did:ethr:0x7a69:${wallet.address}`,
      aud: AUDIENCE,
      nonce: c.nonce,
      exp: Math.floor(now / 1000) + 60,
    };
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;
    await expect(auth.verify({ nonce: c.nonce, jwt: none }, AUDIENCE)).rejects.toMatchObject({
      code: 'invalid_proof',
    });

    const c2 = await auth.challenge(AUDIENCE);
    const { jwt } = await ethrJwt(wallet, { nonce: c2.nonce });
    const [h, , s] = jwt.split('.');
    const forged = Buffer.from(JSON.stringify({ ...payload, nonce: c2.nonce, sub: 'admin' })).toString(
      'base64url',
    );
    await expect(
      auth.verify({ nonce: c2.nonce, jwt: `${h}.${forged}.${s}` }, AUDIENCE),
    ).rejects.toMatchObject({
      code: 'invalid_proof',
    });
  });

  it('refuses an EIP-191 signature by someone who is not a key of the DID, or over another message', async () => {
    const owner = Wallet.createRandom();
    const did = `did:ethr:0x7a69:${owner.address}`;
    const c = await auth.challenge(AUDIENCE);
    const signature = await Wallet.createRandom().signMessage(c.message);
    await expect(auth.verify({ nonce: c.nonce, did, signature }, AUDIENCE)).rejects.toMatchObject({
      code: 'invalid_proof',
    });
    const c2 = await auth.challenge(AUDIENCE);
    const wrongText = await owner.signMessage(`${c2.message} (edited)`);
    await expect(auth.verify({ nonce: c2.nonce, did, signature: wrongText }, AUDIENCE)).rejects.toMatchObject(
      {
        code: 'invalid_proof',
      },
    );
  });

  it('refuses EIP-191 for DIDs of other methods', async () => {
    const c = await auth.challenge(AUDIENCE);
    const holder = didKeyHolder('ed25519');
    const signature = await Wallet.createRandom().signMessage(c.message);
    await expect(auth.verify({ nonce: c.nonce, did: holder.did, signature }, AUDIENCE)).rejects.toMatchObject(
      {
        code: 'invalid_did',
      },
    );
  });
});

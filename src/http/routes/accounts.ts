/**
 * The account API, per tenant under `/t/{tenant}/api`: create an account (its DID comes with it), sign
 * in with a DID, read my DID document, keys and delegates, export my public material, take ownership of
 * my DID with my own wallet, link an external DID, deactivate.
 */

import { isAddress } from 'ethers';
import type { Request } from 'express';
import { z } from 'zod';
import type { ChainConnection } from '../../chain/index.ts';
import type { ChainOutbox } from '../../chain/outbox.ts';
import { TrustgateError } from '../../errors.ts';
import type { AccountJobs } from '../../flows/account-jobs.ts';
import { deactivateAccount } from '../../flows/deactivate-account.ts';
import { DID_OPERATIONS, runDidOperation } from '../../flows/did-operation.ts';
import { takeOwnership } from '../../flows/take-ownership.ts';
import { type AccountTokens, UnauthorizedError } from '../../identity/account-tokens.ts';
import { type Accounts, accountView } from '../../identity/accounts.ts';
import { exportPublicMaterial, type IdentityAgent } from '../../identity/agent.ts';
import type { DidAuthenticator } from '../../identity/did-auth.ts';
import type { DidResolverService } from '../../identity/resolver/index.ts';
import type { Store } from '../../store/index.ts';
import { findTenant, issuerOf } from '../../tenants.ts';
import { defineRoute, type Route, tenantParams } from '../routes.ts';

export interface AccountRouteDeps {
  store: Store;
  accountJobs: AccountJobs;
  accounts: Accounts;
  agent: IdentityAgent;
  chain: ChainConnection;
  outbox: ChainOutbox;
  resolver: DidResolverService;
  didAuth: DidAuthenticator;
  tokens: AccountTokens;
  publicUrl: string;
}

const nonce = z.string().min(8).max(64);
const didAnswer = z.union([
  z.strictObject({ nonce, jwt: z.string().min(10).max(16_384) }),
  z.strictObject({
    nonce,
    did: z.string().min(8).max(2048),
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
  }),
]);
const signature65 = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a 65-byte 0x-prefixed hex signature');

const accountSchema = z
  .object({
    id: z.string(),
    did: z.string(),
    address: z.string(),
    custody: z.enum(['managed', 'self']),
    status: z.enum(['active', 'deactivated']),
    linkedDids: z.array(z.string()),
    createdAt: z.string(),
  })
  .meta({ id: 'Account' });
const tokenSchema = z.object({
  token: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int(),
  account: accountSchema,
});
const jobsSchema = z.array(
  z.object({ id: z.string(), kind: z.string(), status: z.string() }).catchall(z.unknown()),
);

export function accountRoutes(deps: AccountRouteDeps): Route[] {
  const audience = (slug: string) => issuerOf(deps.publicUrl, slug);

  /**
   * The signed-in account of the request, in the path's tenant, brought in line with its confirmed chain
   * jobs. A deactivated account may only read its own state.
   */
  async function me(req: Request, slug: string, options: { allowDeactivated?: boolean } = {}) {
    const tenant = await findTenant(deps.store, slug);
    const principal = await deps.tokens.authenticate(req.headers.authorization, tenant.id);
    const account = await deps.accountJobs.reconcile(await deps.accounts.get(tenant.id, principal.accountId));
    if (account.status !== 'active' && !options.allowDeactivated) {
      throw new UnauthorizedError('The account is deactivated.');
    }
    return { tenant, account };
  }

  const issueToken = async (account: Parameters<typeof accountView>[0], method: string) => {
    const { token, expiresIn } = await deps.tokens.issue({
      accountId: account.id,
      tenantId: account.tenantId,
      did: account.did,
      method,
    });
    return { token, tokenType: 'Bearer' as const, expiresIn, account: accountView(account) };
  };

  return [
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/did-auth/challenges',
      operationId: 'createDidChallenge',
      summary: 'A one-time challenge to prove control of a DID (or of a wallet address).',
      description:
        'Answer with a JWT or JWT presentation (ES256K, EdDSA, ES256) issued by the DID with `nonce` and `aud` set, ' +
        'or, for did:ethr, an EIP-191 signature of `message`. Each challenge works once, for five minutes.',
      tags: ['identity'],
      params: tenantParams,
      status: 201,
      responses: { 201: { description: 'The challenge.' }, 404: { description: 'Unknown tenant.' } },
      handler: async ({ params }) => {
        await findTenant(deps.store, params.tenant);
        return deps.didAuth.challenge(audience(params.tenant));
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/did-auth/tokens',
      operationId: 'signInWithDid',
      summary: 'Sign in with a DID: answer a challenge, receive a bearer token for the account API.',
      tags: ['identity'],
      params: tenantParams,
      body: didAnswer,
      responses: {
        200: { description: 'Signed in.', schema: tokenSchema },
        401: { description: 'Challenge or proof refused, or no account has this DID.' },
      },
      handler: async ({ params, body }) => {
        const tenant = await findTenant(deps.store, params.tenant);
        const { did, method } = await deps.didAuth.verify(body, audience(params.tenant));
        const account = await deps.accounts.findByDid(tenant.id, did);
        if (account?.status !== 'active') {
          throw new TrustgateError(
            'unknown_account',
            401,
            'Unknown account',
            'No active account has this DID.',
          );
        }
        return issueToken(await deps.accounts.get(tenant.id, account.id), method);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/accounts',
      operationId: 'createAccount',
      summary:
        'Create an account with its did:ethr (managed), or for a did:ethr you prove to own (self custody).',
      tags: ['identity'],
      params: tenantParams,
      body: z.strictObject({ proof: didAnswer.optional() }),
      status: 201,
      responses: {
        201: { description: 'The account and a bearer token.', schema: tokenSchema },
        409: { description: 'The DID already has an account, or is not a did:ethr of this chain.' },
      },
      handler: async ({ params, body }) => {
        const tenant = await findTenant(deps.store, params.tenant);
        if (!body.proof) return issueToken((await deps.accounts.createManaged(tenant.id)).account, 'created');
        const { did, method } = await deps.didAuth.verify(body.proof, audience(params.tenant));
        return issueToken(await deps.accounts.createSelfCustody(tenant.id, did), method);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/accounts/me',
      operationId: 'getMyAccount',
      summary: 'My account and my DID document as the chain has it now.',
      tags: ['identity'],
      params: tenantParams,
      responses: {
        200: { description: 'Account and DID resolution result.' },
        401: { description: 'No token.' },
      },
      handler: async ({ req, params }) => {
        const { account } = await me(req, params.tenant, { allowDeactivated: true });
        await deps.resolver.sync();
        const resolution = await deps.resolver.resolve(account.did).catch((err: { status?: number }) => {
          if (err.status === 410) return null; // deactivated: the account says so
          throw err;
        });
        return {
          account: accountView(account),
          didDocument: resolution?.didDocument ?? null,
          didDocumentMetadata: resolution?.didDocumentMetadata ?? { deactivated: true },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/accounts/me/keys',
      operationId: 'listMyKeys',
      summary: 'The keys and delegates of my DID, and the public keys Trustgate holds for it.',
      tags: ['identity'],
      params: tenantParams,
      responses: { 200: { description: 'Keys and delegates.' } },
      handler: async ({ req, params }) => {
        const { account } = await me(req, params.tenant);
        await deps.resolver.sync();
        const { didDocument } = await deps.resolver.resolve(account.did);
        const methods = didDocument?.verificationMethod ?? [];
        const authentication = new Set(
          (didDocument?.authentication ?? []).map((a) => (typeof a === 'string' ? a : a.id)),
        );
        const managed = account.custody === 'managed' || (await hasManagedDid(deps.agent, account.did));
        return {
          did: account.did,
          verificationMethods: methods.map((m) => ({
            id: m.id,
            type: m.type,
            controller: m.controller,
            delegate: /#delegate-\d+$/.test(m.id),
            authentication: authentication.has(m.id),
            ...(m.blockchainAccountId ? { blockchainAccountId: m.blockchainAccountId } : {}),
            ...(m.publicKeyHex ? { publicKeyHex: m.publicKeyHex } : {}),
          })),
          managedKeys: managed ? (await exportPublicMaterial(deps.agent, account.did)).keys : [],
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/t/:tenant/api/accounts/me/export',
      operationId: 'exportMyDid',
      summary: 'Download my DID, its document, the chain facts to resolve it anywhere, and my public keys.',
      tags: ['identity'],
      params: tenantParams,
      responses: { 200: { description: 'A JSON file (attachment).' } },
      handler: async ({ req, res, params }) => {
        const { account } = await me(req, params.tenant);
        await deps.resolver.sync();
        const resolution = await deps.resolver.resolve(account.did).catch(() => null);
        const material = (await hasManagedDid(deps.agent, account.did))
          ? await exportPublicMaterial(deps.agent, account.did)
          : null;
        res.setHeader('Content-Disposition', `attachment; filename="${account.address}.did.json"`);
        return {
          did: account.did,
          didDocument: resolution?.didDocument ?? null,
          chain: {
            chainId: deps.chain.chainId,
            rpcUrl: deps.chain.rpcUrl,
            registry: deps.chain.registryAddress,
          },
          publicKeys: material?.keys ?? [],
          linkedDids: accountView(account).linkedDids,
          exportedAt: new Date().toISOString(),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/accounts/me/ownership',
      operationId: 'takeOwnership',
      summary: 'Make my own wallet the owner of my DID; Trustgate keeps a sigAuth delegate.',
      description:
        'Prove control of `address` by signing a fresh challenge message (EIP-191). Answers 202 with the chain ' +
        'jobs; if the first job is not mined yet, send the same request again (it resumes).',
      tags: ['identity'],
      params: tenantParams,
      body: z.strictObject({
        address: z
          .string()
          .refine((a) => isAddress(a), 'an Ethereum address (a mixed-case one must carry a valid checksum)'),
        nonce,
        signature: signature65,
      }),
      status: 202,
      responses: {
        202: {
          description: 'Accepted: the jobs that carry it out.',
          schema: z.object({ ownerChangeEnqueued: z.boolean(), complete: z.boolean(), jobs: jobsSchema }),
        },
        409: { description: 'Not a managed DID, or deactivated.' },
      },
      handler: async ({ req, params, body }) => {
        const { account } = await me(req, params.tenant);
        return takeOwnership(deps, account, body.address, async () => {
          await deps.didAuth.verifyAddress(body, audience(params.tenant));
        });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/accounts/me/linked-dids',
      operationId: 'linkDid',
      summary: 'Link an external DID to my account by answering a challenge with it.',
      tags: ['identity'],
      params: tenantParams,
      body: didAnswer,
      status: 201,
      responses: { 201: { description: 'Linked.' }, 409: { description: 'Linked to another account.' } },
      handler: async ({ req, params, body }) => {
        const { account } = await me(req, params.tenant);
        const { did } = await deps.didAuth.verify(body, audience(params.tenant));
        await deps.accounts.linkDid(account, did);
        return { did };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/accounts/me/did-operations',
      operationId: 'changeMyDid',
      summary:
        'Add or revoke a delegate (e.g. a device key), set or revoke an attribute of my DID; relayed, no gas.',
      description:
        'A managed DID is signed by Trustgate. A self-custody DID needs the owner’s signature: a first call ' +
        'without `ownerSignature` answers 400 with the `digest` to sign. The same `idempotencyKey` returns the same job.',
      tags: ['identity'],
      params: tenantParams,
      body: z.strictObject({
        operation: z.enum(DID_OPERATIONS),
        args: z.record(z.string(), z.unknown()),
        idempotencyKey: z.string().min(8).max(100),
        ownerSignature: z
          .strictObject({ nonce: z.string().regex(/^\d{1,30}$/), signature: signature65 })
          .optional(),
      }),
      status: 202,
      responses: {
        202: { description: 'The chain job (see GET /api/chain/jobs/{id}).' },
        400: { description: 'Invalid arguments, signature needed, or a wrong signature or nonce.' },
      },
      handler: async ({ req, params, body }) => {
        const { account } = await me(req, params.tenant);
        return { job: await runDidOperation(deps, account, body) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/t/:tenant/api/accounts/me/deactivation',
      operationId: 'deactivateMyDid',
      summary: 'Deactivate my DID on chain (owner becomes the zero address) and my account.',
      description:
        'A self-custody DID needs the owner’s signature: a first call without one answers 400 with the `digest` to sign.',
      tags: ['identity'],
      params: tenantParams,
      body: z.strictObject({
        nonce: z
          .string()
          .regex(/^\d{1,30}$/)
          .optional(),
        signature: signature65.optional(),
      }),
      status: 202,
      responses: { 202: { description: 'The chain job.' }, 400: { description: 'Signature needed.' } },
      handler: async ({ req, params, body }) => {
        const { account } = await me(req, params.tenant, { allowDeactivated: true });
        const signed =
          body.nonce && body.signature ? { nonce: body.nonce, signature: body.signature } : undefined;
        return deactivateAccount(deps, account, signed);
      },
    }),
  ];
}

async function hasManagedDid(agent: IdentityAgent, did: string): Promise<boolean> {
  try {
    await agent.didManagerGet({ did });
    return true;
  } catch {
    return false;
  }
}

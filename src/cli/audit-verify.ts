/**
 * `npm run audit:verify -- <tenant> [--json] [--no-anchors] [--rpc <url>]`: verifies a tenant's audit
 * hash chain and its on-chain anchors, and prints the first broken record. Exit code 0 when intact,
 * 1 when broken, 2 on a usage or connection error.
 *
 * Anchors are read from CHAIN_RPC_URL and AUDIT_ANCHOR_ADDRESS on an external chain. With the embedded
 * chain they are read from the running service's JSON-RPC (`http://127.0.0.1:CHAIN_PORT`, or `--rpc`),
 * where the AuditAnchor address is found from the chain itself; when it does not answer, only the hash
 * chain is checked and the output says so.
 */
import { getAddress, JsonRpcProvider } from 'ethers';
import { chainAnchorSource } from '../audit/anchoring.ts';
import { type AnchorSource, verifyAuditChain } from '../audit/verify.ts';
import { findEmbeddedAuditAnchor } from '../chain/embedded.ts';
import { type Config, loadConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { openStore } from '../store/index.ts';

const USAGE = 'Usage: npm run audit:verify -- <tenant> [--json] [--no-anchors] [--rpc <url>]';

/** Anchors that fail with `message` (verification then reports them unavailable). */
const unavailable = (message: string): AnchorSource => ({
  latest: () => Promise.reject(new Error(message)),
  headAt: () => Promise.reject(new Error(message)),
});

async function anchorSource(
  config: Config,
  rpcOverride: string | undefined,
): Promise<{ source: AnchorSource | null; close: () => void }> {
  const url = rpcOverride ?? config.CHAIN_RPC_URL ?? `http://127.0.0.1:${config.CHAIN_PORT}`;
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: false, cacheTimeout: -1 });
  const close = () => provider.destroy();
  try {
    let address: string | null;
    if (config.embeddedChain && !rpcOverride) {
      address = (await findEmbeddedAuditAnchor((method, params) => provider.send(method, params))).address;
    } else {
      address = config.AUDIT_ANCHOR_ADDRESS ? getAddress(config.AUDIT_ANCHOR_ADDRESS) : null;
      if (!address && rpcOverride) {
        address = (await findEmbeddedAuditAnchor((method, params) => provider.send(method, params))).address;
      }
    }
    if (!address) return { source: null, close };
    return { source: chainAnchorSource({ provider, auditAnchorAddress: address }), close };
  } catch (err) {
    return {
      source: unavailable(`the chain at ${new URL(url).host} did not answer (${(err as Error).message})`),
      close,
    };
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const json = args.includes('--json');
  const noAnchors = args.includes('--no-anchors');
  const rpcAt = args.indexOf('--rpc');
  const rpc = rpcAt >= 0 ? args[rpcAt + 1] : undefined;
  if (rpcAt >= 0 && !rpc) throw new ConfigError(USAGE);
  const [slug] = args.filter((a, i) => !a.startsWith('--') && (rpcAt < 0 || i !== rpcAt + 1));
  if (!slug) throw new ConfigError(USAGE);

  const config = loadConfig();
  const store = await openStore({ url: config.DATABASE_URL });
  const anchors = noAnchors ? { source: null, close: () => {} } : await anchorSource(config, rpc);
  try {
    const tenant = await store.db.tenant.findUnique({ where: { slug } });
    if (!tenant) throw new ConfigError(`No tenant "${slug}".`);
    const result = await verifyAuditChain(store, tenant.id, { anchors: anchors.source });
    if (json) {
      process.stdout.write(`${JSON.stringify({ tenant: slug, ...result })}\n`);
    } else if (result.ok) {
      process.stdout.write(
        `audit chain of ${slug}: OK, ${result.records} records, ${result.anchorsChecked} on-chain anchors checked\n`,
      );
    } else {
      const b = result.firstBroken!;
      process.stdout.write(`audit chain of ${slug}: BROKEN at record ${b.seq} (${b.reason}): ${b.detail}\n`);
    }
    if (!json && result.anchorsUnavailable) {
      process.stderr.write(`warning: anchors not checked: ${result.anchorsUnavailable}\n`);
    }
    return result.ok ? 0 : 1;
  } finally {
    anchors.close();
    await store.close();
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}

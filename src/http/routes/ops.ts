/** Operations endpoints: liveness, readiness, metrics, chain facts, API description. */
import { z } from 'zod';
import { NotFoundError, TrustgateError } from '../../errors.ts';
import { withTimeout } from '../../util/timeout.ts';
import { docsStyle, renderDocsPage } from '../docs-page.ts';
import type { Metrics } from '../metrics.ts';
import { defineRoute, openApiDocument, type Route } from '../routes.ts';

/** A dependency checked by /readyz. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
}

/** Chain facts an outside verifier needs to resolve Trustgate's DIDs on its own. */
export interface ChainInfo {
  mode: 'embedded' | 'external';
  chainId: number;
  rpcUrl: string;
  registryAddress: string;
  /** The AuditAnchor contract, when audit anchoring is on. */
  auditAnchorAddress?: string | undefined;
}

const checkResult = z.object({
  status: z.enum(['up', 'down']),
  latencyMs: z.number(),
  error: z.string().optional(),
});

const readySchema = z.object({ status: z.literal('ready'), checks: z.record(z.string(), checkResult) });

const chainSchema = z.object({
  mode: z.enum(['embedded', 'external']),
  chainId: z.number().int(),
  chainIdHex: z.string(),
  rpcUrl: z
    .string()
    .meta({ description: 'JSON-RPC endpoint for outside verifiers (empty if not advertised).' }),
  registry: z.string().meta({ description: 'ERC-1056 registry address.' }),
  didPrefix: z.string().meta({ description: 'Prefix of the did:ethr DIDs Trustgate creates.' }),
  resolverConfig: z
    .object({
      name: z.string(),
      chainId: z.number().int(),
      rpcUrl: z.string(),
      registry: z.string(),
      legacyNonce: z.boolean(),
    })
    .meta({ description: 'A ready-made network entry for stock ethr-did-resolver.' }),
  anchors: z
    .record(z.string(), z.string())
    .meta({ description: 'Anchor contracts by purpose: `audit` is AuditAnchor (audit chain heads).' }),
});

export interface OpsDeps {
  readiness: ReadinessCheck[];
  readyTimeoutMs: number;
  isDraining: () => boolean;
  metrics?: Metrics;
  chain: () => ChainInfo;
  info: { title: string; version: string; serverUrl: string };
  /** All routes of the app, for the OpenAPI document. */
  allRoutes: () => Route[];
}

async function runCheck(c: ReadinessCheck, timeoutMs: number) {
  const started = performance.now();
  try {
    await withTimeout(c.check(), timeoutMs, `no answer within ${timeoutMs} ms`);
    return { status: 'up' as const, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      status: 'down' as const,
      latencyMs: Math.round(performance.now() - started),
      error: String((err as Error)?.message ?? 'failed').slice(0, 200),
    };
  }
}

export function opsRoutes(deps: OpsDeps): Route[] {
  let openApiCache: ReturnType<typeof openApiDocument> | undefined;
  const openApi = () => {
    openApiCache ??= openApiDocument(deps.allRoutes(), deps.info);
    return openApiCache;
  };
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'Liveness: the process is up and serving HTTP.',
      tags: ['operations'],
      responses: { 200: { description: 'Alive.', schema: z.object({ status: z.literal('ok') }) } },
      handler: () => ({ status: 'ok' }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      operationId: 'ready',
      summary: 'Readiness: database, chain and (when configured) Redis answer.',
      description:
        'Answers 503 problem+json (code not_ready) naming each failing dependency, and while shutting down.',
      tags: ['operations'],
      responses: {
        200: { description: 'Every dependency answers.', schema: readySchema },
        503: { description: 'A dependency is down, or the instance is draining.' },
      },
      handler: async ({ res }) => {
        res.setHeader('Cache-Control', 'no-store');
        const results = await Promise.all(deps.readiness.map((c) => runCheck(c, deps.readyTimeoutMs)));
        const checks = Object.fromEntries(deps.readiness.map((c, i) => [c.name, results[i]!]));
        const failing = deps.readiness.filter((_, i) => results[i]!.status === 'down').map((c) => c.name);
        if (deps.isDraining()) failing.push('shutdown');
        if (failing.length > 0) {
          throw new TrustgateError('not_ready', 503, 'Not ready', `Unavailable: ${failing.join(', ')}.`, {
            extensions: { failing, checks },
          });
        }
        return { status: 'ready', checks };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics (request latency histograms, process metrics).',
      tags: ['operations'],
      responses: { 200: { description: 'Prometheus text format.', contentType: 'text/plain' } },
      handler: async ({ res }) => {
        if (!deps.metrics) throw new NotFoundError('Metrics are disabled (METRICS_ENABLED=false).');
        res.setHeader('Content-Type', deps.metrics.registry.contentType);
        res.send(await deps.metrics.registry.metrics());
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/chain',
      operationId: 'chainInfo',
      summary: 'Chain facts for verifiers: chain id, RPC URL, registry and anchor addresses.',
      tags: ['chain'],
      responses: { 200: { description: 'Chain facts.', schema: chainSchema } },
      handler: () => {
        const c = deps.chain();
        const hex = `0x${c.chainId.toString(16)}`;
        return {
          mode: c.mode,
          chainId: c.chainId,
          chainIdHex: hex,
          rpcUrl: c.rpcUrl,
          registry: c.registryAddress,
          didPrefix: `did:ethr:${hex}`,
          resolverConfig: {
            name: hex,
            chainId: c.chainId,
            rpcUrl: c.rpcUrl,
            registry: c.registryAddress,
            legacyNonce: false,
          },
          anchors: c.auditAnchorAddress ? { audit: c.auditAnchorAddress } : {},
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document.',
      tags: ['operations'],
      responses: { 200: { description: 'OpenAPI 3.1 document.' } },
      handler: () => openApi(),
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      operationId: 'docs',
      summary: 'Human-readable API documentation.',
      tags: ['operations'],
      responses: { 200: { description: 'HTML page.', contentType: 'text/html' } },
      handler: ({ res }) => {
        res.type('html').send(renderDocsPage(openApi() as unknown as Parameters<typeof renderDocsPage>[0]));
        return undefined;
      },
    }),
    defineRoute({
      method: 'get',
      path: '/docs/style.css',
      operationId: 'docsStyle',
      summary: 'Stylesheet of the API page.',
      tags: ['operations'],
      responses: { 200: { description: 'CSS.', contentType: 'text/css' } },
      handler: ({ res }) => {
        res.setHeader('Cache-Control', 'public, max-age=3600');
        res.type('css').send(docsStyle);
        return undefined;
      },
    }),
  ];
}

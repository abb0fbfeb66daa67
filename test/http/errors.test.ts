import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from '../../src/http/routes.ts';
import { startTestService, type TestService } from '../helpers/service.ts';

// Probe routes declared through the same route API as the product's, so the real pipeline (content
// type check, size-limited parser, zod validation, error serializer) is what these tests exercise.
const probes = [
  defineRoute({
    method: 'post',
    path: '/test/echo',
    operationId: 'testEcho',
    summary: 'Echoes a validated body.',
    tags: ['test'],
    body: z.object({ name: z.string().min(1).max(50), count: z.number().int().min(0) }),
    responses: { 200: { description: 'The body.' } },
    handler: ({ body }) => ({ echoed: body }),
  }),
  defineRoute({
    method: 'get',
    path: '/test/crash',
    operationId: 'testCrash',
    summary: 'Fails unexpectedly.',
    tags: ['test'],
    responses: { 200: { description: 'Never.' } },
    handler: () => {
      throw new Error('connection to postgres://admin:hunter2@db failed at /srv/app/secret.ts:12');
    },
  }),
];

let t: TestService;
const logLines: string[] = [];

beforeAll(async () => {
  t = await startTestService({}, { extraRoutes: probes, logLines });
});
afterAll(async () => {
  await t?.destroy();
});

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body.status).toBe(res.status);
  expect(body.type).toBe(`urn:trustgate:problem:${body.code}`);
  return body;
}

const post = (path: string, body: string, type = 'application/json', headers: Record<string, string> = {}) =>
  fetch(`${t.url}${path}`, { method: 'POST', body, headers: { 'content-type': type, ...headers } });

describe('HTTP errors are problem+json 4xx with stable codes, never 500', () => {
  it('answers an unknown route with 404 not_found', async () => {
    const res = await fetch(`${t.url}/no/such/thing`);
    expect(res.status).toBe(404);
    expect((await problem(res)).code).toBe('not_found');
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const res = await fetch(`${t.url}/healthz`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect((await problem(res)).code).toBe('method_not_allowed');
  });

  it('answers malformed JSON with 400 malformed_json', async () => {
    const res = await post('/test/echo', '{"name": "a",');
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe('malformed_json');
  });

  it('answers broken percent-encoding in a path parameter with 400, not 500', async () => {
    for (const path of ['/1.0/identifiers/did:web:a%ZZ', '/1.0/identifiers/%E0%A4%A']) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status, path).toBe(400);
      await problem(res);
    }
  });

  it('answers a body that is not the compressed body it claims to be with 400', async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const res = await post('/test/echo', JSON.stringify({ name: 'a', count: 1 }), 'application/json', {
        'content-encoding': encoding,
      });
      expect(res.status, encoding).toBe(400);
      await problem(res);
    }
  });

  it('answers a wrong content type with 415 unsupported_media_type', async () => {
    const res = await post('/test/echo', 'name=a', 'application/x-www-form-urlencoded');
    expect(res.status).toBe(415);
    expect((await problem(res)).code).toBe('unsupported_media_type');
  });

  it('answers an oversized body with 413 payload_too_large', async () => {
    const res = await post('/test/echo', JSON.stringify({ name: 'a', pad: 'x'.repeat(200_000) }));
    expect(res.status).toBe(413);
    expect((await problem(res)).code).toBe('payload_too_large');
  });

  it('answers a missing body with 400 invalid_request', async () => {
    const res = await fetch(`${t.url}/test/echo`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await problem(res)).code).toBe('invalid_request');
  });

  it('answers a body that fails validation with 400 and the failing fields', async () => {
    const res = await post('/test/echo', JSON.stringify({ name: '', count: -1.5 }));
    expect(res.status).toBe(400);
    const body = await problem(res);
    expect(body.code).toBe('invalid_request');
    const paths = (body.errors as Array<{ path: string }>).map((e) => e.path).sort();
    expect(paths).toEqual(['count', 'name']);
  });

  it('answers JSON that is not an object where one is expected with 400', async () => {
    for (const raw of ['[]', '"x"', 'null', '42']) {
      const res = await post('/test/echo', raw);
      expect(res.status, raw).toBe(400);
      await problem(res);
    }
  });

  it('accepts a valid body', async () => {
    const res = await post(
      '/test/echo',
      JSON.stringify({ name: 'Ada', count: 2 }),
      'application/json; charset=utf-8',
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ echoed: { name: 'Ada', count: 2 } });
  });

  it('collapses an unexpected failure to a 500 body that reveals nothing', async () => {
    const res = await fetch(`${t.url}/test/crash`);
    expect(res.status).toBe(500);
    const text = await res.clone().text();
    const body = await problem(res);
    expect(body.code).toBe('internal_error');
    expect(body.detail).toBeUndefined();
    for (const leak of ['hunter2', 'postgres', 'secret.ts', 'Error', 'stack'])
      expect(text).not.toContain(leak);
    expect(body.requestId).toBe(res.headers.get('x-request-id'));
  });
});

describe('request ids, headers and logs', () => {
  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const ok = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-123');
    const bad = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends a strict Content-Security-Policy and no framework banner', async () => {
    const res = await fetch(`${t.url}/docs`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script/i);
    // Nothing loaded from elsewhere (no CDN): every src and href is same-origin.
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it('keeps credentials, cookies and query strings out of the logs', async () => {
    await fetch(`${t.url}/healthz?code=otp-424242&token=tok-abc`, {
      headers: { authorization: 'Bearer bearer-xyz-secret', cookie: 'sid=cookie-secret-1' },
    });
    await post('/test/echo', JSON.stringify({ name: 'a', count: 1, password: 'pw-secret' }));
    await fetch(`${t.url}/test/crash`);
    const logs = logLines.join('\n');
    expect(logs).toContain('/healthz');
    for (const secret of ['otp-424242', 'tok-abc', 'bearer-xyz-secret', 'cookie-secret-1', 'pw-secret']) {
      expect(logs).not.toContain(secret);
    }
  });
});

describe('operations endpoints', () => {
  it('serves liveness', async () => {
    const res = await fetch(`${t.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('reports readiness of the database and the chain', async () => {
    const res = await fetch(`${t.url}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, { status: string }> };
    expect(Object.keys(body.checks).sort()).toEqual(['chain', 'database']);
    expect(Object.values(body.checks).every((c) => c.status === 'up')).toBe(true);
  });

  it('exposes Prometheus latency histograms by route template', async () => {
    await fetch(`${t.url}/healthz`);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/trustgate_http_request_duration_seconds_bucket\{[^}]*route="\/healthz"/);
    expect(text).toContain('trustgate_process_cpu_seconds_total');
    expect(text).not.toMatch(/route="\/no\/such\/thing"/);
  });

  it('describes the API as OpenAPI 3.1 generated from the validating schemas', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/healthz', '/readyz', '/metrics', '/api/chain', '/openapi.json', '/docs']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    const schema = doc.paths['/test/echo']?.post?.requestBody?.content['application/json']?.schema as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(Object.keys(schema.properties).sort()).toEqual(['count', 'name']);
    expect(schema.required.sort()).toEqual(['count', 'name']);
  });
});

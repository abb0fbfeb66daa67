/** The landing page a person sees at the service's URL after `npm start`. */
import { defineRoute, type Route } from '../routes.ts';

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function homeRoutes(info: { publicUrl: string; version: string }): Route[] {
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trustgate</title><link rel="stylesheet" href="/docs/style.css"></head>
<body><header><h1>Trustgate <small>${esc(info.version)}</small></h1>
<p>Portable identities (did:ethr), attested passkeys, verifiable credentials and explainable risk, over OpenID Connect.</p></header>
<main><h2>Sign in</h2><p><a href="/t/default/sign-up">Create an account with a passkey</a> or <a href="/t/default/sign-in">sign in</a> (tenant <code>default</code>).</p>
<h2>This instance</h2><ul>
<li><a href="/readyz">Readiness</a>: database, chain and shared state</li>
<li><a href="/api/chain">Chain facts</a>: chain id, JSON-RPC URL and registry address for outside verifiers</li>
<li><a href="/docs">API documentation</a> and <a href="/openapi.json">OpenAPI 3.1</a></li>
<li><a href="/metrics">Prometheus metrics</a></li>
</ul><p>Issuer of the default tenant: <code>${esc(info.publicUrl)}/t/default</code></p></main></body></html>`;
  return [
    defineRoute({
      method: 'get',
      path: '/',
      operationId: 'home',
      summary: 'Landing page with links to the instance’s status and documentation.',
      tags: ['operations'],
      responses: { 200: { description: 'HTML page.', contentType: 'text/html' } },
      handler: ({ res }) => {
        res.type('html').send(page);
        return undefined;
      },
    }),
  ];
}

/**
 * A human-readable API page rendered on the server from the OpenAPI document: no CDN, no script, so
 * it passes the strict Content-Security-Policy unchanged.
 */

type OpenApi = {
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
};
type Operation = {
  summary: string;
  description?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; required: boolean; description?: string; schema?: unknown }>;
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: unknown }> }>;
};

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const schemaBlock = (schema: unknown) =>
  schema ? `<pre class="schema">${esc(JSON.stringify(schema, null, 2))}</pre>` : '';

/** Stable error codes and their meaning, listed on the API page. */
export const problemCodes: Record<string, string> = {
  invalid_request: 'The request is well-formed but a parameter or body field is invalid; see `errors`.',
  malformed_json: 'The body is not valid JSON.',
  unsupported_media_type: 'The body is not sent as application/json.',
  payload_too_large: 'The body exceeds the configured limit (BODY_LIMIT).',
  not_found: 'No such route or resource.',
  method_not_allowed: 'The path exists with other methods, listed in the Allow header.',
  not_ready: 'A dependency is unavailable or the instance is draining; `failing` names which.',
  service_unavailable: 'A dependency this request needs is unavailable; retry later.',
  internal_error: 'Unexpected server error; the body reveals nothing, quote `requestId` to the operator.',
};

export function renderDocsPage(doc: OpenApi): string {
  const ops: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = (op.parameters ?? [])
        .map(
          (p) =>
            `<li><code>${esc(p.name)}</code> (${esc(p.in)}${p.required ? ', required' : ''})${
              p.description ? `: ${esc(p.description)}` : ''
            }</li>`,
        )
        .join('');
      const body = op.requestBody
        ? `<h4>Request body</h4>${Object.entries(op.requestBody.content)
            .map(([type, c]) => `<p><code>${esc(type)}</code></p>${schemaBlock(c.schema)}`)
            .join('')}`
        : '';
      const responses = Object.entries(op.responses)
        .map(
          ([status, r]) =>
            `<li><strong>${esc(status)}</strong> ${esc(r.description)}${
              r.content ? ` <code>${esc(Object.keys(r.content).join(', '))}</code>` : ''
            }</li>`,
        )
        .join('');
      ops.push(`<section class="op" id="${esc(method)}-${esc(path)}">
<h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}</p>${op.description ? `<p>${esc(op.description)}</p>` : ''}
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}${body}
<h4>Responses</h4><ul>${responses}</ul></section>`);
    }
  }
  const problems = Object.entries(problemCodes)
    .map(
      ([code, text]) =>
        `<tr id="problem-${esc(code)}"><td><code>${esc(code)}</code></td><td>${esc(text)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info.title)} API</title><link rel="stylesheet" href="/docs/style.css"></head>
<body><header><h1>${esc(doc.info.title)} API <small>${esc(doc.info.version)}</small></h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p></header>
<main>${ops.join('\n')}
<section id="problems"><h2>Errors</h2><p>Every error is <code>application/problem+json</code> (RFC 9457) with a stable
<code>code</code>; its <code>type</code> is <code>urn:trustgate:problem:&lt;code&gt;</code>.</p>
<table><thead><tr><th scope="col">code</th><th scope="col">meaning</th></tr></thead><tbody>${problems}</tbody></table></section>
</main></body></html>`;
}

export const docsStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem 1.5rem;color:#1b1f24}
h1 small{font-size:.5em;color:#57606a}.op{border-top:1px solid #d0d7de;padding:.5rem 0}
.method{display:inline-block;min-width:4.5rem;padding:0 .4rem;border-radius:4px;color:#fff;background:#57606a;font-size:.8em;text-align:center}
.method.get{background:#0969da}.method.post{background:#1a7f37}.method.delete{background:#cf222e}
pre.schema{background:#f6f8fa;padding:.75rem;overflow:auto;font-size:.85em}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left}
a{color:#0969da}`;

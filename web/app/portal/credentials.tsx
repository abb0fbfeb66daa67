/**
 * Your verifiable credentials (`/account/credentials`): what this service has attested about you and
 * your devices, each with its status; one credential's claims in plain words, the signed original,
 * a file to download and a QR code a wallet can scan.
 */
import { useState } from 'preact/hooks';
import { api, resolve, useApi } from '../lib/api.ts';
import { Badge, Code, Load, Section, Table, Time, ViewTitle } from '../lib/ui.tsx';
import { credentialTypeName } from './describe.ts';
import { portalPath } from './paths.ts';
import type { HeldCredential, HeldCredentialDetail } from './types.ts';

/** Valid, suspended or revoked, as a badge. */
function StatusBadge({ status }: { status: HeldCredential['status'] }) {
  if (status.revoked) return <Badge tone="bad">Revoked</Badge>;
  if (status.suspended) return <Badge tone="warn">Suspended</Badge>;
  return <Badge tone="good">Valid</Badge>;
}

const apiPath = (id: string, rest = '') => `/api/me/credentials/${encodeURIComponent(id)}${rest}`;

/** The credentials view: the list. */
export function CredentialsView() {
  const loaded = useApi<{ credentials: HeldCredential[] }>('/api/me/credentials');
  return (
    <>
      <ViewTitle>Your credentials</ViewTitle>
      <p>
        Credentials are signed statements about you that you can show to other apps. They can check them on
        their own, against the public chain, without asking this service.
      </p>
      <Load loaded={loaded} label="your credentials">
        {({ credentials }) => (
          <Table
            caption="Credentials issued to you"
            head={['Type', 'Issuer', 'Issued', 'Expires', 'Status', 'Details']}
            rows={credentials.length}
            empty="You hold no credentials yet."
          >
            {credentials.map((c) => (
              <tr key={c.id}>
                <td>{credentialTypeName(c.type)}</td>
                <td>{c.issuer ? <code class="long">{c.issuer}</code> : 'Unknown'}</td>
                <td>
                  <Time value={c.issuedAt} />
                </td>
                <td>{c.expiresAt ? <Time value={c.expiresAt} /> : 'Never'}</td>
                <td>
                  <StatusBadge status={c.status} />
                </td>
                <td>
                  <a href={portalPath(`/credentials/${encodeURIComponent(c.id)}`)}>
                    Open
                    <span class="visually-hidden">
                      {' '}
                      the {credentialTypeName(c.type).toLowerCase()} credential issued{' '}
                      {new Date(c.issuedAt).toLocaleString('en')}
                    </span>
                  </a>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </Load>
    </>
  );
}

/**
 * Left out of "about the credential": the subject (shown on its own), the signature, the JSON-LD
 * context, and the JWT's registered claims that repeat the credential's own fields (VC 1.1 JWTs).
 */
const NOT_ABOUT = new Set([
  'credentialSubject',
  'proof',
  '@context',
  'vc',
  'iss',
  'sub',
  'jti',
  'nbf',
  'iat',
  'exp',
  'aud',
]);

/** A claim's value: text for scalars, a nested list for objects and arrays. */
function ClaimValue({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <>—</>;
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== 'object' || v === null)) return <>{value.map(String).join(', ')}</>;
    return (
      <ul class="plain-list">
        {value.map((v, i) => (
          <li key={i}>
            <ClaimValue value={v} />
          </li>
        ))}
      </ul>
    );
  }
  if (typeof value === 'object') return <Claims claims={value as Record<string, unknown>} />;
  const text = String(value);
  return text.startsWith('did:') || text.length > 40 ? <Code>{text}</Code> : text;
}

/** Claim names in words: `credentialSubject` → "credential subject". */
const claimName = (name: string) =>
  name
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/^@/, '')
    .toLowerCase();

function Claims({ claims }: { claims: Record<string, unknown> }) {
  return (
    <dl class="facts claims">
      {Object.entries(claims).map(([name, value]) => (
        <div class="claim" key={name}>
          <dt>{claimName(name)}</dt>
          <dd>
            <ClaimValue value={value} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** The QR code of the credential, or why there is none. */
function QrCode({ credential }: { credential: HeldCredentialDetail }) {
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const src = resolve(apiPath(credential.id, '/qr'));
  if (problem)
    return (
      <p class="hint" id="credential-qr-problem">
        {problem}
      </p>
    );
  return (
    <div class="qr credential-qr">
      <img
        src={src}
        alt={`QR code of your ${credentialTypeName(credential.type).toLowerCase()} credential, for a wallet to scan`}
        onError={() => {
          // The image did not load: ask the API why (422: too large for a QR code).
          api(src).then(
            () => setProblem('The QR code could not be shown. Download the credential instead.'),
            (err: Error) => setProblem(err.message),
          );
        }}
      />
    </div>
  );
}

/** One credential: `/account/credentials/:id`. */
export function CredentialView({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  const loaded = useApi<HeldCredentialDetail>(apiPath(id));
  return (
    <>
      <ViewTitle>Credential</ViewTitle>
      <p>
        <a href={portalPath('/credentials')}>All your credentials</a>
      </p>
      <Load loaded={loaded} label="this credential">
        {(credential) => {
          const subject = credential.credential.credentialSubject;
          const envelope = Object.fromEntries(
            Object.entries(credential.credential).filter(([name]) => !NOT_ABOUT.has(name)),
          );
          return (
            <>
              <Section title={`${credentialTypeName(credential.type)} credential`}>
                <dl class="facts">
                  <dt>Status</dt>
                  <dd>
                    <StatusBadge status={credential.status} />
                  </dd>
                  <dt>Issued</dt>
                  <dd>
                    <Time value={credential.issuedAt} />
                  </dd>
                  <dt>Expires</dt>
                  <dd>{credential.expiresAt ? <Time value={credential.expiresAt} /> : 'Never'}</dd>
                  {credential.audience ? (
                    <>
                      <dt>For the app</dt>
                      <dd>
                        <Code>{credential.audience}</Code>
                      </dd>
                    </>
                  ) : null}
                  <dt>Format</dt>
                  <dd>{credential.format === 'vc+jwt' ? 'VC 2.0 (vc+jwt)' : 'VC 1.1 JWT (jwt_vc)'}</dd>
                </dl>
                <div class="actions">
                  <a class="button" href={resolve(apiPath(credential.id, '?download=1'))} download>
                    Download
                  </a>
                </div>
              </Section>
              <Section title="What it says about you">
                {subject && typeof subject === 'object' ? (
                  <Claims claims={subject as Record<string, unknown>} />
                ) : (
                  <p class="hint">It makes no claim about its subject.</p>
                )}
                <h3>About the credential</h3>
                <Claims claims={envelope} />
              </Section>
              <Section title="Show it with a wallet">
                <p>Scan this code with a wallet app to take the credential with you.</p>
                <QrCode credential={credential} />
              </Section>
              <Section title="The signed original">
                <details>
                  <summary>Signed credential (JWT)</summary>
                  <pre class="json">{credential.jwt}</pre>
                </details>
                <details>
                  <summary>Decoded credential (JSON)</summary>
                  <pre class="json">{JSON.stringify(credential.credential, null, 2)}</pre>
                </details>
              </Section>
            </>
          );
        }}
      </Load>
    </>
  );
}

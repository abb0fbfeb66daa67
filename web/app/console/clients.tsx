/**
 * The apps view (`/clients`): the tenant's OpenID Connect clients (name, client id, confidential or
 * public, redirect URIs, subject type, first-party), a form to create one (a confidential client's
 * secret is shown once), deletion, and initial access tokens for dynamic client registration (shown
 * once). Changes need `ManageClients` and a fresh security-key sign-in.
 */
import { useState } from 'preact/hooks';
import { call, useAction, useApi } from '../lib/api.ts';
import {
  Badge,
  Button,
  Choices,
  Code,
  ConfirmButton,
  Field,
  fieldControl,
  Load,
  Section,
  Table,
  ViewTitle,
} from '../lib/ui.tsx';
import { type AdminMe, allowed, rolesReason, useAdminMe } from './admin-me.ts';
import { ShownOnce } from './shown-once.tsx';
import './console-forms.css';

/** A client as `GET /api/admin/clients` lists it (never its secret). */
interface Client {
  client_id: string;
  client_name?: string;
  redirect_uris: string[];
  first_party: boolean;
  public: boolean;
  subject_type?: string;
  grant_types?: string[];
}

interface Created {
  client: Client;
  client_secret?: string;
}

export function ClientsView() {
  const clients = useApi<{ clients: Client[] }>('/api/admin/clients');
  const me = useAdminMe();
  const canManage = allowed(me.data, 'ManageClients');
  const [busy, run] = useAction();
  const [created, setCreated] = useState<Created | undefined>(undefined);

  const remove = (client: Client) =>
    run(
      async () => {
        await call(`/api/admin/clients/${encodeURIComponent(client.client_id)}`, 'DELETE');
        await clients.reload();
      },
      `${client.client_name ?? client.client_id} was deleted, with every grant and token issued to it.`,
    );

  return (
    <>
      <ViewTitle>Apps (OIDC clients)</ViewTitle>
      <p>
        Apps that send people here to sign in. A confidential app (a server) proves itself with a secret; a
        public app (in a browser or on a phone) has no secret and must use PKCE.
      </p>
      <Section title="Apps">
        <Load loaded={clients} label="the apps">
          {(data) => (
            <Table
              caption="Apps of this tenant"
              captionHidden
              head={['Name', 'Client ID', 'Type', 'Redirect URIs', 'Subject type', 'First-party', 'Actions']}
              rows={data.clients.length}
              empty="No apps yet."
            >
              {data.clients.map((client) => (
                <tr key={client.client_id}>
                  <td>{client.client_name ?? '—'}</td>
                  <td>
                    <Code>{client.client_id}</Code>
                  </td>
                  <td>
                    <Badge tone={client.public ? 'neutral' : 'good'}>
                      {client.public ? 'public' : 'confidential'}
                    </Badge>
                  </td>
                  <td>
                    {client.redirect_uris.length > 0 ? (
                      <ul class="plain-list">
                        {client.redirect_uris.map((uri) => (
                          <li key={uri}>
                            <Code>{uri}</Code>
                          </li>
                        ))}
                      </ul>
                    ) : (
                      'none (client credentials only)'
                    )}
                  </td>
                  <td>{client.subject_type ?? 'public'}</td>
                  <td>{client.first_party ? 'yes (no consent page)' : 'no'}</td>
                  <td>
                    {canManage ? (
                      <ConfirmButton
                        label={`Delete ${client.client_name ?? client.client_id}`}
                        confirmLabel={`Confirm: delete ${client.client_name ?? client.client_id}`}
                        busy={busy}
                        onConfirm={() => remove(client)}
                      />
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </Load>
      </Section>
      <Section title="Create an app">
        {created ? (
          created.client_secret ? (
            <ShownOnce
              title={`${created.client.client_name ?? 'The app'} was created`}
              label="Client secret"
              value={created.client_secret}
              onDone={() => setCreated(undefined)}
            >
              <p>
                Client ID: <Code>{created.client.client_id}</Code>
              </p>
            </ShownOnce>
          ) : (
            <div class="notice-plain">
              <p>
                {created.client.client_name ?? 'The app'} was created as a public app (no secret; it must use
                PKCE). Client ID: <Code>{created.client.client_id}</Code>
              </p>
              <Button variant="secondary" onClick={() => setCreated(undefined)}>
                Create another app
              </Button>
            </div>
          )
        ) : canManage ? (
          <CreateClientForm
            busy={busy}
            onCreate={(input) =>
              run(async () => {
                const answer = await call<Created>('/api/admin/clients', 'POST', input);
                setCreated(answer);
                await clients.reload();
              }, 'The app was created.')
            }
          />
        ) : (
          <p class="hint">{rolesReason(me.data, 'create apps')}</p>
        )}
      </Section>
      <InitialAccessTokens me={me.data} />
    </>
  );
}

/** What the create form sends (`POST /api/admin/clients`). */
interface ClientInput {
  client_name: string;
  redirect_uris: string[];
  type: 'confidential' | 'public';
  subject_type: 'public' | 'pairwise';
  first_party: boolean;
}

function redirectUriProblem(lines: string[]): string | undefined {
  if (lines.length === 0) return 'Give at least one redirect URI.';
  if (lines.length > 20) return 'At most 20 redirect URIs.';
  for (const line of lines) {
    let url: URL;
    try {
      url = new URL(line);
    } catch {
      return `“${line}” is not a full URL (it needs https:// and a host).`;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return `“${line}” must use https:// or http://.`;
    if (url.hash) return `“${line}” must not have a #fragment.`;
  }
  return undefined;
}

function CreateClientForm({
  busy,
  onCreate,
}: {
  busy: boolean;
  onCreate: (input: ClientInput) => Promise<boolean>;
}) {
  const [name, setName] = useState('');
  const [uris, setUris] = useState('');
  const [type, setType] = useState<ClientInput['type']>('confidential');
  const [subjectType, setSubjectType] = useState<ClientInput['subject_type']>('public');
  const [firstParty, setFirstParty] = useState(false);
  const [problems, setProblems] = useState<{ name?: string; uris?: string }>({});

  const submit = async (event: Event) => {
    event.preventDefault();
    const lines = uris
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const found = {
      name: name.trim() === '' ? 'Give the app a name people will recognise.' : undefined,
      uris: redirectUriProblem(lines),
    };
    setProblems(found);
    if (found.name || found.uris) {
      document.getElementById(found.name ? 'client-name' : 'client-redirect-uris')?.focus();
      return;
    }
    const ok = await onCreate({
      client_name: name.trim(),
      redirect_uris: lines,
      type,
      subject_type: subjectType,
      first_party: firstParty,
    });
    if (ok) {
      setName('');
      setUris('');
      setFirstParty(false);
    }
  };

  return (
    <form class="console-form stack" onSubmit={submit} noValidate>
      <Field id="client-name" label="Name" hint="Shown to people on the consent page." error={problems.name}>
        <input
          type="text"
          {...fieldControl('client-name', problems.name)}
          value={name}
          maxLength={200}
          autocomplete="off"
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </Field>
      <Field
        id="client-redirect-uris"
        label="Redirect URIs"
        hint="One per line, e.g. https://app.example.com/callback. Sign-in answers go only to these."
        error={problems.uris}
      >
        <textarea
          {...fieldControl('client-redirect-uris', problems.uris)}
          rows={3}
          value={uris}
          spellcheck={false}
          onInput={(e) => setUris(e.currentTarget.value)}
        />
      </Field>
      <Choices
        legend="Type"
        name="client-type"
        value={type}
        onChange={setType}
        options={[
          {
            value: 'confidential',
            label: 'Confidential',
            hint: 'A server that can keep a secret. Gets a client secret, shown once.',
          },
          {
            value: 'public',
            label: 'Public',
            hint: 'Runs in a browser or on a phone: no secret, must use PKCE.',
          },
        ]}
      />
      <Choices
        legend="Subject type"
        name="client-subject-type"
        value={subjectType}
        onChange={setSubjectType}
        options={[
          { value: 'public', label: 'Public', hint: 'Every app sees the same identifier for a person.' },
          {
            value: 'pairwise',
            label: 'Pairwise',
            hint: 'This app gets its own identifier for each person, so apps cannot link them.',
          },
        ]}
      />
      <div class="field checkbox">
        <input
          type="checkbox"
          id="client-first-party"
          checked={firstParty}
          aria-describedby="client-first-party-hint"
          onChange={(e) => setFirstParty(e.currentTarget.checked)}
        />
        <label for="client-first-party">First-party app</label>
      </div>
      <p class="hint" id="client-first-party-hint">
        Your own app: people are not asked to consent to sharing their details with it.
      </p>
      <div class="actions">
        <Button type="submit" busy={busy}>
          Create app
        </Button>
      </div>
    </form>
  );
}

const LIFETIMES: Array<[number, string]> = [
  [3600, '1 hour'],
  [86_400, '1 day'],
  [7 * 86_400, '7 days'],
  [30 * 86_400, '30 days'],
];

/** Initial access tokens for dynamic client registration (RFC 7591), each shown once. */
function InitialAccessTokens({ me }: { me?: AdminMe }) {
  const discovery = useApi<{ registration_endpoint?: string }>('/.well-known/openid-configuration');
  const [lifetime, setLifetime] = useState(86_400);
  const [token, setToken] = useState<{ value: string; expiresIn: number } | undefined>(undefined);
  const [busy, run] = useAction();
  const canManage = allowed(me, 'ManageClients');
  const endpoint = discovery.data?.registration_endpoint;

  const create = () =>
    run(async () => {
      const answer = await call<{ initial_access_token: string; expires_in: number }>(
        '/api/admin/initial-access-tokens',
        'POST',
        { expiresInSeconds: lifetime },
      );
      setToken({ value: answer.initial_access_token, expiresIn: answer.expires_in });
    }, 'An initial access token was created.');

  return (
    <Section title="Dynamic registration">
      <p>
        An app can register itself (RFC 7591) with an initial access token: give its developer one token
        {endpoint ? (
          <>
            {' '}
            for the registration endpoint <Code>{endpoint}</Code>
          </>
        ) : null}
        . A token works until it expires; keep it as safe as a password.
      </p>
      {token ? (
        <ShownOnce
          title="Initial access token created"
          label="Initial access token"
          value={token.value}
          onDone={() => setToken(undefined)}
        >
          <p>
            Valid for {LIFETIMES.find(([s]) => s === token.expiresIn)?.[1] ?? `${token.expiresIn} seconds`}.
          </p>
        </ShownOnce>
      ) : canManage ? (
        <div class="console-form inline">
          <label for="iat-lifetime">Valid for</label>
          <select
            id="iat-lifetime"
            value={lifetime}
            onChange={(e) => setLifetime(Number(e.currentTarget.value))}
          >
            {LIFETIMES.map(([seconds, label]) => (
              <option key={seconds} value={seconds}>
                {label}
              </option>
            ))}
          </select>
          <Button busy={busy} onClick={create}>
            Create initial access token
          </Button>
        </div>
      ) : (
        <p class="hint">{rolesReason(me, 'create initial access tokens')}</p>
      )}
    </Section>
  );
}

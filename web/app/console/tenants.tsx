/**
 * The tenants view (`/tenants`), for super-admins: every tenant (issuer, attestation policy, link to
 * its console) and a form to create one. Anyone else is told, plainly, that this needs the super-admin
 * role: the view asks `GET /api/admin/me` first, and reads a 403 or 404 from the tenants API the same
 * way.
 */
import { useState } from 'preact/hooks';
import { ApiError, call, useAction, useApi } from '../lib/api.ts';
import {
  Badge,
  Button,
  Choices,
  Code,
  Field,
  fieldControl,
  Section,
  Table,
  Time,
  ViewTitle,
} from '../lib/ui.tsx';
import { useAdminMe } from './admin-me.ts';
import './console-forms.css';

/** A tenant as `GET /api/admin/tenants` lists it. */
interface Tenant {
  slug: string;
  displayName: string;
  attestationPolicy: 'any' | 'trusted';
  stepUpWindowSeconds: number;
  issuer: string;
  discovery: string;
  createdAt: string;
}

interface TenantPage {
  tenants: Tenant[];
  next: string | null;
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function TenantsView() {
  const me = useAdminMe();
  // Without a verdict from /api/admin/me (it failed), the tenants API answers for itself.
  const known = me.data !== undefined || me.error !== undefined;
  const superAdmin = me.data?.superAdmin ?? (me.error ? undefined : false);
  return (
    <>
      <ViewTitle>Tenants</ViewTitle>
      {!known ? (
        <p class="hint">Loading…</p>
      ) : superAdmin === false ? (
        <NeedsSuperAdmin roles={me.data?.roles} />
      ) : (
        <TenantAdmin />
      )}
    </>
  );
}

function NeedsSuperAdmin({ roles }: { roles?: string[] }) {
  return (
    <div class="notice-plain" id="tenants-forbidden">
      <p>Managing tenants needs the super-admin role.</p>
      <p class="hint">
        {roles ? `Your roles here: ${roles.length > 0 ? roles.join(', ') : 'none'}. ` : ''}A super-admin can
        grant it (<code>npm run admin:grant</code>).
      </p>
    </div>
  );
}

function TenantAdmin() {
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [earlier, setEarlier] = useState<Tenant[]>([]);
  const page = useApi<TenantPage>(
    `/api/admin/tenants${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`,
  );
  const denied = page.error instanceof ApiError && (page.error.status === 403 || page.error.status === 404);
  if (denied) return <NeedsSuperAdmin />;
  // While the next page loads, the last one is still in `page.data`: list each tenant once.
  const seen = new Set<string>();
  const tenants = [...earlier, ...(page.data?.tenants ?? [])].filter(
    (t) => !seen.has(t.slug) && Boolean(seen.add(t.slug)),
  );

  const restart = async () => {
    setEarlier([]);
    if (cursor === undefined) await page.reload();
    else setCursor(undefined);
  };

  return (
    <>
      <Section title="All tenants">
        {page.error && !page.data ? (
          <p class="error" role="alert">
            Could not load the tenants: {page.error.message}
          </p>
        ) : !page.data ? (
          <p class="hint">Loading…</p>
        ) : (
          <>
            <Table
              caption="Tenants, newest first"
              captionHidden
              head={['Name', 'Slug', 'Attestation', 'Issuer', 'Created', 'Console']}
              rows={tenants.length}
              empty="No tenants."
            >
              {tenants.map((t) => (
                <tr key={t.slug}>
                  <td>{t.displayName}</td>
                  <td>
                    <code>{t.slug}</code>
                  </td>
                  <td>
                    <Badge tone={t.attestationPolicy === 'trusted' ? 'good' : 'neutral'}>
                      {t.attestationPolicy === 'trusted' ? 'trusted only' : 'any'}
                    </Badge>
                  </td>
                  <td>
                    <Code>{t.issuer}</Code>
                  </td>
                  <td>
                    <Time value={t.createdAt} />
                  </td>
                  <td>
                    <a href={`/t/${encodeURIComponent(t.slug)}/admin`}>Open the console of {t.displayName}</a>
                  </td>
                </tr>
              ))}
            </Table>
            {page.data.next ? (
              <div class="actions">
                <Button
                  variant="secondary"
                  busy={page.loading}
                  onClick={() => {
                    setEarlier(tenants);
                    setCursor(page.data?.next ?? undefined);
                  }}
                >
                  Show more tenants
                </Button>
              </div>
            ) : null}
          </>
        )}
      </Section>
      <Section title="Create a tenant">
        <CreateTenantForm onCreated={restart} />
      </Section>
    </>
  );
}

function CreateTenantForm({ onCreated }: { onCreated: () => Promise<void> }) {
  const [slug, setSlug] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [attestationPolicy, setAttestationPolicy] = useState<'any' | 'trusted'>('any');
  const [problems, setProblems] = useState<{ slug?: string; displayName?: string }>({});
  const [busy, run] = useAction();

  const submit = async (event: Event) => {
    event.preventDefault();
    const found = {
      slug: SLUG.test(slug)
        ? undefined
        : 'Use 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit.',
      displayName: displayName.trim() === '' ? 'Give the tenant a name people will see.' : undefined,
    };
    setProblems(found);
    if (found.slug || found.displayName) {
      document.getElementById(found.slug ? 'tenant-slug' : 'tenant-name')?.focus();
      return;
    }
    const ok = await run(async () => {
      try {
        await call('/api/admin/tenants', 'POST', {
          slug,
          displayName: displayName.trim(),
          attestationPolicy,
        });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'tenant_exists') {
          setProblems({ slug: 'A tenant with this slug exists already.' });
        }
        throw err;
      }
      await onCreated();
    }, `Tenant ${slug} was created. Its sign-in page and console are live now.`);
    if (ok) {
      setSlug('');
      setDisplayName('');
      setAttestationPolicy('any');
    }
  };

  return (
    <form class="console-form stack" onSubmit={submit} noValidate>
      <Field
        id="tenant-slug"
        label="Slug"
        hint="Part of every address of the tenant, e.g. /t/acme/sign-in. It cannot be changed later."
        error={problems.slug}
      >
        <input
          type="text"
          {...fieldControl('tenant-slug', problems.slug)}
          value={slug}
          maxLength={63}
          autocomplete="off"
          spellcheck={false}
          onInput={(e) => setSlug(e.currentTarget.value.trim().toLowerCase())}
        />
      </Field>
      <Field
        id="tenant-name"
        label="Display name"
        hint="Shown on its sign-in pages."
        error={problems.displayName}
      >
        <input
          type="text"
          {...fieldControl('tenant-name', problems.displayName)}
          value={displayName}
          maxLength={64}
          autocomplete="off"
          onInput={(e) => setDisplayName(e.currentTarget.value)}
        />
      </Field>
      <Choices
        legend="Attestation policy"
        name="tenant-attestation"
        value={attestationPolicy}
        onChange={setAttestationPolicy}
        options={[
          {
            value: 'any',
            label: 'Any passkey',
            hint: 'Every passkey can register; those without a trusted attestation reach at most AAL2.',
          },
          {
            value: 'trusted',
            label: 'Trusted authenticators only',
            hint: 'Only security keys and platform authenticators with a trusted attestation.',
          },
        ]}
      />
      <div class="actions">
        <Button type="submit" busy={busy}>
          Create tenant
        </Button>
      </div>
    </form>
  );
}

/**
 * The portal's start (`/account`): who you are and your DID, how strongly this session is signed in,
 * the "add a passkey now" notice after a recovery, your latest activity, sign-out, and the way to the
 * admin console for people who hold an admin role.
 */
import { describeLevel, goTo, type SessionView, showStatus, tenantPath } from '@hosted/common';
import { useEffect, useState } from 'preact/hooks';
import { api, call, resolve, useAction, useApi } from '../lib/api.ts';
import { Button, Load, Section, Time, ViewTitle } from '../lib/ui.tsx';
import { ActivityList, useActivity } from './activity.tsx';
import { ChainBadge } from './identity.tsx';
import { addPasskey } from './passkey-enrol.ts';
import { portalPath } from './paths.ts';
import type { MyDid, SignedIn } from './types.ts';

/** After a recovery-code sign-in: create a passkey on this device right away. */
function EnrolNotice({ onAdded }: { onAdded: () => unknown }) {
  const [busy, run] = useAction();
  return (
    <section class="card notice" aria-labelledby="enrol-notice-heading">
      <h2 id="enrol-notice-heading">Add a passkey now</h2>
      <p>
        You signed in with a recovery code. Create a passkey on this device so that you can sign in next time.
      </p>
      <div class="actions">
        <Button
          busy={busy}
          onClick={() =>
            run(async () => {
              await addPasskey(undefined);
              await onAdded();
            })
          }
        >
          Create a passkey
        </Button>
      </div>
    </section>
  );
}

/** Where the DID is anchored, or why that is not known right now. */
function ChainStatus() {
  const loaded = useApi<MyDid>('/api/me/did');
  if (loaded.error) return <span class="hint">Could not check the chain: {loaded.error.message}</span>;
  if (!loaded.data) return <span class="hint">Checking…</span>;
  return <ChainBadge chain={loaded.data.chain} />;
}

/** Whether the person holds any admin role (`GET /api/admin/me`); no on any error. */
function useIsAdmin(): boolean {
  const [admin, setAdmin] = useState(false);
  useEffect(() => {
    // Not `useApi`: a refusal here only means "no admin link", never a trip to sign in or step up.
    api<{ roles?: unknown }>(resolve('/api/admin/me')).then(
      (me) => setAdmin(Array.isArray(me?.roles) && me.roles.length > 0),
      () => setAdmin(false),
    );
  }, []);
  return admin;
}

function Identity({ account }: { account: SignedIn['account'] }) {
  return (
    <Section title="Who you are">
      <dl class="facts">
        <dt>Username</dt>
        <dd id="account-username">{account.username ?? '—'}</dd>
        <dt>Display name</dt>
        <dd id="account-display-name">{account.displayName || '—'}</dd>
        <dt>Decentralized identifier (DID)</dt>
        <dd>
          <code id="account-did" class="long">
            {account.did ?? '—'}
          </code>
        </dd>
        <dt>On the chain</dt>
        <dd id="did-chain">{account.did ? <ChainStatus /> : <span class="hint">No DID yet.</span>}</dd>
      </dl>
      <p>
        <a href={portalPath('/identity')}>Your DID and its document</a>
      </p>
    </Section>
  );
}

function ThisSession({ session }: { session: SignedIn['session'] }) {
  return (
    <Section title="This session">
      <dl class="facts">
        <dt>Assurance level</dt>
        <dd id="session-level">{describeLevel(session as SessionView)}</dd>
        <dt>How you signed in (amr)</dt>
        <dd id="session-amr">{session.amr.length > 0 ? session.amr.join(', ') : '—'}</dd>
        <dt>Last confirmed</dt>
        <dd id="session-auth-time">
          <Time value={session.authTime} />
        </dd>
      </dl>
    </Section>
  );
}

function LatestActivity() {
  const loaded = useActivity(5);
  return (
    <Section title="Recent activity">
      <Load loaded={loaded} label="your recent activity">
        {({ items }) => <ActivityList items={items} />}
      </Load>
      <p>
        <a href={portalPath('/activity')}>See all activity</a>
      </p>
    </Section>
  );
}

function SignOut() {
  const [busy, run] = useAction();
  const admin = useIsAdmin();
  return (
    <Section title="Sign out">
      <div class="actions">
        <Button
          id="sign-out"
          busy={busy}
          onClick={() =>
            run(async () => {
              await call('/auth/sign-out', 'POST', {});
              showStatus('Signed out.');
              goTo(tenantPath('/sign-in'));
            })
          }
        >
          Sign out
        </Button>
      </div>
      {admin ? (
        <p>
          <a href={tenantPath('/admin')}>Open the admin console</a>
        </p>
      ) : null}
    </Section>
  );
}

/** The overview. */
export function OverviewView() {
  const loaded = useApi<SignedIn>('/auth/session');
  return (
    <>
      <ViewTitle>Overview</ViewTitle>
      <Load loaded={loaded} label="your account">
        {({ account, session }) => (
          <>
            {session.mustEnrolPasskey ? <EnrolNotice onAdded={loaded.reload} /> : null}
            <Identity account={account} />
            <ThisSession session={session} />
            <LatestActivity />
            <SignOut />
          </>
        )}
      </Load>
    </>
  );
}

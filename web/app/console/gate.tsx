/**
 * The console's gate and banner: who is signed in, with which roles, and whether their hardware-bound
 * proof is fresh enough for changes (every admin change needs one from the last five minutes). A person
 * with no admin role here gets one plain sentence instead of views that would all be refused.
 */

import { tenantPath } from '@hosted/common';
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, useApi } from '../lib/api.ts';
import { Badge } from '../lib/ui.tsx';
import { type AdminMe, AdminMeContext } from './admin-me.ts';
import './gate.css';

/** Seconds left until `until` (ISO), refreshed every second; null without a deadline. */
function useSecondsLeft(until: string | null | undefined): number | null {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!until) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [until]);
  if (!until) return null;
  return Math.max(0, Math.round((Date.parse(until) - now) / 1000));
}

const stepUpHref = () =>
  `${tenantPath('/step-up')}?return=${encodeURIComponent(location.pathname + location.search)}`;

function Freshness({ until, phrh }: { until: string | null; phrh: boolean }) {
  const left = useSecondsLeft(until);
  if (left !== null && left > 0) {
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, '0');
    return (
      <p class="gate-freshness">
        <Badge tone="good">Changes allowed</Badge> your security-key confirmation counts for {minutes}:
        {seconds} more.
      </p>
    );
  }
  return (
    <p class="gate-freshness">
      <Badge tone="warn">Read-only for now</Badge>{' '}
      {phrh
        ? 'Changes need a security-key confirmation from the last 5 minutes.'
        : 'Changes need a sign-in with a hardware security key.'}{' '}
      <a href={stepUpHref()}>Confirm with your security key</a>
    </p>
  );
}

/** Renders the console only for people holding an admin role here (or super-admins). */
export function ConsoleGate({ children }: { children: ComponentChildren }) {
  const me = useApi<AdminMe>('/api/admin/me');
  if (me.error && !me.data) {
    const status = me.error instanceof ApiError ? me.error.status : 0;
    return (
      <p class="error" role="alert">
        {status === 404 || status === 403
          ? 'This console belongs to another organisation.'
          : `The console could not start: ${me.error.message}`}{' '}
        <a href={tenantPath('/account')}>Go to your account</a>.
      </p>
    );
  }
  if (!me.data) return <p class="hint">Loading…</p>;
  const { account, roles, superAdmin, session } = me.data;
  if (roles.length === 0 && !superAdmin) {
    return (
      <div class="card">
        <h2>No administrator role here</h2>
        <p>
          You are signed in as {account.username ?? 'this account'}, which holds no administrator role in this
          organisation. An administrator can give you one.{' '}
          <a href={tenantPath('/account')}>Go to your account</a>.
        </p>
      </div>
    );
  }
  const shownRoles = superAdmin && !roles.includes('super-admin') ? ['super-admin', ...roles] : roles;
  return (
    <AdminMeContext.Provider value={me}>
      <section class="gate-banner" aria-label="Your administrator session">
        <p>
          Signed in as <strong>{account.username ?? account.id}</strong>, {shownRoles.join(', ')}.
        </p>
        <Freshness until={session.writeFreshUntil} phrh={session.phrh} />
      </section>
      {children}
    </AdminMeContext.Provider>
  );
}

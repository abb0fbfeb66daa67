/**
 * Where you are signed in (`/account/sessions`): each live session with its browser, device and place,
 * when it started and was last active, this one marked; end any other one, or all of them at once.
 */

import { formatDate } from '@hosted/common';
import { call, useAction, useApi } from '../lib/api.ts';
import { ConfirmButton, Load, Time, ViewTitle } from '../lib/ui.tsx';
import { describeBrowser, describePlace, deviceName } from './describe.ts';
import type { Device, SessionItem } from './types.ts';

/** What a session runs on: its device's name and place when known, and its browser. */
function whereOf(
  session: SessionItem,
  devices: Device[] | undefined,
): { name: string; browser: string; place?: string } {
  const device = devices?.find((d) => d.id === session.deviceId);
  const browser = describeBrowser(session.userAgent) ?? 'Unknown browser';
  if (!device) return { name: browser, browser };
  const place = describePlace(device.lastSeen);
  return { name: deviceName(device), browser, ...(place ? { place } : {}) };
}

function SessionEntry({
  session,
  devices,
  reload,
}: {
  session: SessionItem;
  devices: Device[] | undefined;
  reload: () => Promise<void>;
}) {
  const [busy, run] = useAction();
  const where = whereOf(session, devices);
  return (
    <li class="item session">
      <h3>{session.current ? 'This session' : where.name}</h3>
      <p class="meta">
        {session.current && where.name !== where.browser ? `${where.name} · ` : ''}
        {where.browser} · {where.place ?? 'Place unknown'}
        {session.ip ? ` · ${session.ip}` : ''}
      </p>
      <p class="meta">
        Started <Time value={session.createdAt} /> · Last active <Time value={session.lastSeenAt} /> · AAL
        {session.aal}
      </p>
      {session.current ? null : (
        <div class="actions">
          <ConfirmButton
            label={`End the session started ${formatDate(session.createdAt)}`}
            confirmLabel="Yes, end it"
            busy={busy}
            onConfirm={() =>
              run(async () => {
                await call(`/api/me/sessions/${encodeURIComponent(session.id)}`, 'DELETE');
                await reload();
              }, 'Session ended.')
            }
          />
        </div>
      )}
    </li>
  );
}

/** Ends every session but this one. */
function EndOthers({ others, reload }: { others: SessionItem[]; reload: () => Promise<void> }) {
  const [busy, run] = useAction();
  if (others.length === 0) return null;
  const count = others.length === 1 ? 'the other session' : `all ${others.length} other sessions`;
  return (
    <div class="actions">
      <ConfirmButton
        label="Sign out everywhere else"
        confirmLabel={`Yes, end ${count}`}
        busy={busy}
        onConfirm={() =>
          run(async () => {
            for (const session of others) {
              await call(`/api/me/sessions/${encodeURIComponent(session.id)}`, 'DELETE');
            }
            await reload();
          }, 'You are signed out everywhere else.')
        }
      />
    </div>
  );
}

/** The sessions view. */
export function SessionsView() {
  const loaded = useApi<{ sessions: SessionItem[] }>('/api/me/sessions');
  const devices = useApi<{ devices: Device[] }>('/api/me/devices');
  return (
    <>
      <ViewTitle>Where you’re signed in</ViewTitle>
      <p>If you see a session you don’t recognise, end it, then revoke the device it is on.</p>
      <Load loaded={loaded} label="your sessions">
        {({ sessions }) => {
          // This session first, then the most recently active.
          const sorted = [...sessions].sort(
            (a, b) => Number(b.current) - Number(a.current) || b.lastSeenAt.localeCompare(a.lastSeenAt),
          );
          return (
            <>
              <ul id="session-list" class="items">
                {sorted.map((session) => (
                  <SessionEntry
                    key={session.id}
                    session={session}
                    devices={devices.data?.devices}
                    reload={loaded.reload}
                  />
                ))}
              </ul>
              <EndOthers others={sessions.filter((s) => !s.current)} reload={loaded.reload} />
            </>
          );
        }}
      </Load>
    </>
  );
}

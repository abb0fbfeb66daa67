/**
 * Recent security activity (`/account/activity`): sign-ins, factor changes, devices and sessions,
 * newest first, each in a sentence with when and where. The overview shows the latest few.
 */
import { useApi } from '../lib/api.ts';
import { Badge, Load, Time, ViewTitle } from '../lib/ui.tsx';
import type { ActivityItem } from './types.ts';

const TONES = { warn: 'Check this', danger: 'Important' } as const;

/** The activity entries as a list, newest first. */
export function ActivityList({ items }: { items: ActivityItem[] }) {
  if (items.length === 0) return <p class="hint">Nothing has happened on your account yet.</p>;
  return (
    <ol class="items activity" aria-label="Recent activity">
      {items.map((item) => {
        return (
          <li key={item.id} class={`activity-${item.tone}`}>
            <p class="activity-title">
              {item.tone !== 'info' ? (
                <>
                  <Badge tone={item.tone === 'danger' ? 'bad' : 'warn'}>{TONES[item.tone]}</Badge>{' '}
                </>
              ) : null}
              <strong>{item.title}</strong>
            </p>
            {item.detail ? <p>{item.detail}</p> : null}
            <p class="meta">
              <Time value={item.at} />
              {item.place ? ` · ${item.place}` : ''}
            </p>
          </li>
        );
      })}
    </ol>
  );
}

/** `GET /api/me/activity?limit=…`. */
export function useActivity(limit: number) {
  return useApi<{ items: ActivityItem[] }>(`/api/me/activity?limit=${limit}`);
}

/** The activity view. */
export function ActivityView() {
  const loaded = useActivity(50);
  return (
    <>
      <ViewTitle>Recent activity</ViewTitle>
      <p>
        What happened on your account lately. If you don’t recognise something, revoke the device it came from
        and get new recovery codes.
      </p>
      <Load loaded={loaded} label="your activity">
        {({ items }) => (
          <div class="card">
            <ActivityList items={items} />
          </div>
        )}
      </Load>
    </>
  );
}

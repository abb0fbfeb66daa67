/**
 * What the signed-in admin may do here (`GET /api/admin/me`): roles, whether they are a super-admin,
 * each admin action allowed or not, and how fresh their sign-in is. Views hide or disable what the
 * admin cannot use and say why; the API still decides every request.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { type Loaded, useApi } from '../lib/api.ts';

/** `GET /api/admin/me`. */
export interface AdminMe {
  account: { id: string; username?: string | null; [key: string]: unknown };
  tenant: { slug: string; displayName?: string; [key: string]: unknown };
  roles: string[];
  superAdmin: boolean;
  /** Admin action (`ManagePolicy`, `ManageClients`, …) → allowed here. */
  can: Record<string, boolean>;
  session: { aal: number; phrh: boolean; authTime: string; writeFreshUntil: string | null };
}

/** What the console's gate loaded, for every view under it. */
export const AdminMeContext = createContext<Loaded<AdminMe> | undefined>(undefined);

/**
 * The admin's roles and permissions: the gate's answer (loaded once for the console), or loaded here
 * for a view rendered outside the gate.
 */
export function useAdminMe(): Loaded<AdminMe> {
  const fromGate = useContext(AdminMeContext);
  const own = useApi<AdminMe>(fromGate ? undefined : '/api/admin/me');
  return fromGate ?? own;
}

/**
 * Whether the admin may perform `action`. True while unknown (not loaded, or the endpoint failed):
 * the control stays usable and the API answers for itself.
 */
export function allowed(me: AdminMe | undefined, action: string): boolean {
  return me?.can[action] ?? true;
}

/** Why a change is not offered: the admin's roles, in plain words. */
export function rolesReason(me: AdminMe | undefined, what: string): string {
  const roles = me?.roles.length ? me.roles.join(', ') : 'none';
  return `Your roles (${roles}) do not allow you to ${what}.`;
}

/**
 * Paths of the console's views (`/t/{tenant}/admin…`), for links between views that the router follows
 * in the page.
 */
import { viewPath } from '../lib/app.tsx';

/** The console's path under the tenant (the base its views are routed under). */
export const CONSOLE_SECTION = '/admin';

/** Path of a console view: `consolePath('/people/' + id)`. */
export const consolePath = (rest = '') => viewPath(CONSOLE_SECTION, rest);

/** Path of a person's page in the console. */
export const personPath = (accountId: string) => consolePath(`/people/${encodeURIComponent(accountId)}`);

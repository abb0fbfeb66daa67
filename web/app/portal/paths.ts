/** Paths of the portal's views: everything lives under `/t/{tenant}/account`. */
import { viewPath } from '../lib/app.tsx';

/** The portal's section under the tenant. */
export const PORTAL = '/account';

/** Path of the portal view `rest` (`''`, `/devices`, `/credentials/{id}`). */
export const portalPath = (rest = '') => viewPath(PORTAL, rest);

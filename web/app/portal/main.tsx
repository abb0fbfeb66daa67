/**
 * The people's portal, `/t/{tenant}/account/…`: identity and DID, devices, passkeys and other factors,
 * sessions, credentials and recent security activity.
 */
import { mountApp, type View } from '../lib/app.tsx';
import { ActivityView } from './activity.tsx';
import { CredentialsView, CredentialView } from './credentials.tsx';
import { DevicesView } from './devices.tsx';
import { IdentityView } from './identity.tsx';
import { OverviewView } from './overview.tsx';
import { PORTAL } from './paths.ts';
import { SecurityView } from './security.tsx';
import { SessionsView } from './sessions.tsx';
import './portal.css';

const views: View[] = [
  { path: '', label: 'Overview', component: OverviewView },
  { path: '/devices', label: 'Devices', component: DevicesView },
  { path: '/security', label: 'Security', component: SecurityView },
  { path: '/sessions', label: 'Sessions', component: SessionsView },
  { path: '/credentials', label: 'Credentials', component: CredentialsView },
  { path: '/credentials/:id', component: CredentialView },
  { path: '/activity', label: 'Activity', component: ActivityView },
  { path: '/identity', label: 'Your DID', component: IdentityView },
];

mountApp(PORTAL, views, 'Your account');

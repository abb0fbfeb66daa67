/**
 * The admin console, `/t/{tenant}/admin/…`: dashboard, people and their devices, the audit log, the
 * policy editor, OIDC clients, tenants and attestation. Every read and change goes through the admin
 * API, which authorizes it with Cedar and asks for a fresh hardware-bound sign-in before a change.
 */
import { mountApp, type View } from '../lib/app.tsx';
import { AttestationView } from './attestation.tsx';
import { AuditView } from './audit.tsx';
import { ClientsView } from './clients.tsx';
import { DashboardView } from './dashboard.tsx';
import { ConsoleGate } from './gate.tsx';
import { PeopleView, PersonView } from './people.tsx';
import { PolicyView } from './policy.tsx';
import { TenantsView } from './tenants.tsx';

export const CONSOLE = '/admin';

const views: View[] = [
  { path: '', label: 'Dashboard', component: DashboardView },
  { path: '/people', label: 'People and devices', component: PeopleView },
  { path: '/people/:id', component: PersonView },
  { path: '/audit', label: 'Audit log', component: AuditView },
  { path: '/policy', label: 'Policy', component: PolicyView },
  { path: '/clients', label: 'Apps (OIDC clients)', component: ClientsView },
  { path: '/attestation', label: 'Authenticators', component: AttestationView },
  { path: '/tenants', label: 'Tenants', component: TenantsView },
];

mountApp(CONSOLE, views, 'Console', ConsoleGate);

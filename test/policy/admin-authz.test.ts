/**
 * The built-in admin policies (Cedar): the schema and policies validate; each role reaches exactly its
 * actions, only in its own tenant unless super-admin; roles stored malformed count as none.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_ACTIONS,
  ADMIN_POLICIES,
  ADMIN_SCHEMA,
  type AdminAction,
  AdminAuthorizer,
  rolesOf,
} from '../../src/policy/admin-authz.ts';

const authz = new AdminAuthorizer();
const ACTIONS = Object.keys(ADMIN_ACTIONS) as AdminAction[];
const may = (roles: string[], action: AdminAction, home = 't1', target = 't1') =>
  authz.decide({ accountId: 'a1', tenantId: home, roles }, action, target).allowed;

describe('admin authorization', () => {
  it('validates the schema and every policy with Cedar, without warnings', () => {
    const r = cedar.validate({ schema: ADMIN_SCHEMA, policies: { staticPolicies: { ...ADMIN_POLICIES } } });
    expect(r.type).toBe('success');
    if (r.type === 'success') {
      expect(r.validationErrors).toEqual([]);
      expect(r.validationWarnings).toEqual([]);
    }
  });

  it('gives super-admin every action in every tenant, and the tenant roles only their own tenant', () => {
    for (const action of ACTIONS) {
      expect(may(['super-admin'], action, 't1', 't2'), action).toBe(true);
      for (const role of ['tenant-admin', 'auditor', 'helpdesk']) {
        expect(may([role], action, 't1', 't2'), `${role} ${action} elsewhere`).toBe(false);
      }
    }
    const own = (role: string) => ACTIONS.filter((a) => may([role], a));
    expect(own('helpdesk').sort()).toEqual([
      'EndSession',
      'ReadDevices',
      'ReadPeople',
      'ReadSessions',
      'RevokeDevice',
    ]);
    expect(own('auditor').every((a) => a.startsWith('Read'))).toBe(true);
    expect(own('auditor')).not.toContain('ReadTenants');
    expect(own('tenant-admin')).not.toContain('ManageTenants');
    expect(own('tenant-admin')).not.toContain('GrantSuperAdmin');
    expect(own('tenant-admin')).not.toContain('ReadTenants');
    expect(own('tenant-admin')).toContain('ManageRoles');
  });

  it('names the permitting policy, and permits nothing to no role, an unknown role or malformed roles', () => {
    expect(
      authz.decide({ accountId: 'a', tenantId: 't', roles: ['auditor'] }, 'ReadAudit', 't').reasons,
    ).toEqual(['auditor']);
    expect(
      ACTIONS.some((a) => may([], a) || may(['root'], a) || may(rolesOf('{"0":"super-admin"}'), a)),
    ).toBe(false);
    expect(rolesOf('not json')).toEqual([]);
    expect(rolesOf('["auditor", 7]')).toEqual(['auditor']);
    expect(() => may(['super-admin'], 'DropDatabase' as AdminAction)).toThrow(/unknown admin action/);
  });
});

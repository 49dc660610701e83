import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cis2Profiles } from './cis2-roles.ts';

const ROLES = [
  { person_roleid: '555254240100', org_code: 'RNS', role_code: 'S8000:G8000:R8001', role_name: 'Nurse' },
  { person_roleid: '555254240101', org_code: 'a81001', role_code: 'S8000:G8000:R8000', role_name: 'GP' },
  { person_roleid: '555254240102', org_code: 'RNS', role_code: 'S8000:G8001:R8008' },
];

describe('CIS2 role claims', () => {
  it('the selected role alone, national RBAC code first, ODS code upper-cased', () => {
    assert.deepEqual(cis2Profiles({ nhsid_nrbac_roles: ROLES, selected_roleid: '555254240101' }), [
      { org: 'A81001', role: 'R8000' },
      { org: 'A81001', role: 'G8000' },
      { org: 'A81001', role: 'S8000' },
    ]);
  });

  it('a selected id matching no role gives nothing; without one every role is a candidate in order', () => {
    assert.deepEqual(cis2Profiles({ nhsid_nrbac_roles: ROLES, selected_roleid: '999' }), []);
    const all = cis2Profiles({ nhsid_nrbac_roles: ROLES });
    assert.deepEqual(
      all.filter((p) => p.role.startsWith('R')),
      [
        { org: 'RNS', role: 'R8001' },
        { org: 'A81001', role: 'R8000' },
        { org: 'RNS', role: 'R8008' },
      ],
    );
  });

  it('malformed claims give no profile', () => {
    assert.deepEqual(cis2Profiles({}), []);
    assert.deepEqual(cis2Profiles({ nhsid_nrbac_roles: 'R8000' }), []);
    assert.deepEqual(
      cis2Profiles({ nhsid_nrbac_roles: [null, { org_code: 'RNS' }, { org_code: 'R N S', role_code: 'R8000' }] }),
      [],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decidePerson, isOptedOut } from './decide.ts';
import { DEFAULT_MATRIX } from './matrix.ts';

const none = { related: false, grant: null, optedOut: false, restricted: false };

describe('person decision', () => {
  it('shows clinical categories only with a relationship, declared or emergency access', () => {
    assert.deepEqual(decidePerson(DEFAULT_MATRIX.R8000, none), {
      basis: 'not-clinical',
      categories: ['demographics'],
      ownOrgOnly: false,
      restricted: false,
    });
    assert.equal(decidePerson(DEFAULT_MATRIX.R8000, { ...none, related: true }).basis, 'relationship');
    const declared = decidePerson(DEFAULT_MATRIX.R8000, { ...none, grant: { kind: 'declared', reason: 'referral' } });
    assert.equal(declared.basis, 'declared');
    assert.equal(declared.reason, 'referral');
    assert.deepEqual(declared.categories, DEFAULT_MATRIX.R8000);
    const emergency = decidePerson(DEFAULT_MATRIX.R8001, { ...none, grant: { kind: 'emergency', reason: 'x' } });
    assert.equal(emergency.basis, 'emergency');
  });

  it('never widens a role beyond its matrix row', () => {
    assert.deepEqual(decidePerson(DEFAULT_MATRIX.R8008, { ...none, related: true }).categories, DEFAULT_MATRIX.R8008);
    assert.deepEqual(decidePerson(DEFAULT_MATRIX.R0001, { ...none, related: true }).categories, ['audit']);
    assert.deepEqual(decidePerson(DEFAULT_MATRIX['icr-system-admin'], { ...none, related: true }).categories, []);
  });

  it('limits an opted-out person to own-organisation data', () => {
    const d = decidePerson(DEFAULT_MATRIX.R8000, { ...none, related: true, optedOut: true });
    assert.equal(d.basis, 'own-organisation');
    assert.equal(d.ownOrgOnly, true);
  });
});

describe('opt-out', () => {
  const consent = (type: string, dateTime: string, status = 'active', scope = 'patient-privacy') => ({
    resource: { resourceType: 'Consent', status, scope: { coding: [{ code: scope }] }, dateTime, provision: { type } },
    lastUpdated: '2026-01-01T00:00:00.000Z',
  });

  it('follows the latest active patient-privacy Consent', () => {
    assert.equal(isOptedOut([]), false);
    assert.equal(isOptedOut([consent('deny', '2026-01-01')]), true);
    assert.equal(isOptedOut([consent('deny', '2026-01-01'), consent('permit', '2026-02-01')]), false);
    assert.equal(isOptedOut([consent('permit', '2026-03-01'), consent('deny', '2026-04-01')]), true);
    assert.equal(isOptedOut([consent('deny', '2026-01-01', 'inactive')]), false);
    assert.equal(isOptedOut([consent('deny', '2026-01-01', 'active', 'research')]), false);
  });
});

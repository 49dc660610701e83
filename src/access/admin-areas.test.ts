import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Actor } from '../shared/actor.ts';
import { ADMIN_AREA_CODES, adminAreasFor, isAdminArea, mayUseAdminArea } from './admin-areas.ts';
import { ROLE_CODES } from './roles.ts';

const user = (role: string): Actor => ({ kind: 'user', userId: 'u1', orgOds: 'ICR01', role });

describe('admin portal areas', () => {
  it('gives each team its own area and nothing else', () => {
    assert.deepEqual(adminAreasFor(user('icr-integration-engineer')), ['feeds']);
    assert.deepEqual(adminAreasFor(user('icr-data-steward')), ['mpi']);
    assert.deepEqual(adminAreasFor(user('R0001')), ['audit']);
    assert.deepEqual(adminAreasFor(user('R5105')), ['audit']);
    assert.deepEqual(adminAreasFor(user('icr-system-admin')), ['users']);
  });

  it('gives professionals who see clinical data no admin area', () => {
    for (const role of ['R8000', 'R8001', 'R8003', 'R8008', 'icr-social-worker']) {
      assert.deepEqual(adminAreasFor(user(role)), [], role);
    }
  });

  it('refuses system actors and unknown roles', () => {
    for (const area of ADMIN_AREA_CODES) {
      assert.equal(mayUseAdminArea({ kind: 'system', systemId: 'openicr' }, area), false);
      assert.equal(mayUseAdminArea(user('R9999'), area), false);
    }
  });

  it('names only roles from the catalogue, and every area has at least one', () => {
    let covered = 0;
    for (const role of ROLE_CODES) covered += adminAreasFor(user(role)).length;
    assert.ok(covered >= ADMIN_AREA_CODES.length);
  });

  it('knows its area codes', () => {
    assert.equal(isAdminArea('feeds'), true);
    assert.equal(isAdminArea('__proto__'), false);
    assert.equal(isAdminArea('FEEDS'), false);
  });
});

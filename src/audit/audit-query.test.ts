import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IcrError } from '../shared/errors.ts';
import { parseAuditQuery } from './audit-query.ts';

const q = (s: string) => parseAuditQuery(new URLSearchParams(s));

describe('AuditEvent search parameters', () => {
  it('turns dates with prefixes into a half-open period', () => {
    assert.deepEqual(
      [q('date=2026-11-29').filter.from, q('date=2026-11-29').filter.to],
      ['2026-11-29T00:00:00.000Z', '2026-11-30T00:00:00.000Z'],
    );
    const r = q('date=ge2026-11&date=lt2026-12-03T10:00:00Z').filter;
    assert.equal(r.from, '2026-11-01T00:00:00.000Z');
    assert.equal(r.to, '2026-12-03T10:00:00.000Z');
    assert.equal(q('date=gt2026').filter.from, '2027-01-01T00:00:00.000Z');
    assert.equal(q('date=le2026-02-28').filter.to, '2026-03-01T00:00:00.000Z');
  });

  it('maps BALP subtypes and action codes to OpenICR actions', () => {
    assert.deepEqual(q('subtype=read').filter.actions, ['read', 'audit-read']);
    assert.deepEqual(q('subtype=http://hl7.org/fhir/restful-interaction|vread').filter.actions, ['vread']);
    assert.deepEqual(q('subtype=mpi-merge').filter.actions, ['mpi-merge']);
    assert.deepEqual(q('action=D').filter.actions, ['delete']);
    const e = q('action=E').filter;
    assert.equal(e.actions, undefined);
    assert.ok(e.excludeActions?.includes('read') && e.excludeActions.includes('create'));
    assert.deepEqual(q('subtype=read&action=C').filter.actions, ['-none-']);
  });

  it('reads the channel an entry arrived through, and refuses one that does not exist', () => {
    assert.deepEqual(q('channel=viewer,api').filter.channels, ['viewer', 'api']);
    assert.equal(q('').filter.channels, undefined);
    assert.throws(
      () => q('channel=telepathy'),
      (e: unknown) => e instanceof IcrError && /channel must be/.test(e.message),
    );
  });

  it('reads agent, patient, organisation and outcome', () => {
    const r = q(
      'agent=Practitioner/gp-1,gp-2&patient=Patient/p1&organization=https://fhir.nhs.uk/Id/ods-organization-code|RNS&outcome=4',
    );
    assert.deepEqual(r.filter.actorIds, ['gp-1', 'gp-2']);
    assert.deepEqual(r.patients, ['p1']);
    assert.deepEqual(r.filter.orgs, ['RNS']);
    assert.equal(r.filter.outcome, 'refused');
    assert.equal(q('outcome=0,4').filter.outcome, undefined);
  });

  it('refuses what it does not know, precisely', () => {
    for (const bad of [
      'foo=1',
      'date=2026-02-30',
      'date=tomorrow',
      'action=Z',
      'outcome=1',
      '_count=501',
      '_sort=agent',
      'agent=a&agent=b',
      "agent=x' or 1=1",
    ]) {
      assert.throws(
        () => q(bad),
        (e: unknown) => e instanceof IcrError && e.status === 400,
        bad,
      );
    }
  });
});

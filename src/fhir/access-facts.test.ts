import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  CATEGORIES,
  CATEGORY_OF_TYPE,
  careLinksOf,
  categoriesOfType,
  categoryOf,
  categoryOfResource,
  isEnteredInError,
  isRestrictedPatient,
  orgKeyOf,
  SOCIAL_CARE_MARK,
  SOCIAL_CARE_TYPES,
} from './access-facts.ts';
import { SUPPORTED_TYPES } from './types.ts';

describe('access facts', () => {
  it('puts every supported resource type in exactly one known category', () => {
    assert.deepEqual(Object.keys(CATEGORY_OF_TYPE).sort(), [...SUPPORTED_TYPES].sort());
    for (const t of SUPPORTED_TYPES) assert.ok(CATEGORIES.includes(categoryOf(t)), t);
  });

  it('backfills existing rows in migration 0006 with the same table (EpisodeOfCare moved by 0033)', () => {
    const sql = readFileSync(new URL('../store/migrations/0006_access.sql', import.meta.url), 'utf8');
    const moved = readFileSync(
      new URL('../store/migrations/0033_episode_of_care_care_network.sql', import.meta.url),
      'utf8',
    );
    for (const [type, cat] of Object.entries(CATEGORY_OF_TYPE)) {
      if (type === 'EpisodeOfCare') continue;
      assert.match(sql, new RegExp(`when '${type}' then '${cat}'`), `${type} → ${cat} in 0006_access.sql`);
    }
    assert.match(sql, /when 'EpisodeOfCare' then 'encounters'/);
    assert.match(moved, /update resource set category = 'care-network'\s+where resource_type = 'EpisodeOfCare'/);
    assert.match(
      moved,
      /update resource_version set category = 'care-network'\s+where resource_type = 'EpisodeOfCare'/,
    );
    assert.equal(categoryOf('EpisodeOfCare'), 'care-network');
  });

  it('recognises entered-in-error items by status or verification status', () => {
    assert.equal(isEnteredInError({ resourceType: 'Observation', status: 'entered-in-error' }), true);
    assert.equal(isEnteredInError({ resourceType: 'Observation', status: 'final' }), false);
    const condition = { resourceType: 'Condition', verificationStatus: { coding: [{ code: 'entered-in-error' }] } };
    assert.equal(isEnteredInError(condition), true);
  });

  it('recognises a restricted Patient only by the v3-Confidentiality R code', () => {
    const sec = (system: string, code: string) => ({ resourceType: 'Patient', meta: { security: [{ system, code }] } });
    assert.equal(isRestrictedPatient(sec('http://terminology.hl7.org/CodeSystem/v3-Confidentiality', 'R')), true);
    assert.equal(isRestrictedPatient(sec('http://terminology.hl7.org/CodeSystem/v3-Confidentiality', 'N')), false);
    assert.equal(isRestrictedPatient(sec('http://example.org/other', 'R')), false);
  });

  it('keys organisations by local reference or ODS identifier', () => {
    assert.equal(orgKeyOf({ reference: 'Organization/abc' }), 'Organization/abc');
    assert.equal(orgKeyOf({ reference: 'http://x/fhir/Organization/abc/_history/2' }), 'Organization/abc');
    assert.equal(
      orgKeyOf({ identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'RNS' } }),
      'ods:RNS',
    );
    assert.equal(orgKeyOf({ reference: 'Practitioner/1' }), null);
  });

  it('derives the organisations and end of each care event', () => {
    const enc = careLinksOf({
      resourceType: 'Encounter',
      serviceProvider: { reference: 'Organization/o1' },
      period: { start: '2026-01-01', end: '2026-01-03' },
    });
    assert.deepEqual(enc, { orgKeys: ['Organization/o1'], until: '2026-01-03', always: false });
    const gp = careLinksOf({ resourceType: 'Patient', generalPractitioner: [{ reference: 'Organization/gp' }] });
    assert.deepEqual(gp, { orgKeys: ['Organization/gp'], until: null, always: true });
    const sr = careLinksOf({
      resourceType: 'ServiceRequest',
      requester: { reference: 'Organization/a' },
      performer: [{ identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'B' } }],
      authoredOn: '2026-02-01',
    });
    assert.deepEqual(sr?.orgKeys.sort(), ['Organization/a', 'ods:B']);
    assert.equal(sr?.until, '2026-02-01');
    assert.equal(careLinksOf({ resourceType: 'Observation' }), null);
  });
});

describe('the social-care category', () => {
  const tag = { meta: { tag: [SOCIAL_CARE_MARK] } };
  it('puts a marked resource of the social care types in social-care, by tag or by category coding', () => {
    for (const type of SOCIAL_CARE_TYPES) {
      assert.equal(categoryOfResource({ resourceType: type, ...tag }), 'social-care', type);
      assert.equal(categoryOfResource({ resourceType: type }), categoryOf(type), `${type} unmarked`);
    }
    assert.equal(
      categoryOfResource({ resourceType: 'CarePlan', category: [{ coding: [{ ...SOCIAL_CARE_MARK }] }] }),
      'social-care',
    );
  });
  it('ignores the mark on other types, another system, and a near miss', () => {
    assert.equal(categoryOfResource({ resourceType: 'Condition', ...tag }), 'problems');
    assert.equal(categoryOfResource({ resourceType: 'Patient', ...tag }), 'demographics');
    assert.equal(
      categoryOfResource({ resourceType: 'Observation', meta: { tag: [{ system: 'http://x', code: 'social-care' }] } }),
      'results',
    );
    assert.equal(categoryOfResource({ resourceType: 'Observation', category: { coding: 'social-care' } }), 'results');
  });
  it('lists social-care among the categories a social care type may be in', () => {
    assert.deepEqual(categoriesOfType('Observation'), ['results', 'social-care']);
    assert.deepEqual(categoriesOfType('Condition'), ['problems']);
  });
});

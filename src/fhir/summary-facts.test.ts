import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summaryFactsOf } from './summary-facts.ts';
import type { FhirResource } from './types.ts';

const r = (resource: Record<string, unknown>): FhirResource => resource as unknown as FhirResource;

describe('summary facts (the status and date columns of the viewer summary)', () => {
  it('takes a medicine’s status and its first date of authoredOn, effective[x] and dateAsserted', () => {
    assert.deepEqual(
      summaryFactsOf(r({ resourceType: 'MedicationRequest', status: 'active', authoredOn: '2024-03-01' })),
      {
        status: 'active',
        date: '2024-03-01',
      },
    );
    assert.deepEqual(
      summaryFactsOf(
        r({
          resourceType: 'MedicationStatement',
          status: 'on-hold',
          effectivePeriod: { start: '2023-01-02T10:00:00Z' },
          dateAsserted: '2023-05-05',
        }),
      ),
      { status: 'on-hold', date: '2023-01-02T10:00:00Z' },
    );
    assert.deepEqual(
      summaryFactsOf(r({ resourceType: 'MedicationStatement', status: 'completed', dateAsserted: '2022' })),
      { status: 'completed', date: '2022' },
      'a partial date is kept as given',
    );
    assert.deepEqual(
      summaryFactsOf(
        r({ resourceType: 'MedicationStatement', status: '', effectiveDateTime: '', dateAsserted: '2021-01' }),
      ),
      { status: null, date: '2021-01' },
      'an empty string counts as absent',
    );
  });

  it('takes the first non-empty clinicalStatus code of allergies and problems', () => {
    assert.deepEqual(
      summaryFactsOf(
        r({
          resourceType: 'Condition',
          clinicalStatus: { coding: [{ system: 'x' }, { code: '' }, { code: 'resolved' }, { code: 'active' }] },
          onsetPeriod: { start: '2019-06' },
          recordedDate: '2020-01-01',
        }),
      ),
      { status: 'resolved', date: '2019-06' },
    );
    assert.deepEqual(summaryFactsOf(r({ resourceType: 'Condition', recordedDate: '2020-01-01' })), {
      status: null,
      date: '2020-01-01',
    });
    assert.deepEqual(
      summaryFactsOf(
        r({
          resourceType: 'AllergyIntolerance',
          clinicalStatus: { coding: 'not-an-array' },
          onsetDateTime: '2001-01-01',
          recordedDate: '2002-02-02',
        }),
      ),
      { status: null, date: '2002-02-02' },
      'recordedDate first; a malformed coding gives no status',
    );
  });

  it('takes encounters by period start, appointments by start; alerts and the care network have no date', () => {
    assert.deepEqual(
      summaryFactsOf(r({ resourceType: 'Encounter', status: 'finished', period: { start: '2024-01-01T09:00:00Z' } })),
      { status: 'finished', date: '2024-01-01T09:00:00Z' },
    );
    assert.deepEqual(summaryFactsOf(r({ resourceType: 'Encounter', status: 'planned', period: [] })), {
      status: 'planned',
      date: null,
    });
    assert.deepEqual(
      summaryFactsOf(r({ resourceType: 'Appointment', status: 'booked', start: '2030-01-01T09:00:00Z' })),
      { status: 'booked', date: '2030-01-01T09:00:00Z' },
    );
    for (const resourceType of ['Flag', 'CareTeam', 'EpisodeOfCare']) {
      assert.deepEqual(summaryFactsOf(r({ resourceType, status: 'active', period: { start: '2020-01-01' } })), {
        status: 'active',
        date: null,
      });
    }
  });

  it('gives other types neither', () => {
    assert.deepEqual(
      summaryFactsOf(r({ resourceType: 'Observation', status: 'final', effectiveDateTime: '2024-01-01' })),
      { status: null, date: null },
    );
    assert.deepEqual(summaryFactsOf(r({ resourceType: 'Patient', id: 'p' })), { status: null, date: null });
  });
});

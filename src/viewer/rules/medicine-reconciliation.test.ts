import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MedicineItem } from '../../records/viewer/patient-view.ts';
import { reconcileMedicines, strengthOf } from './medicine-reconciliation.ts';

const med = (over: Partial<MedicineItem> & Pick<MedicineItem, 'id' | 'source' | 'text'>): MedicineItem => ({
  type: 'MedicationStatement',
  active: true,
  status: 'active',
  ...over,
});

describe('medicine reconciliation', () => {
  it('groups the same medicine from two sources (different dm+d codes) and flags a different strength', () => {
    const groups = reconcileMedicines([
      med({
        id: 'a',
        source: 'gp',
        text: 'Amlodipine 5mg tablets',
        dose: 'One tablet once a day',
        code: 'dmd|1',
        date: '2025-01-01',
      }),
      med({
        id: 'b',
        source: 'hosp',
        text: 'Amlodipine 10mg tablets',
        dose: 'One tablet once a day',
        code: 'dmd|2',
        date: '2026-10-01',
      }),
      med({ id: 'c', source: 'gp', text: 'Metformin 500mg tablets', dose: '1 tablet twice a day', code: 'dmd|3' }),
    ]);
    assert.equal(groups.length, 2);
    const amlo = groups.find((g) => g.key.includes('dmd|1') || g.name.startsWith('Amlodipine'));
    assert.ok(amlo);
    assert.equal(amlo.bySource.length, 2);
    assert.deepEqual(amlo.differences, ['dose-differs']);
    assert.equal(amlo.name, 'Amlodipine 10mg tablets', 'the latest active entry names the group');
    const metformin = groups.find((g) => g.name.startsWith('Metformin'));
    assert.deepEqual(metformin?.differences, ['one-source-only']);
  });

  it('flags a medicine stopped in one source and active in another; same dose in words and digits agrees', () => {
    const groups = reconcileMedicines([
      med({ id: 'a', source: 'gp', text: 'Simvastatin 40mg tablets', dose: 'One tablet at night', code: 'dmd|9' }),
      med({
        id: 'b',
        source: 'hosp',
        text: 'Simvastatin 40mg tablets',
        dose: '1 tablet at night',
        code: 'dmd|9',
        status: 'stopped',
        active: false,
      }),
    ]);
    assert.equal(groups.length, 1);
    assert.deepEqual(groups[0]?.differences, ['stopped-in-one-source']);
    assert.equal(groups[0]?.active, true);
  });

  it("uses each source's latest entry: an older dose in the same source is history, not a difference", () => {
    const groups = reconcileMedicines([
      med({
        id: 'old',
        source: 'gp',
        text: 'Ramipril 2.5mg capsules',
        dose: '1 daily',
        date: '2020-01-01',
        status: 'completed',
        active: false,
      }),
      med({ id: 'new', source: 'gp', text: 'Ramipril 5mg capsules', dose: '1 daily', date: '2024-01-01' }),
    ]);
    assert.equal(groups.length, 1);
    assert.equal(groups[0]?.bySource.length, 1);
    assert.equal(groups[0]?.bySource[0]?.id, 'new');
    assert.equal(groups[0]?.all.length, 2);
    assert.deepEqual(groups[0]?.differences, ['one-source-only']);
  });

  it('reads strengths from product names', () => {
    assert.equal(strengthOf('Amlodipine 10mg tablets'), '10mg');
    assert.equal(strengthOf('Cetirizine 1mg/ml oral solution'), '1mg/ml');
    assert.equal(strengthOf('Salbutamol 100micrograms/dose inhaler'), '100micrograms');
    assert.equal(strengthOf('Emollient cream'), '');
  });
});

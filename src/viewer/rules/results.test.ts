import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResultItem } from '../../records/viewer/patient-view.ts';
import { flagText, groupResults } from './results.ts';

const r = (id: string, date: string, value: number, extra: Partial<ResultItem> = {}): ResultItem => ({
  type: 'Observation',
  id,
  source: 's',
  text: 'HbA1c',
  code: 'sct|1',
  date,
  value,
  unit: 'mmol/mol',
  ...extra,
});

describe('results grouping', () => {
  it('groups a test over time, oldest first, with the latest range and flag; two values make a trend', () => {
    const series = groupResults([
      r('c', '2026-01-01', 58, { flag: 'H', low: 20, high: 42 }),
      r('a', '2024-01-01', 44, { low: 20, high: 42 }),
      r('b', '2025-01-01', 48),
      { ...r('x', '2023-01-01', 5), code: 'sct|2', text: 'Potassium' },
    ]);
    const hba1c = series.find((s) => s.code === 'sct|1');
    assert.ok(hba1c);
    assert.deepEqual(
      hba1c.points.map((p) => p.id),
      ['a', 'b', 'c'],
    );
    assert.equal(hba1c.latest.id, 'c');
    assert.equal(hba1c.trend, true);
    assert.equal(hba1c.abnormal, true);
    assert.equal(hba1c.high, 42);
    const k = series.find((s) => s.code === 'sct|2');
    assert.equal(k?.trend, false);
    assert.equal(series[0]?.code, 'sct|1', 'the most recently measured test first');
  });
  it('flag texts', () => {
    assert.equal(flagText('H'), 'High');
    assert.equal(flagText('N'), undefined);
    assert.equal(flagText('XYZ'), 'XYZ');
  });
});

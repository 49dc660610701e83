import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MatchRecord } from '../../mpi/types.ts';
import { birthDateText, compareRows, scoreBand, weightSum } from './mpi-compare.ts';

const left: MatchRecord = {
  id: 'a',
  nhsNumber: '9434765919',
  nhsVerified: true,
  given: 'ADA',
  family: 'LOVELACE',
  birthDate: '19451214',
  postcode: 'LS1 4AP',
};
const right: MatchRecord = { id: 'b', given: 'ADA', family: 'LOVELASE', birthDate: '1945', postcode: 'LS1 4AP' };
const vector = {
  nhsNumber: { level: 'missing', weight: 0 },
  given: { level: 'exact', weight: 2.5 },
  family: { level: 'fuzzy', weight: 4.1 },
  birthDate: { level: 'year', weight: 1.2 },
  postcode: { level: 'exact', weight: 6 },
  sex: { level: 'missing', weight: 0 },
};

describe('MPI review comparison', () => {
  it('aligns every field either record holds, marking agreement, level and weight', () => {
    const rows = compareRows(left, right, vector);
    assert.deepEqual(
      rows.map((r) => [r.field, r.left, r.right, r.agreement, r.level, r.weight]),
      [
        ['nhsNumber', '943 476 5919 (verified)', '', 'missing', 'missing', 0],
        ['family', 'LOVELACE', 'LOVELASE', 'different', 'fuzzy', 4.1],
        ['given', 'ADA', 'ADA', 'same', 'exact', 2.5],
        ['birthDate', '14 Dec 1945', '1945', 'different', 'year', 1.2],
        ['sex', '', '', 'missing', 'missing', 0],
        ['postcode', 'LS1 4AP', 'LS1 4AP', 'same', 'exact', 6],
      ],
    );
    assert.equal(weightSum(rows), 13.8);
  });

  it('shows the records even when the stored vector is missing or malformed', () => {
    for (const bad of [null, 'x', { given: 'exact' }, { given: { level: 3, weight: 'heavy' } }]) {
      const rows = compareRows(left, right, bad);
      assert.equal(rows.length, 5);
      assert.ok(rows.every((r) => r.weight === null && r.level === null));
    }
    assert.deepEqual(compareRows(null, null, null), []);
  });

  it('places the score against the thresholds', () => {
    const t = { link: 12, review: 6 };
    assert.equal(scoreBand(12, t), 'link');
    assert.equal(scoreBand(11.99, t), 'review');
    assert.equal(scoreBand(6, t), 'review');
    assert.equal(scoreBand(-2, t), 'below');
  });

  it('writes partial birth dates', () => {
    assert.equal(birthDateText('19450714'), '14 Jul 1945');
    assert.equal(birthDateText('194507'), 'Jul 1945');
    assert.equal(birthDateText('1945'), '1945');
    assert.equal(birthDateText('19451314'), '19451314');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MatchRecord } from '../../mpi/types.ts';
import { BulkIndex } from './bulk-index.ts';

const rec = (id: string, nhsNumber?: string): MatchRecord => ({ id, ...(nhsNumber ? { nhsNumber } : {}) });

/** p1…p6 of persons A, A, B, C, D, E; keys: k1 held by all six, k2 by p2 p3 p4, k3 by p4 p5. */
function index(): BulkIndex {
  const ix = new BulkIndex();
  const people = [
    ['p1', 'A', '9990000018'],
    ['p2', 'A', '9990000026'],
    ['p3', 'B', undefined],
    ['p4', 'C', '9990000034'],
    ['p5', 'D', undefined],
    ['p6', 'E', undefined],
  ] as const;
  for (const [p, person, nhs] of people)
    ix.addLink({ patientId: p, personId: person, record: rec(p, nhs), retired: false });
  ix.markOrdered();
  for (const p of ['p1', 'p2', 'p3', 'p4', 'p5', 'p6']) ix.addKey('k1', p);
  for (const p of ['p2', 'p3', 'p4']) ix.addKey('k2', p);
  for (const p of ['p4', 'p5']) ix.addKey('k3', p);
  return ix;
}

const ask = (ix: BulkIndex, keys: string[], o: { limit?: number; maxPerKey?: number; patientId?: string } = {}) =>
  ix.candidates({
    requests: [{ patientId: o.patientId ?? 'new', keys }],
    alsoCheck: [],
    limit: o.limit ?? 100,
    maxPerKey: o.maxPerKey ?? 1000,
    persons: [],
    decisionsFor: [o.patientId ?? 'new'],
  });

describe('BulkIndex answers the candidate reads as the SQL does', () => {
  it('ranks by shared keys, then patient id; leaves out the record itself', () => {
    const out = ask(index(), ['k1', 'k2', 'k3', 'k2'], { patientId: 'p3' });
    assert.deepEqual(
      out.candidates[0]?.map((c) => `${c.patientId}:${c.shared}`),
      ['p4:3', 'p2:2', 'p5:2', 'p1:1', 'p6:1'],
    );
  });

  it('takes the limit before dropping retired records, and a key held by more than maxPerKey is common', () => {
    const ix = index();
    ix.addLink({ patientId: 'p4', personId: 'C', record: rec('p4', '9990000034'), retired: true });
    const out = ask(ix, ['k1', 'k2', 'k3'], { limit: 2 });
    assert.deepEqual(
      out.candidates[0]?.map((c) => c.patientId),
      ['p2'],
      'p4 was ranked first, then dropped',
    );
    const common = ask(ix, ['k1', 'k3', 'nhs:9990000018'], { maxPerKey: 5 });
    assert.deepEqual([...common.common], ['k1']);
    assert.deepEqual(
      common.candidates[0]?.map((c) => c.patientId),
      ['p5'],
    );
  });

  it('newer records (out of id order) rank by their ids among the ordered ones', () => {
    const ix = index();
    ix.addLink({ patientId: 'p0', personId: 'F', record: rec('p0'), retired: false });
    ix.addKey('k3', 'p0');
    const out = ask(ix, ['k3']);
    assert.deepEqual(
      out.candidates[0]?.map((c) => c.patientId),
      ['p0', 'p4', 'p5'],
    );
  });

  it("gives the candidate persons' NHS numbers (live records only) and the not-same decisions", () => {
    const ix = index();
    ix.addNotSame('p5', 'new');
    const out = ask(ix, ['k2']);
    assert.deepEqual(out.personNhs.map((m) => `${m.personId}:${m.nhsNumber}`).sort(), [
      'A:9990000018',
      'A:9990000026',
      'C:9990000034',
    ]);
    assert.deepEqual(out.notSame, [['new', 'p5']]);
    ix.updateRecord('p2', rec('p2'));
    assert.deepEqual(ix.nhsOfPersons(['A']), [{ personId: 'A', nhsNumber: '9990000018' }], 'p2 lost its number');
  });

  it('forgets a removed key', () => {
    const ix = index();
    ix.removeKey('k3', 'p4');
    assert.deepEqual(
      ask(ix, ['k3']).candidates[0]?.map((c) => c.patientId),
      ['p5'],
    );
    ix.removeKey('k3', 'p5');
    assert.deepEqual(ask(ix, ['k3']).candidates[0], []);
  });
});

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

describe('BulkIndex ranking (ADR 0058: bucketed by shared keys, sorted only as far as the limit)', () => {
  /** The ranking as the candidate statement states it, written plainly. */
  function reference(
    held: Map<string, { keys: Set<string>; retired: boolean }>,
    keys: string[],
    own: string,
    limit: number,
    maxPerKey: number,
  ): string[] {
    const holders = (k: string) => [...held].filter(([, h]) => h.keys.has(k)).length;
    const useful = new Set(keys.filter((k) => holders(k) <= maxPerKey));
    return [...held]
      .filter(([p]) => p !== own)
      .map(([p, h]) => ({ p, h, shared: [...useful].filter((k) => h.keys.has(k)).length }))
      .filter((c) => c.shared > 0)
      .sort((a, b) => b.shared - a.shared || (a.p < b.p ? -1 : a.p > b.p ? 1 : 0))
      .slice(0, limit)
      .filter((c) => !c.h.retired)
      .map((c) => `${c.p}:${c.shared}`);
  }

  it('gives the rows of the plain ranking, in its order, over random indexes, limits and late records', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 40; round++) {
      const ix = new BulkIndex();
      const held = new Map<string, { keys: Set<string>; retired: boolean }>();
      const ids = Array.from({ length: 30 + Math.floor(rand() * 200) }, (_, i) => `p${String(i).padStart(4, '0')}`);
      const keyCount = 3 + Math.floor(rand() * 25);
      const add = (id: string) => {
        const retired = rand() < 0.05;
        ix.addLink({ patientId: id, personId: `P${id}`, record: rec(id), retired });
        held.set(id, { keys: new Set(), retired });
      };
      // Most records in id order (as loaded), then some written during the load, out of order.
      const late = ids.filter(() => rand() < 0.15);
      for (const id of ids) if (!late.includes(id)) add(id);
      ix.markOrdered();
      for (const id of late.reverse()) add(id);
      for (const id of held.keys())
        for (let k = 0; k < keyCount; k++)
          if (rand() < 0.3) {
            ix.addKey(`k${k}`, id);
            held.get(id)?.keys.add(`k${k}`);
          }
      for (const id of held.keys())
        if (rand() < 0.1) {
          const k = `k${Math.floor(rand() * keyCount)}`;
          ix.removeKey(k, id);
          held.get(id)?.keys.delete(k);
        }
      for (let ask = 0; ask < 10; ask++) {
        const keys = Array.from({ length: 1 + Math.floor(rand() * 8) }, () => `k${Math.floor(rand() * keyCount)}`);
        const own = rand() < 0.5 ? (ids[Math.floor(rand() * ids.length)] as string) : 'new';
        const limit = 1 + Math.floor(rand() * 60);
        const maxPerKey = 5 + Math.floor(rand() * 80);
        const out = ix.candidates({
          requests: [{ patientId: own, keys }],
          alsoCheck: [],
          limit,
          maxPerKey,
          persons: [],
          decisionsFor: [],
        });
        assert.deepEqual(
          out.candidates[0]?.map((c) => `${c.patientId}:${c.shared}`),
          reference(held, keys, own, limit, maxPerKey),
          `round ${round}, ask ${ask}`,
        );
      }
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coreMatchEngine } from '../records/mpi/engine.ts';
import { canReach, compileModel, scorePair } from './fellegi-sunter.ts';
import { loadRules } from './rules/load-rules.ts';
import { seededRandom, syntheticPerson, withTypo } from './synthetic.ts';
import type { MatchRecord } from './types.ts';

describe('canReach (the screen before scoring)', () => {
  const rules = loadRules();
  const model = compileModel(rules);
  const rand = seededRandom(20261206);
  const people = Array.from({ length: 400 }, (_, n) => syntheticPerson(rand, n));
  // Pairs of every kind: strangers, duplicates with a typo, duplicates with fields missing.
  const pairs: Array<[MatchRecord, MatchRecord]> = [];
  for (const [n, p] of people.entries()) {
    pairs.push([p, people[(n * 7 + 1) % people.length] as MatchRecord]);
    pairs.push([withTypo(rand, p, n % 2 === 0 ? 'given' : 'family'), p]);
    const { postcode: _pc, street: _st, ...moved } = p;
    pairs.push([{ ...moved, id: `${p.id}-moved` }, p]);
    // Scores all along the scale: each field from the person or from a stranger, at random.
    const other = people[(n * 13 + 5) % people.length] as MatchRecord;
    const mixed: Record<string, unknown> = { id: `${p.id}-mixed` };
    for (const k of new Set([...Object.keys(p), ...Object.keys(other)]))
      if (k !== 'id') mixed[k] = rand() < 0.5 ? p[k as keyof MatchRecord] : other[k as keyof MatchRecord];
    pairs.push([mixed as unknown as MatchRecord, p]);
  }

  it('never says false for a pair that scores at or above the floor, and screens most strangers out', () => {
    for (const floor of [rules.thresholds.review, rules.thresholds.link, 0, -10, 30]) {
      let screened = 0;
      for (const [a, b] of pairs) {
        const score = scorePair(model, a, b).score;
        const reach = canReach(model, a, b, floor);
        if (!reach) {
          screened++;
          assert.ok(score < floor, `screened out at floor ${floor} but scores ${score}: ${a.id} / ${b.id}`);
        }
      }
      if (floor === rules.thresholds.review) {
        assert.ok(screened >= people.length / 2, `only ${screened} screened`);
        // Pairs near the threshold are there (the bound is tested where it matters).
        const near = pairs.filter(([a, b]) => Math.abs(scorePair(model, a, b).score - floor) < 3).length;
        assert.ok(near >= 10, `only ${near} pairs near the threshold`);
      }
    }
  });

  it('stops within a field only when its best remaining level cannot reach the floor (ADR 0058)', () => {
    // Pairs whose name fields land on a level weighing more than an earlier one (swapped names; a former
    // surname, which outweighs the squashed and jw92 levels before it): the screen is exact at their score.
    const base = people.filter((p) => p.given !== undefined && p.family !== undefined).slice(0, 50);
    const odd: Array<[MatchRecord, MatchRecord]> = base.flatMap((p) => [
      [{ ...p, id: `${p.id}-swapped`, given: p.family, family: p.given }, p],
      [{ ...p, id: `${p.id}-married`, family: 'zzyzx', formerFamilies: [p.family] }, p],
    ]);
    for (const [a, b] of [...odd, ...pairs.slice(0, 200)]) {
      const { score } = scorePair(model, a, b);
      assert.equal(canReach(model, a, b, score), true, `${a.id}: screened out at its own score ${score}`);
      assert.equal(canReach(model, a, b, score + 0.01), false, `${a.id}: not screened out just above ${score}`);
    }
  });

  it("the engine's screen keeps every pair sharing an NHS number and every pair it would link or review", () => {
    const engine = coreMatchEngine(rules);
    const p = people.find((x) => x.nhsNumber !== undefined) as MatchRecord;
    const stranger = people.find((x) => x.nhsNumber === undefined && x.birthDate !== p.birthDate) as MatchRecord;
    // A stranger carrying the same NHS number: reviewed with the reason (never screened out).
    const sameNumber = { ...stranger, nhsNumber: p.nhsNumber };
    assert.equal(engine.couldMatch?.(sameNumber, p), true);
    assert.notEqual(engine.score(sameNumber, p).decision, 'new');
    for (const [a, b] of pairs) {
      if (engine.couldMatch && !engine.couldMatch(a, b)) assert.equal(engine.score(a, b).decision, 'new');
    }
  });
});

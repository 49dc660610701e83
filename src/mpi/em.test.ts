import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateParameters } from './em.ts';
import { compileModel, type LevelVector } from './fellegi-sunter.ts';
import { validateRules } from './rules/load-rules.ts';
import { seededRandom } from './synthetic.ts';

const rules = validateRules({
  version: 'em-test',
  thresholds: { link: 5, review: 0 },
  candidateLimit: 10,
  maxBlockSize: 10,
  termFrequencyCap: 0,
  blocking: [{ name: 'dob', parts: [{ field: 'birthDate' }] }],
  fields: ['given', 'family', 'birthDate', 'postcode'].map((field) => ({
    field,
    levels: [
      { name: 'agree', test: { kind: 'exact' }, m: 0.7, u: 0.2 },
      { name: 'different', test: { kind: 'else' }, m: 0.3, u: 0.8 },
    ],
  })),
  guards: [],
});

describe('EM', () => {
  it('recovers lambda, m and u from unlabelled vectors', () => {
    const rand = seededRandom(7);
    const trueM = [0.95, 0.9, 0.97, 0.85];
    const trueU = [0.05, 0.02, 0.01, 0.1];
    const vectors: LevelVector[] = [];
    for (let i = 0; i < 20_000; i++) {
      const match = rand() < 0.3;
      const p = match ? trueM : trueU;
      vectors.push(Int8Array.from(p.map((x) => (rand() < x ? 0 : 1))));
    }
    const est = estimateParameters(compileModel(rules), vectors);
    assert.ok(est.converged);
    assert.ok(Math.abs(est.lambda - 0.3) < 0.02, `lambda ${est.lambda}`);
    est.rules.fields.forEach((f, i) => {
      const agree = f.levels[0];
      assert.ok(agree);
      assert.ok(Math.abs(agree.m - (trueM[i] ?? 0)) < 0.03, `m ${f.field} ${agree.m}`);
      assert.ok(Math.abs(agree.u - (trueU[i] ?? 0)) < 0.03, `u ${f.field} ${agree.u}`);
    });
    assert.equal(est.rules.version, 'em-test+em');
  });

  it('ignores missing fields and can keep u fixed', () => {
    const vectors = [Int8Array.from([0, -1, 0, 0]), Int8Array.from([1, -1, 1, 1]), Int8Array.from([0, -1, 0, 1])];
    const est = estimateParameters(compileModel(rules), vectors, { fixU: true });
    assert.equal(est.rules.fields[1]?.levels[0]?.u, 0.2);
    assert.equal(est.rules.fields[0]?.levels[0]?.u, 0.2);
  });
});

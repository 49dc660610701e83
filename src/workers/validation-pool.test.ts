/**
 * The validation pool's set validation (`validateMany`, ADR 0048): the same verdict for every resource,
 * in order, as validating each alone, whether the set is validated inline, in one worker, or split between
 * two; a set below `manyMin` stays on the calling thread.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { assertValid } from '../fhir/validation.ts';
import { IcrError } from '../shared/errors.ts';
import { createValidationPool, type ValidationPool } from './validation-pool.ts';

const observation = (n: number) => ({
  resourceType: 'Observation',
  id: `obs-${n}`,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: 'Patient/p1' },
  valueQuantity: { value: n, unit: '/min' },
});

/** 40 resources, three of them invalid in different ways, at known places. */
function set(): unknown[] {
  const out: unknown[] = Array.from({ length: 40 }, (_, n) => observation(n));
  out[3] = { ...observation(3), status: 'not-a-status' };
  out[21] = { ...observation(21), valueQuantity: { value: 'seventy' } };
  out[39] = { resourceType: 'NoSuchType', id: 'x' };
  return out;
}

function expected(resources: unknown[]): Array<string | undefined> {
  return resources.map((r) => {
    try {
      assertValid(r);
      return undefined;
    } catch (err) {
      assert.ok(err instanceof IcrError);
      return `${err.code} ${err.message} ${JSON.stringify(err.details)}`;
    }
  });
}

const shown = (verdicts: Array<IcrError | undefined>) =>
  verdicts.map((e) => (e ? `${e.code} ${e.message} ${JSON.stringify(e.details)}` : undefined));

describe('validation pool: validateMany', () => {
  const pools: ValidationPool[] = [];
  after(async () => {
    for (const p of pools) await p.close();
  });

  for (const threads of [0, 1, 2]) {
    it(`gives each resource its own verdict, in order (${threads} worker threads)`, async () => {
      const pool = createValidationPool({ threads, workerBytes: 65_536, workerNodes: 2_000 });
      pools.push(pool);
      const resources = set();
      const verdicts = await pool.validateMany(resources);
      assert.equal(verdicts.length, resources.length);
      assert.deepEqual(shown(verdicts), expected(resources));
      assert.equal(verdicts.filter(Boolean).length, 3);
      assert.equal(verdicts[3]?.code, 'ICR_VALIDATION_FAILED');
      // Sent to the workers in one share per thread; none with no threads.
      assert.equal(pool.offloaded, threads);
    });
  }

  it('validates a set smaller than manyMin on the calling thread', async () => {
    const pool = createValidationPool({ threads: 1, workerBytes: 65_536, workerNodes: 2_000, manyMin: 50 });
    pools.push(pool);
    const resources = set();
    assert.deepEqual(shown(await pool.validateMany(resources)), expected(resources));
    assert.equal(pool.offloaded, 0);
    assert.deepEqual(await pool.validateMany([]), []);
    // …except a resource too large for the server's thread, which goes to a worker as `validate` sends it.
    const big = { ...observation(99), note: Array.from({ length: 1_200 }, (_, n) => ({ text: `note ${n}` })) };
    assert.deepEqual(await pool.validateMany([observation(1), big]), [undefined, undefined]);
    assert.equal(pool.offloaded, 1);
  });
});

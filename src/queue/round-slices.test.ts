import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIRST_SLICE, nextMsPerJob, sliceSize } from './round-slices.ts';

describe('round slices (time-bounded rounds)', () => {
  it('takes a few jobs before anything is measured', () => {
    assert.equal(sliceSize(200, 100, undefined), FIRST_SLICE);
    assert.equal(sliceSize(3, 100, undefined), 3);
  });

  it('fits the budget at the measured time per job, at least one job, at most what is left', () => {
    assert.equal(sliceSize(200, 100, 4), 25);
    assert.equal(sliceSize(10, 100, 4), 10);
    assert.equal(sliceSize(200, 100, 250), 1);
    assert.equal(sliceSize(0, 100, 4), 0);
  });

  it('refuses a budget or a count that makes no sense', () => {
    assert.throws(() => sliceSize(10, 0, 4), /round budget must be a positive number/);
    assert.throws(() => sliceSize(-1, 100, 4), /jobs left must be a whole number/);
    assert.throws(() => sliceSize(1.5, 100, 4), /jobs left must be a whole number/);
  });

  it('follows the measured time per job', () => {
    assert.equal(nextMsPerJob(undefined, 40, 10), 4);
    assert.equal(nextMsPerJob(4, 100, 10), 4 * 0.7 + 10 * 0.3);
    assert.equal(nextMsPerJob(4, 100, 0), 4, 'an empty slice tells nothing');
  });
});

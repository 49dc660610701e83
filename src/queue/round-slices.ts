/**
 * How many jobs of a round to apply in one go when rounds are bounded in time (`roundBudgetMs` of the
 * worker, set on PGlite: ADR 0053). Pure: the worker measures, this decides.
 */

/** Jobs per slice before any time per job has been measured. */
export const FIRST_SLICE = 8;

/**
 * The size of the next slice of a round: as many jobs as fit in `budgetMs` at the measured time per job
 * (`msPerJob`, undefined before the first measurement), at least one, at most what is left.
 */
export function sliceSize(left: number, budgetMs: number, msPerJob: number | undefined): number {
  if (!Number.isInteger(left) || left < 0) throw new RangeError(`jobs left must be a whole number ≥ 0, not ${left}`);
  if (!(budgetMs > 0)) throw new RangeError(`round budget must be a positive number of milliseconds, not ${budgetMs}`);
  if (left === 0) return 0;
  const fit = msPerJob === undefined || !(msPerJob > 0) ? FIRST_SLICE : Math.floor(budgetMs / msPerJob);
  return Math.max(1, Math.min(left, fit));
}

/** Time per job after one more slice: a moving average that follows the load within a few slices. */
export function nextMsPerJob(previous: number | undefined, sliceMs: number, jobs: number): number | undefined {
  if (jobs <= 0 || !(sliceMs >= 0)) return previous;
  const sample = sliceMs / jobs;
  return previous === undefined ? sample : previous * 0.7 + sample * 0.3;
}

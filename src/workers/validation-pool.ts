/**
 * The validation pool: CPU-heavy checks of large bodies run in worker threads (tinypool, ADR 0038), so
 * that one hostile body cannot hold the event loop that answers `/healthz` and every other request.
 *
 * - `parseBody`: a request body of `workerBytes` or more is parsed and held to the JSON limits in a
 *   worker first; only a body that passes is parsed again on the server's thread (a refused one never
 *   is). Smaller bodies are parsed inline, where a worker's round trip would cost more than the work.
 * - `validate`: R4 validation of a resource with more than `workerNodes` JSON values runs in a worker
 *   (the resource crosses as JSON text); smaller ones inline. It is the records service's validator,
 *   so every channel (FHIR API, bundles, feeds, imports) gets it.
 * - `validateMany`: a set write's resources (a feed's transaction Bundle, ADR 0048), `manyMin` or more of
 *   them, are validated in the workers, split in one share per thread and sent as one JSON array each,
 *   while the server's thread prepares the same set's index rows; one verdict per resource comes back.
 *
 * Both give up when the current request's budget runs out (src/shared/deadline.ts): the worker is
 * stopped and the caller gets ICR_REQUEST_TIMEOUT. With `threads: 0` everything runs inline.
 */
import Tinypool from 'tinypool';
import { parseJsonBody } from '../fhir/json-body.ts';
import type { JsonLimits } from '../fhir/json-limits.ts';
import { assertValid } from '../fhir/validation.ts';
import { deadlineSignal, remainingMs, timeoutError } from '../shared/deadline.ts';
import { IcrError } from '../shared/errors.ts';
import type { WorkerTask, WorkerVerdict } from './validation-worker.ts';

export interface ValidationPoolOptions {
  /** Worker threads; 0: everything inline. */
  threads: number;
  /** Bodies of at least this many characters are parsed and checked in a worker first. */
  workerBytes: number;
  /** Resources with more JSON values than this are validated in a worker. */
  workerNodes: number;
  /** Sets of at least this many resources are validated in the workers (`validateMany`); default 32. */
  manyMin?: number;
}

export interface ValidationPool {
  parseBody(text: string, limits: JsonLimits): unknown;
  validate(resource: unknown): void | Promise<void>;
  /**
   * Validates every resource of a set: for each, in order, undefined (valid) or the IcrError that
   * `validate` would throw. Anything else that goes wrong rejects the whole call.
   */
  validateMany(resources: readonly unknown[]): Promise<Array<IcrError | undefined>>;
  /** Tasks run in workers so far (for tests and metrics). */
  readonly offloaded: number;
  close(): Promise<void>;
}

/** Whether `value` holds more than `max` JSON values (objects, arrays, primitives); stops counting past it. */
export function largerThan(value: unknown, max: number): boolean {
  const stack: unknown[] = [value];
  let n = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (++n > max) return true;
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      if (n + v.length > max) return true;
      for (const x of v) stack.push(x);
    } else {
      for (const k in v) if (Object.hasOwn(v, k)) stack.push((v as Record<string, unknown>)[k]);
    }
  }
  return false;
}

export function createValidationPool(opts: ValidationPoolOptions): ValidationPool {
  const pool =
    opts.threads > 0
      ? new Tinypool({
          filename: new URL('./validation-worker.ts', import.meta.url).href,
          minThreads: opts.threads,
          maxThreads: opts.threads,
          // Workers stay up: each loads the R4 definitions once.
          idleTimeout: 0,
        })
      : undefined;
  let offloaded = 0;

  const errorOf = (v: WorkerVerdict): IcrError | undefined =>
    v.ok ? undefined : new IcrError(v.code, v.message, { details: v.details });

  async function inWorker(task: WorkerTask): Promise<void> {
    const verdict = (await runTask(task)) as WorkerVerdict;
    const err = errorOf(verdict);
    if (err) throw err;
  }

  async function runTask(task: WorkerTask): Promise<WorkerVerdict | WorkerVerdict[]> {
    if (!pool) throw new Error('no validation pool');
    const left = remainingMs();
    if (left !== undefined && left <= 0) throw timeoutError(0);
    const signal = deadlineSignal();
    offloaded++;
    try {
      return (await pool.run(task, signal ? { signal } : {})) as WorkerVerdict | WorkerVerdict[];
    } catch (err) {
      // The budget ran out: the worker was stopped (tinypool starts another).
      if (signal?.aborted) throw timeoutError(Math.round(left ?? 0));
      throw err;
    }
  }

  function validateOne(resource: unknown): void | Promise<void> {
    if (!pool || !largerThan(resource, opts.workerNodes)) {
      assertValid(resource);
      return;
    }
    return inWorker({ kind: 'validate', text: JSON.stringify(resource) });
  }

  function validateInline(resource: unknown): IcrError | undefined {
    try {
      assertValid(resource);
      return undefined;
    } catch (err) {
      if (err instanceof IcrError) return err;
      throw err;
    }
  }

  return {
    get offloaded() {
      return offloaded;
    },
    parseBody(text, limits) {
      if (!pool || text.length < opts.workerBytes) return parseJsonBody(text, limits);
      return inWorker({ kind: 'parse', text, limits }).then(() => JSON.parse(text) as unknown);
    },
    validate: validateOne,
    async validateMany(resources) {
      if (!pool) return resources.map(validateInline);
      if (resources.length < (opts.manyMin ?? 32)) {
        // A small set: each as `validate` would (a large resource still goes to a worker).
        const out: Array<IcrError | undefined> = [];
        for (const r of resources) {
          try {
            await validateOne(r);
            out.push(undefined);
          } catch (err) {
            if (!(err instanceof IcrError)) throw err;
            out.push(err);
          }
        }
        return out;
      }
      // One share per thread, each crossing as one JSON text (a structured clone of many small objects
      // costs more than stringifying them here and parsing them there).
      const shares = Math.min(opts.threads, resources.length);
      const size = Math.ceil(resources.length / shares);
      const parts = await Promise.all(
        Array.from({ length: shares }, (_, n) =>
          runTask({ kind: 'validate-many', text: JSON.stringify(resources.slice(n * size, (n + 1) * size)) }),
        ),
      );
      const out = parts.flatMap((p) => (p as WorkerVerdict[]).map(errorOf));
      if (out.length !== resources.length) throw new Error('validation workers returned the wrong number of verdicts');
      return out;
    },
    async close() {
      await pool?.destroy();
    },
  };
}

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
}

export interface ValidationPool {
  parseBody(text: string, limits: JsonLimits): unknown;
  validate(resource: unknown): void | Promise<void>;
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

  async function inWorker(task: WorkerTask): Promise<void> {
    if (!pool) throw new Error('no validation pool');
    const left = remainingMs();
    if (left !== undefined && left <= 0) throw timeoutError(0);
    const signal = deadlineSignal();
    offloaded++;
    let verdict: WorkerVerdict;
    try {
      verdict = (await pool.run(task, signal ? { signal } : {})) as WorkerVerdict;
    } catch (err) {
      // The budget ran out: the worker was stopped (tinypool starts another).
      if (signal?.aborted) throw timeoutError(Math.round(left ?? 0));
      throw err;
    }
    if (!verdict.ok) throw new IcrError(verdict.code, verdict.message, { details: verdict.details });
  }

  return {
    get offloaded() {
      return offloaded;
    },
    parseBody(text, limits) {
      if (!pool || text.length < opts.workerBytes) return parseJsonBody(text, limits);
      return inWorker({ kind: 'parse', text, limits }).then(() => JSON.parse(text) as unknown);
    },
    validate(resource) {
      if (!pool || !largerThan(resource, opts.workerNodes)) {
        assertValid(resource);
        return;
      }
      return inWorker({ kind: 'validate', text: JSON.stringify(resource) });
    },
    async close() {
      await pool?.destroy();
    },
  };
}

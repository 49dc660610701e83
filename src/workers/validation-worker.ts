/**
 * A validation worker (run by src/workers/validation-pool.ts in a worker thread): the CPU-heavy checks of
 * a large body, off the server's event loop. Each task gets JSON text and answers `{ ok: true }` or the
 * refusal as plain data (code, message, details), which the pool turns back into the same IcrError the
 * inline check would throw. Only the verdict crosses back: copying a large parsed object between threads
 * costs more than parsing it again.
 */
import { parseJsonBody } from '../fhir/json-body.ts';
import type { JsonLimits } from '../fhir/json-limits.ts';
import { assertValid, initValidation } from '../fhir/validation.ts';
import { type ErrorCode, type ErrorDetail, isIcrError } from '../shared/errors.ts';

export type WorkerTask =
  | { kind: 'parse'; text: string; limits: JsonLimits }
  | { kind: 'validate'; text: string }
  /** A JSON array of resources (a set write's share): one verdict each, in order. */
  | { kind: 'validate-many'; text: string };

export type WorkerVerdict = { ok: true } | { ok: false; code: ErrorCode; message: string; details: ErrorDetail[] };

function verdictOf(err: unknown): WorkerVerdict {
  if (!isIcrError(err)) throw err;
  return { ok: false, code: err.code, message: err.message, details: err.details.map((d) => ({ ...d })) };
}

initValidation();

export default function run(task: WorkerTask): WorkerVerdict | WorkerVerdict[] {
  if (task.kind === 'validate-many') {
    return (JSON.parse(task.text) as unknown[]).map((resource) => {
      try {
        assertValid(resource);
        return { ok: true };
      } catch (err) {
        return verdictOf(err);
      }
    });
  }
  try {
    if (task.kind === 'parse') parseJsonBody(task.text, task.limits);
    else assertValid(JSON.parse(task.text));
    return { ok: true };
  } catch (err) {
    return verdictOf(err);
  }
}

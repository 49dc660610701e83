/**
 * The time budget of the request being served, carried through its async work (AsyncLocalStorage) so
 * that the code that can give up — a validation worker, the commit of a write — knows when to: the HTTP
 * layer enters a deadline for each FHIR request (`ICR_REQUEST_TIMEOUT_MS`); outside a request there is
 * none. No I/O.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { IcrError } from './errors.ts';

interface Budget {
  /** `performance.now()` at which the budget runs out. */
  deadline: number;
  ms: number;
}

const current = new AsyncLocalStorage<Budget>();

/** Runs `fn` (and every async continuation it starts) under a budget of `ms` milliseconds; 0: none. */
export function withDeadline<T>(ms: number, fn: () => T): T {
  if (ms <= 0) return fn();
  return current.run({ deadline: performance.now() + ms, ms }, fn);
}

/** Milliseconds left in the current budget; undefined when there is none. */
export function remainingMs(): number | undefined {
  const b = current.getStore();
  return b === undefined ? undefined : b.deadline - performance.now();
}

/** The error a request gets when its budget runs out. */
export function timeoutError(ms: number): IcrError {
  return new IcrError('ICR_REQUEST_TIMEOUT', `The request did not finish within ${ms} ms`);
}

/** Throws ICR_REQUEST_TIMEOUT when the current budget has run out (call before committing work). */
export function checkDeadline(): void {
  const b = current.getStore();
  if (b !== undefined && performance.now() >= b.deadline) throw timeoutError(b.ms);
}

/** An AbortSignal that fires when the current budget runs out; undefined when there is none. */
export function deadlineSignal(): AbortSignal | undefined {
  const left = remainingMs();
  return left === undefined ? undefined : AbortSignal.timeout(Math.max(0, Math.ceil(left)));
}

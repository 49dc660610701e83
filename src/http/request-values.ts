/**
 * Values taken from JSON request bodies and query strings of the `/api` routes, checked the one way: a
 * missing or mistyped value is a 400 naming it, never a crash or a silent default.
 */
import { IcrError } from '../shared/errors.ts';

/** The body as a JSON object (an array, `null` or a scalar is refused). */
export function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new IcrError('ICR_BAD_REQUEST', 'The body must be a JSON object');
  return body as Record<string, unknown>;
}

/** A required, non-blank text member. */
export function text(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v.trim() === '') throw new IcrError('ICR_BAD_REQUEST', `"${name}" is required (text)`);
  return v;
}

/** An optional text member (absent or `null` gives undefined). */
export function optionalText(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new IcrError('ICR_BAD_REQUEST', `"${name}" must be text`);
  return v;
}

/** A whole-number query value of at most six digits, or `fallback` when absent. */
export function wholeNumber(raw: string | null, name: string, fallback: number): number {
  if (raw === null) return fallback;
  if (!/^\d{1,6}$/.test(raw)) throw new IcrError('ICR_BAD_REQUEST', `${name} must be a whole number`);
  return Number(raw);
}

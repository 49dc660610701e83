/**
 * Declared relationships and emergency access (break-glass; DESIGN.md §6 step 4): the reasons a user may
 * give, and what a request must hold. Pure: no I/O.
 */
import { IcrError } from '../shared/errors.ts';

/** The documented reasons (docs/access.md). Emergency access also needs free text. */
export const GRANT_REASONS = {
  'direct-care': 'Providing direct care now (no relationship recorded yet)',
  'new-registration': 'Newly registered or admitted; the record has not caught up',
  referral: 'Referral received',
  'covering-colleague': 'Covering for a colleague who has a relationship',
  safeguarding: 'Safeguarding concern',
  'emergency-treatment': 'Emergency treatment',
  'patient-unconscious': 'The person cannot give their details (emergency)',
} as const;

export type GrantReason = keyof typeof GRANT_REASONS;
export type GrantKind = 'declared' | 'emergency';

export interface GrantRequest {
  patient: string;
  kind: GrantKind;
  reason: GrantReason;
  text: string | null;
}

const MAX_TEXT = 1000;

/** Checks a grant request body, with a precise message for each fault. */
export function parseGrantRequest(body: unknown): GrantRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new IcrError('ICR_BAD_REQUEST', 'The body must be a JSON object {patient, kind, reason, text}');
  }
  const b = body as Record<string, unknown>;
  if (typeof b.patient !== 'string' || !/^(Patient\/)?[A-Za-z0-9\-.]{1,64}$/.test(b.patient)) {
    throw new IcrError('ICR_BAD_REQUEST', 'patient must be a Patient id (or Patient/<id>)');
  }
  if (b.kind !== 'declared' && b.kind !== 'emergency') {
    throw new IcrError('ICR_BAD_REQUEST', 'kind must be "declared" or "emergency"');
  }
  if (typeof b.reason !== 'string' || !Object.hasOwn(GRANT_REASONS, b.reason)) {
    throw new IcrError('ICR_BAD_REQUEST', `reason must be one of: ${Object.keys(GRANT_REASONS).join(', ')}`);
  }
  if (b.text !== undefined && b.text !== null && typeof b.text !== 'string') {
    throw new IcrError('ICR_BAD_REQUEST', 'text must be a string');
  }
  const text = typeof b.text === 'string' ? b.text.trim() : '';
  if (text.length > MAX_TEXT) throw new IcrError('ICR_BAD_REQUEST', `text must be at most ${MAX_TEXT} characters`);
  if (b.kind === 'emergency' && text.length === 0) {
    throw new IcrError('ICR_BAD_REQUEST', 'Emergency access needs text saying why (reason and text are required)');
  }
  return {
    patient: b.patient.replace(/^Patient\//, ''),
    kind: b.kind,
    reason: b.reason as GrantReason,
    text: text === '' ? null : text,
  };
}

/**
 * The one place an error becomes a FHIR OperationOutcome (docs/errors.md).
 *
 * An IcrError keeps its HTTP status; each of its details becomes one issue, with the element's FHIRPath
 * in `expression` and the message in `diagnostics` and `details.text`, and every issue carries the
 * stable ICR_… code in `details.coding`. Anything else is a 500 whose body says only that something went
 * wrong (and the request id, when given): never the internal message, the stack or resource content.
 * An IcrError with code ICR_INTERNAL is treated the same way.
 */

import { IcrError } from '../shared/errors.ts';
import type { FhirResource } from './types.ts';

/** The system of the `details.coding` that carries OpenICR's stable error code in each issue. */
export const ICR_ERROR_CODE_SYSTEM = 'urn:openicr:error-code';

export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

export interface OperationOutcomeIssue {
  severity: IssueSeverity;
  code: string;
  details?: { coding?: Array<{ system: string; code: string }>; text?: string };
  diagnostics?: string;
  expression?: string[];
}

export interface OperationOutcome extends FhirResource {
  resourceType: 'OperationOutcome';
  issue: OperationOutcomeIssue[];
}

export interface ToOperationOutcomeOptions {
  /** Put in the message of a 500 so that the caller can quote it to support. */
  requestId?: string;
}

/** Turns any thrown value into an HTTP status and an OperationOutcome body. */
export function toOperationOutcome(
  err: unknown,
  options: ToOperationOutcomeOptions = {},
): { status: number; body: OperationOutcome } {
  if (!(err instanceof IcrError) || err.code === 'ICR_INTERNAL') {
    return { status: 500, body: internalError(options.requestId) };
  }
  const coding = [{ system: ICR_ERROR_CODE_SYSTEM, code: err.code }];
  const issues: OperationOutcomeIssue[] =
    err.details.length === 0
      ? [{ severity: 'error', code: err.issue, details: { coding, text: err.message }, diagnostics: err.message }]
      : err.details.map((d) => ({
          severity: d.severity ?? 'error',
          code: d.issue ?? err.issue,
          details: { coding, text: d.message },
          diagnostics: d.message,
          ...(d.expression ? { expression: [d.expression] } : {}),
        }));
  return { status: err.status, body: { resourceType: 'OperationOutcome', issue: issues } };
}

/** An OperationOutcome with one issue, for informational results (`All OK`, a deletion, a warning). */
export function operationOutcome(severity: IssueSeverity, code: string, text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text }, diagnostics: text }] };
}

function internalError(requestId: string | undefined): OperationOutcome {
  const text =
    requestId === undefined
      ? 'An internal error occurred.'
      : `An internal error occurred. Quote request id ${requestId} to support.`;
  const coding = [{ system: ICR_ERROR_CODE_SYSTEM, code: 'ICR_INTERNAL' }];
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'exception', details: { coding, text }, diagnostics: text }],
  };
}

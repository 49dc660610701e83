/**
 * One error type for the whole product. Each error has a stable code (documented in
 * docs/errors.md, checked by a test), an HTTP status, a FHIR issue code and a message that is
 * safe to show to the caller. `cause` is for logs only and never leaves the server.
 */

export const ErrorCodes = {
  ICR_BAD_REQUEST: { status: 400, issue: 'invalid' },
  ICR_INVALID_JSON: { status: 400, issue: 'structure' },
  ICR_INVALID_RESOURCE: { status: 400, issue: 'invalid' },
  ICR_VALIDATION_FAILED: { status: 422, issue: 'processing' },
  ICR_INVALID_SEARCH: { status: 400, issue: 'invalid' },
  ICR_UNKNOWN_SEARCH_PARAM: { status: 400, issue: 'not-supported' },
  ICR_UNSUPPORTED_TYPE: { status: 404, issue: 'not-supported' },
  ICR_NOT_FOUND: { status: 404, issue: 'not-found' },
  ICR_GONE: { status: 410, issue: 'deleted' },
  ICR_VERSION_CONFLICT: { status: 412, issue: 'conflict' },
  ICR_CONFLICT: { status: 409, issue: 'conflict' },
  ICR_MULTIPLE_MATCHES: { status: 412, issue: 'multiple-matches' },
  ICR_PAYLOAD_TOO_LARGE: { status: 413, issue: 'too-costly' },
  ICR_UNSUPPORTED_MEDIA_TYPE: { status: 415, issue: 'not-supported' },
  ICR_METHOD_NOT_ALLOWED: { status: 405, issue: 'not-supported' },
  ICR_UNAUTHENTICATED: { status: 401, issue: 'login' },
  ICR_ACCESS_DENIED: { status: 403, issue: 'forbidden' },
  ICR_LAUNCH_REFUSED: { status: 401, issue: 'login' },
  ICR_SIGN_IN_REFUSED: { status: 403, issue: 'forbidden' },
  ICR_CSRF_INVALID: { status: 403, issue: 'forbidden' },
  ICR_RATE_LIMITED: { status: 429, issue: 'throttled' },
  ICR_NOT_IMPLEMENTED: { status: 501, issue: 'not-supported' },
  ICR_DATABASE_UNAVAILABLE: { status: 503, issue: 'transient' },
  ICR_MIGRATION_MISMATCH: { status: 500, issue: 'exception' },
  ICR_IMPORT_FAILED: { status: 400, issue: 'invalid' },
  ICR_INTERNAL: { status: 500, issue: 'exception' },
  ICR_NOT_ACCEPTABLE: { status: 406, issue: 'not-supported' },
  ICR_MPI_RULES_INVALID: { status: 500, issue: 'invalid' },
  ICR_MPI_INPUT_INVALID: { status: 400, issue: 'invalid' },
  ICR_PDS_UNAVAILABLE: { status: 502, issue: 'transient' },
  ICR_UNKNOWN_ROLE: { status: 400, issue: 'invalid' },
  ICR_UNKNOWN_USER: { status: 404, issue: 'not-found' },
  ICR_ACCESS_MATRIX_INVALID: { status: 500, issue: 'invalid' },
  ICR_CROSS_PERSON_SEARCH: { status: 403, issue: 'forbidden' },
  ICR_LIMIT_EXCEEDED: { status: 400, issue: 'too-costly' },
  ICR_REQUEST_TIMEOUT: { status: 503, issue: 'timeout' },
  ICR_URI_TOO_LONG: { status: 414, issue: 'too-costly' },
  ICR_HEADERS_TOO_LARGE: { status: 431, issue: 'too-costly' },
  ICR_SENSITIVE_EXCLUDED: { status: 422, issue: 'business-rule' },
} as const satisfies Record<string, { status: number; issue: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

/** One problem inside an error, with the FHIRPath location of the element at fault when known. */
export interface ErrorDetail {
  message: string;
  /** FHIRPath expression, e.g. `Patient.name[0].given[1]`. */
  expression?: string;
  severity?: 'error' | 'warning' | 'information';
  issue?: string;
}

export class IcrError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly issue: string;
  readonly details: readonly ErrorDetail[];

  constructor(code: ErrorCode, message: string, options?: { details?: ErrorDetail[]; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IcrError';
    this.code = code;
    this.status = ErrorCodes[code].status;
    this.issue = ErrorCodes[code].issue;
    this.details = options?.details ?? [];
  }
}

export function isIcrError(e: unknown): e is IcrError {
  return e instanceof IcrError;
}

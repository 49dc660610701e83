/** One problem found by validation. Compatible with `ErrorDetail` in src/shared/errors.ts. */
export interface ValidationIssue {
  severity: 'error' | 'warning' | 'information';
  /** FHIR IssueType code: `structure`, `required`, `value`, `invariant`, `code-invalid`, `invalid`, `not-supported`… */
  issue: string;
  /**
   * FHIRPath of the element at fault, e.g. `Patient.name[0].given[1]` or
   * `Observation.value.ofType(Quantity).value`. Absent only when the input is not a JSON object at all.
   */
  expression?: string;
  message: string;
}

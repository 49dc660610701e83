/**
 * Merges what medplum's validation rules report (validation-structure.ts, or medplum's own validator)
 * with OpenICR's own checks (validation-checks.ts) into one list of issues with FHIRPath expressions.
 */

import type { ValidationIssue } from './validation-issue.ts';
import type { RawIssue } from './validation-structure.ts';
import { toFhirPath } from './validation-paths.ts';

/** Medplum messages that OpenICR replaces with its own, stricter checks (validation-checks.ts). */
const REPLACED = [/^Invalid reference: /, /^Conflicting choice of type properties/];
const NOT_AN_OBJECT = 'Invalid JSON type: expected an object';

/**
 * Medplum's issues first, in its order, then OpenICR's; one issue per expression and message. Where
 * OpenICR found a complex value of the wrong JSON type, medplum's issues inside it are dropped, and where
 * medplum already refused an element, OpenICR's stricter check on the same element adds nothing.
 */
export function mergeIssues(
  medplum: readonly RawIssue[],
  extra: readonly ValidationIssue[],
  resource: Record<string, unknown>,
): ValidationIssue[] {
  const root = String(resource.resourceType);
  // The expressions of complex values of the wrong JSON type, each with its `.`: a set, so that the test
  // of each medplum issue costs its path's length, not the number of such values (it was quadratic).
  const wrongJsonType = new Set(
    extra.filter((i) => i.message.startsWith(NOT_AN_OBJECT)).map((i) => `${i.expression ?? ''}.`),
  );
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const raw of medplum) {
    if (REPLACED.some((re) => re.test(raw.text))) continue;
    const expression = toFhirPath(raw.path ?? root, resource);
    if (wrongJsonType.size > 0 && insideAny(expression, wrongJsonType)) continue;
    push(issues, seen, {
      severity: raw.severity === 'fatal' ? 'error' : raw.severity,
      issue: raw.text === 'Missing required property' ? 'required' : raw.code,
      expression,
      message: raw.text,
    });
  }
  const flagged = new Set(issues.map((i) => i.expression));
  for (const i of extra) {
    const expression = toFhirPath(i.expression ?? root, resource);
    if (!flagged.has(expression)) push(issues, seen, { ...i, expression });
  }
  return issues;
}

/** True when some prefix of `expression` ending in `.` is in `prefixes`. */
function insideAny(expression: string, prefixes: ReadonlySet<string>): boolean {
  for (let i = expression.indexOf('.'); i >= 0; i = expression.indexOf('.', i + 1)) {
    if (prefixes.has(expression.slice(0, i + 1))) return true;
  }
  return false;
}

function push(issues: ValidationIssue[], seen: Set<string>, issue: ValidationIssue): void {
  const key = `${issue.expression ?? ''}\u0000${issue.message}`;
  if (seen.has(key)) return;
  seen.add(key);
  issues.push(issue);
}

/**
 * FHIRPath invariants that @medplum/core's validator never evaluates. It checks the invariants of the
 * root resource and of each element definition, but not those declared on a data type or on a
 * contained resource: per-1 (Period start ≤ end), qty-3, ref-1, ext-1, rng-2, cpt-2, tim-*, and a
 * contained Observation's obs-6 all pass unchecked. This evaluates them, with the same FHIRPath engine
 * and variables medplum uses, once for every object whose schema is a data type or contained resource.
 */

import type { Constraint, InternalTypeSchema, TypedValue, TypedValueWithPath } from '@medplum/core';
import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import { quickConstraint } from './validation-quick-constraints.ts';
import { fhirPathAtom } from './validation-schema.ts';

/** Handled elsewhere: ele-1 (empty values), dom-3 and org-1 (validation-checks.ts), txt-1/txt-2 (narrative). */
const SKIPPED = new Set(['ele-1', 'dom-3', 'org-1', 'txt-1', 'txt-2']);
const UCUM = toTypedValue('http://unitsofmeasure.org');

// R4's ref-1, on every Reference. When `reference` is a string that does not start with '#', its left
// operand is true, and `true or …` is true whatever the right side gives: no need to evaluate it.
const REF_1 =
  "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))";

function plainReference(value: unknown): boolean {
  const ref = (value as { reference?: unknown } | null)?.reference;
  return typeof ref === 'string' && !ref.startsWith('#');
}

export interface InvariantFailure {
  key: string;
  message: string;
}

/**
 * Evaluates the error-severity invariants of a type schema against one value.
 * @param resource the resource the value belongs to (`%resource`), root (`%rootResource`) otherwise.
 */
export function failedInvariants(
  value: TypedValueWithPath,
  schema: InternalTypeSchema,
  resource: TypedValue,
  root: TypedValue,
): InvariantFailure[] {
  const failures: InvariantFailure[] = [];
  for (const c of schema.constraints ?? []) {
    if (c.severity !== 'error' || SKIPPED.has(c.key)) continue;
    if (!holds(c, value, resource, root)) {
      failures.push({ key: c.key, message: `Constraint ${c.key} not met: ${c.description}` });
    }
  }
  return failures;
}

function holds(c: Constraint, value: TypedValueWithPath, resource: TypedValue, root: TypedValue): boolean {
  if (c.key === 'ref-1' && c.expression === REF_1 && plainReference(value.value)) return true;
  const atom = fhirPathAtom(c.expression);
  if (atom instanceof Error) return true; // An expression medplum cannot parse is not held against the resource.
  const quick = quickConstraint(atom, value);
  if (quick !== undefined) return quick;
  const variables = { '%context': value, '%ucum': UCUM, '%resource': resource, '%rootResource': root };
  try {
    // Only a definite `false` fails. An empty result passes: R4's own ref-1 yields empty for a
    // display-only Reference (R5 fixed the expression with `reference.exists() implies`), and the
    // official examples rely on that.
    const result = evalFhirPathTyped(atom, [value], variables);
    return !(result.length === 1 && result[0]?.value === false);
  } catch {
    return true;
  }
}

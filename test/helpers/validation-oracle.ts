/**
 * The validation OpenICR did before validation-walk.ts, kept as the oracle of the differential test
 * (src/fhir/validation-differential.test.ts): @medplum/core's own `validateResource`, OpenICR's checks
 * (validation-checks.ts) driven by the present-only crawler of that time (`crawlPresent`, which mirrored
 * medplum's `crawlTypedValue`), and the merge rules of that time. Crawler and merge are frozen copies
 * rather than shared with the product, so that a change to the product cannot change the oracle.
 *
 * It covers what follows the envelope checks (resourceType, contained resource types), which did not change.
 * Both medplum's validator and its crawler write the `_name` extensions of complex values into the resource
 * they validate: give the oracle its own copy.
 */

import type { InternalSchemaElement, InternalTypeSchema, TypedValueWithPath } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import {
  getDataType,
  getTypedPropertyValueWithPath,
  isPrimitiveType,
  isResource,
  OperationOutcomeError,
  toTypedValue,
  tryGetDataType,
  validateResource as medplumValidate,
} from '@medplum/core';
import { ExtraChecks } from '../../src/fhir/validation-checks.ts';
import { loadR4Definitions } from '../../src/fhir/validation-definitions.ts';
import type { ValidationIssue } from '../../src/fhir/validation-issue.ts';
import { toFhirPath } from '../../src/fhir/validation-paths.ts';

const REPLACED = [/^Invalid reference: /, /^Conflicting choice of type properties/];
const NOT_AN_OBJECT = 'Invalid JSON type: expected an object';

/** The issues the two-pass validation reported for a resource with a good envelope. */
export function validateWithMedplum(resource: Record<string, unknown>): ValidationIssue[] {
  const { resourceTypes } = loadR4Definitions();
  const root = String(resource.resourceType);
  let extra: ValidationIssue[];
  try {
    const typed = toTypedValue(resource);
    const schema = getDataType(typed.type);
    const visitor = new ExtraChecks(resourceTypes, typed);
    crawlPresent({ ...typed, path: schema.path }, schema, visitor);
    visitor.finish(resource, schema.path);
    extra = visitor.issues;
  } catch {
    extra = [
      { severity: 'error', issue: 'processing', expression: root, message: 'The resource could not be validated' },
    ];
  }
  const wrongJsonType = extra.filter((i) => i.message.startsWith(NOT_AN_OBJECT)).map((i) => `${i.expression ?? ''}.`);

  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const raw of runMedplum(resource)) {
    const text = raw.details?.text ?? raw.diagnostics ?? 'Invalid resource';
    if (REPLACED.some((re) => re.test(text))) continue;
    const expression = toFhirPath(raw.expression?.[0] ?? root, resource);
    if (wrongJsonType.some((p) => expression.startsWith(p))) continue;
    push(issues, seen, {
      severity: raw.severity === 'fatal' ? 'error' : raw.severity,
      issue: text === 'Missing required property' ? 'required' : raw.code,
      expression,
      message: text,
    });
  }
  const flagged = new Set(issues.map((i) => i.expression));
  for (const i of extra) {
    const expression = toFhirPath(i.expression ?? root, resource);
    if (!flagged.has(expression)) push(issues, seen, { ...i, expression });
  }
  return issues;
}

function runMedplum(resource: Record<string, unknown>): OperationOutcomeIssue[] {
  try {
    return medplumValidate(resource as unknown as Resource, { base64BinaryMaxBytes: Number.POSITIVE_INFINITY });
  } catch (e) {
    if (e instanceof OperationOutcomeError) return e.outcome.issue;
    return [
      {
        severity: 'error',
        code: 'processing',
        details: { text: 'The resource could not be validated' },
        expression: [String(resource.resourceType)],
      },
    ];
  }
}

function push(issues: ValidationIssue[], seen: Set<string>, issue: ValidationIssue): void {
  const key = `${issue.expression ?? ''}\u0000${issue.message}`;
  if (seen.has(key)) return;
  seen.add(key);
  issues.push(issue);
}

/**
 * Visits a value the way @medplum/core's `crawlTypedValue` does (same order, same values, same paths),
 * but only the elements present in the JSON.
 */
function crawlPresent(obj: TypedValueWithPath, schema: InternalTypeSchema, visitor: ExtraChecks): void {
  const value: unknown = obj.value;
  const resource = isResource(value);
  if (resource) visitor.onEnterResource('', obj);
  visitor.onEnterObject('', obj, schema);
  const { elements, byJsonKey } = elementKeys(schema);
  let present: readonly number[];
  if (typeof value !== 'object' || value === null) {
    present = [];
  } else if (tryGetDataType(obj.type) === schema) {
    const found = new Set<number>();
    for (const k of Object.keys(value)) {
      const n = byJsonKey.get(k);
      if (n !== undefined) found.add(n);
    }
    present = [...found].sort((a, b) => a - b);
  } else {
    present = elements.map((_, n) => n);
  }
  for (const n of present) {
    const key = elements[n] as string;
    const values = getTypedPropertyValueWithPath(obj, key);
    visitor.visitProperty(obj, key, '', [values], schema);
    for (const v of Array.isArray(values) ? values : [values]) {
      if (isPrimitiveType(v.type)) continue;
      crawlPresent(v, schema.innerTypes.find((t) => t.name === v.type) ?? getDataType(v.type), visitor);
    }
  }
  if (resource) visitor.onExitResource();
}

function elementKeys(schema: InternalTypeSchema): { elements: string[]; byJsonKey: Map<string, number> } {
  const elements = Object.keys(schema.elements);
  const byJsonKey = new Map<string, number>();
  elements.forEach((key, n) => {
    const element = schema.elements[key] as InternalSchemaElement;
    const name = element.path.slice(element.path.lastIndexOf('.') + 1);
    const names = name.endsWith('[x]')
      ? element.type.map((t) => name.slice(0, -3) + t.code.charAt(0).toUpperCase() + t.code.slice(1))
      : [name];
    for (const j of names) for (const k of [j, `_${j}`]) if (!byJsonKey.has(k)) byJsonKey.set(k, n);
  });
  return { elements, byJsonKey };
}

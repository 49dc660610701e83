/**
 * Checks for hostile input that @medplum/core's validator (and so its port in validation-walk.ts, which
 * must agree with it issue for issue) lets through, found by fuzzing (issue 14):
 *
 * - an object, array or `null` where a primitive belongs (`vaccineCode.text: {"extension": []}`,
 *   `Location.mode: {}`, `"id": null`): medplum reads them as a primitive's extensions, or as empty;
 * - element names that an object inherits (`toString`, `hasOwnProperty`, `valueOf`, `constructor`):
 *   medplum looks element names up with `in`, which reaches Object.prototype;
 * - strings that are not Unicode text (a lone surrogate), which PostgreSQL cannot store;
 * - a relative reference whose id breaks FHIR's id rule (over 64 characters, or other characters).
 *
 * One pass over the JSON, iterative, linear in its size. Its issues are added after the others, only for
 * elements no other issue names; `isHardeningIssue` tells them apart (the differential test sets them aside).
 */

import type { InternalTypeSchema } from '@medplum/core';
import { getDataType, isPrimitiveType, tryGetDataType } from '@medplum/core';
import type { ValidationIssue } from './validation-issue.ts';
import { schemaInfo } from './validation-schema.ts';

const JS_TYPE: Record<string, 'boolean' | 'number'> = {
  boolean: 'boolean',
  integer: 'number',
  decimal: 'number',
  positiveInt: 'number',
  unsignedInt: 'number',
  integer64: 'number',
};

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RELATIVE = /^([A-Z][A-Za-z]+)\/([^/]*)(?:\/_history\/[^/]*)?$/;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const MESSAGES = {
  notPrimitive: 'Invalid JSON type: a primitive value is expected here',
  isNull: 'Invalid null value: leave the element out instead',
  inherited: 'Invalid additional property: the name is not an element of this type',
  notUnicode: 'Invalid string: the text is not valid Unicode (a lone surrogate)',
  referenceId: 'Invalid reference: the id must be 1 to 64 letters, digits, "-" or "."',
} as const;

const HARDENING_MESSAGES: ReadonlySet<string> = new Set(Object.values(MESSAGES));

/** True for the issues this module adds. */
export function isHardeningIssue(issue: ValidationIssue): boolean {
  return HARDENING_MESSAGES.has(issue.message);
}

interface Frame {
  obj: Record<string, unknown>;
  schema: InternalTypeSchema;
  path: string;
}

function issue(expression: string, message: string): ValidationIssue {
  return { severity: 'error', issue: message === MESSAGES.inherited ? 'structure' : 'value', expression, message };
}

/** Primitive types, and the FHIRPath system types medplum gives `id` and `url` elements. */
function isPrimitiveCode(code: string): boolean {
  return isPrimitiveType(code) || code.startsWith('http://hl7.org/fhirpath/System.');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The schema of a complex value of type `code` inside `schema` (a backbone type, a data type or a resource). */
function childSchema(
  schema: InternalTypeSchema,
  code: string,
  value: Record<string, unknown>,
): InternalTypeSchema | undefined {
  if (code === 'Resource' || code === 'DomainResource') {
    return typeof value.resourceType === 'string' ? tryGetDataType(value.resourceType) : undefined;
  }
  return schema.innerTypes.find((t) => t.name === code) ?? tryGetDataType(code);
}

/**
 * The hardening issues of a resource whose envelope is known good (a JSON object with an R4 resourceType),
 * at most `max` of them.
 */
export function hardeningIssues(resource: Record<string, unknown>, max = 1000): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const root = String(resource.resourceType);
  const rootSchema = tryGetDataType(root);
  if (!rootSchema) return out;
  const elementSchema = getDataType('Element');
  const stack: Frame[] = [{ obj: resource, schema: rootSchema, path: root }];
  const push = (expression: string, message: string) => {
    out.push(issue(expression, message));
  };
  while (stack.length > 0 && out.length < max) {
    const { obj, schema, path } = stack.pop() as Frame;
    const info = schemaInfo(schema);
    if (schema.name === 'Reference' && typeof obj.reference === 'string') {
      const m = RELATIVE.exec(obj.reference);
      if (m && !FHIR_ID.test(m[2] as string)) push(`${path}.reference`, MESSAGES.referenceId);
    }
    for (const key of Object.keys(obj)) {
      if (key === 'resourceType') continue;
      const value = obj[key];
      const extension = key.startsWith('_');
      const name = extension ? key.slice(1) : key;
      const n = info.byJsonKey.get(key);
      const element = n === undefined ? undefined : info.elements[n];
      if (!element) {
        // Other unknown names are refused by the validator; these it finds on Object.prototype.
        if (key in Object.prototype || name in Object.prototype) push(`${path}.${key}`, MESSAGES.inherited);
        continue;
      }
      const t = element.names.indexOf(name);
      const code = element.codes[t] ?? element.codes[0] ?? 'Element';
      const choice = element.key.endsWith('[x]');
      const here = choice ? `${path}.${element.key.slice(0, -3)}.ofType(${code})` : `${path}.${name}`;
      const items: unknown[] = Array.isArray(value) ? value : [value];
      const many = Array.isArray(value);
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        const at = many ? `${here}[${i}]` : here;
        if (extension) {
          if (isPlainObject(item)) stack.push({ obj: item, schema: elementSchema, path: at });
          continue;
        }
        if (isPrimitiveCode(code)) {
          if (item === null) {
            if (!many) push(at, MESSAGES.isNull);
          } else if (typeof item === 'object') {
            push(at, MESSAGES.notPrimitive);
          } else if (typeof item === 'string') {
            if ((JS_TYPE[code] ?? 'string') === 'string' && LONE_SURROGATE.test(item)) push(at, MESSAGES.notUnicode);
          }
          continue;
        }
        if (!isPlainObject(item)) continue; // the validator reports a complex value of the wrong JSON type
        const child = childSchema(schema, code, item);
        if (child) stack.push({ obj: item, schema: child, path: at });
      }
    }
  }
  return out;
}

/**
 * The structural checks of @medplum/core's `ResourceValidator` (typeschema/validation.ts in
 * @medplum/core 5.2.13, Apache-2.0 like OpenICR), ported so that validation-walk.ts can run them in the
 * same pass as OpenICR's own checks while visiting only the elements present. Messages, issue codes,
 * paths and order are medplum's: the differential test (validation-differential.test.ts) compares the
 * result with medplum's own validator on every Synthea resource, every R4 example and mutated variants.
 *
 * Not ported: medplum's reference-target warnings ("Invalid reference: …") and its "Conflicting choice of
 * type properties" warnings, which validation.ts always dropped in favour of validation-checks.ts.
 */

import type { InternalSchemaElement, InternalTypeSchema, TypedValue, TypedValueWithPath } from '@medplum/core';
import {
  arrayify,
  deepEquals,
  deepIncludes,
  evalFhirPathTyped,
  fhirTypeToJsType,
  getNestedProperty,
  isEmpty,
  isValidCalendarDate,
  matchDiscriminant,
  validationRegexes,
} from '@medplum/core';
import type { CompiledConstraint } from './validation-schema.ts';
import { quickConstraint } from './validation-quick-constraints.ts';
import { fhirPathAtom } from './validation-schema.ts';

/** An issue as medplum's validator reports it, before validation.ts maps its path to FHIRPath. */
export interface RawIssue {
  severity: 'error' | 'warning' | 'information' | 'fatal';
  code: string;
  text: string;
  /** Medplum's element path (`Observation.value[x].value`); absent means the resource itself. */
  path?: string;
}

const FHIR_INTEGER_MIN = -2_147_483_648;
const FHIR_INTEGER_MAX = 2_147_483_647;

function structure(path: string, text: string): RawIssue {
  return { severity: 'error', code: 'structure', text, path };
}

/** `null` anywhere in the JSON, except a `null` in a primitive array whose `_name` partner has an entry there. */
export function checkNulls(obj: object, path: string, out: RawIssue[]): void {
  const record = obj as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const value = record[key];
    const propertyPath = `${path}.${key}`;
    if (value === null) {
      out.push(structure(propertyPath, 'Invalid null value'));
    } else if (Array.isArray(value)) {
      const partner = record[key.startsWith('_') ? key.slice(1) : `_${key}`] as Record<number, unknown> | undefined;
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item === undefined) {
          out.push(structure(`${propertyPath}[${i}]`, 'Invalid undefined value'));
        } else if (item === null && !partner?.[i]) {
          out.push(structure(`${propertyPath}[${i}]`, 'Invalid null value'));
        } else if (typeof item === 'object' && item !== null) {
          // Medplum also walks strings here, character by character; they never hold a null.
          checkNulls(item, `${propertyPath}[${i}]`, out);
        }
      }
    } else if (typeof value === 'object') {
      checkNulls(value, propertyPath, out);
    }
  }
}

/**
 * Medplum's constraint check: every constraint must evaluate to exactly `true`; the first that does not
 * is reported (after a processing issue when the expression could not be evaluated) and ends the check.
 */
export function checkConstraints(
  value: TypedValueWithPath,
  constraints: readonly CompiledConstraint[],
  variables: (context: TypedValueWithPath) => Record<string, TypedValue>,
  out: RawIssue[],
): void {
  for (const c of constraints) {
    let holds: boolean;
    try {
      const atom = fhirPathAtom(c.expression);
      if (atom instanceof Error) throw atom;
      const quick = quickConstraint(atom, value);
      if (quick === undefined) {
        const result = evalFhirPathTyped(atom, [value], variables(value));
        holds = result.length === 1 && result[0]?.value === true;
      } else {
        holds = quick;
      }
    } catch {
      out.push({
        severity: 'error',
        code: 'processing',
        text: 'Error evaluating invariant expression',
        path: value.path,
      });
      holds = false;
    }
    if (!holds) {
      out.push({
        severity: 'error',
        code: 'invariant',
        text: `Constraint ${c.key} not met: ${c.description}`,
        path: value.path,
      });
      return;
    }
  }
}

/**
 * The first part of medplum's `visitProperty`: presence, array or single value, number of values, fixed
 * and pattern values. Returns the values to check one by one, or undefined when it stopped at a problem.
 * @param path the crawler's path: the element path without array indexes (`Patient.name.given`).
 */
export function checkProperty(
  value: TypedValueWithPath | TypedValueWithPath[],
  element: InternalSchemaElement,
  path: string,
  out: RawIssue[],
): TypedValueWithPath[] | undefined {
  if (!Array.isArray(value) && value.value === undefined) {
    if (element.min > 0) out.push(structure(value.path, 'Missing required property'));
    return undefined;
  }
  if (isEmpty(value)) {
    out.push(structure(path, 'Invalid empty value'));
    return undefined;
  }
  let values: TypedValueWithPath[];
  if (element.isArray) {
    if (!Array.isArray(value)) {
      out.push(structure(path, 'Expected array of values for property'));
      return undefined;
    }
    values = value;
  } else {
    if (Array.isArray(value)) {
      out.push(structure(path, 'Expected single value for property'));
      return undefined;
    }
    values = [value];
  }
  if (values.length < element.min || values.length > element.max) {
    const max = Number.isFinite(element.max) ? String(element.max) : '*';
    out.push(
      structure(element.path, `Invalid number of values: expected ${element.min}..${max}, but found ${values.length}`),
    );
  }
  if (!matchesSpecifiedValue(value, element)) out.push(structure(path, 'Value did not match expected pattern'));
  return values;
}

function matchesSpecifiedValue(value: TypedValue | TypedValue[], element: InternalSchemaElement): boolean {
  if (!element.pattern && !element.fixed) return true;
  const typeAndValue = Array.isArray(value)
    ? value.map((v) => ({ type: v.type, value: v.value as unknown }))
    : { type: value.type, value: value.value as unknown };
  if (element.pattern && !deepIncludes(typeAndValue, element.pattern)) return false;
  if (element.fixed && !deepEquals(typeAndValue, element.fixed)) return false;
  return true;
}

/** Medplum's slice counting (no R4 base definition slices an element; profiles would). */
export function checkSlices(
  values: TypedValueWithPath[],
  element: InternalSchemaElement,
  path: string,
  out: RawIssue[],
): void {
  const slicing = element.slicing;
  if (!slicing) return;
  const counts = new Map<string, number>(slicing.slices.map((s) => [s.name, 0]));
  for (const value of values) {
    const slice = slicing.slices.find((s) =>
      slicing.discriminator.every((d) =>
        arrayify(getNestedProperty(value, d.path))?.some((v) => matchDiscriminant(v, d, s)),
      ),
    );
    if (slice) counts.set(slice.name, (counts.get(slice.name) ?? 0) + 1);
  }
  for (const slice of slicing.slices) {
    const n = counts.get(slice.name) ?? 0;
    if (n < slice.min || n > slice.max) {
      const max = Number.isFinite(slice.max) ? String(slice.max) : '*';
      out.push(
        structure(
          path,
          `Incorrect number of values provided for slice '${slice.name}': expected ${slice.min}..${max}, but found ${n}`,
        ),
      );
    }
  }
}

/**
 * Medplum's primitive checks: JSON type, then the format of the type (regex, calendar date, integer
 * range, base64). Returns the `_name` extensions of the value as an `Element` to crawl, if any.
 */
export function checkPrimitive(
  typed: TypedValueWithPath,
  base64BinaryMaxBytes: number,
  out: RawIssue[],
): TypedValue | undefined {
  const path = typed.path;
  let primitive: TypedValue | undefined = typed;
  let extensions: TypedValue | undefined;
  const boxed: unknown = typed.value;
  if (typeof boxed === 'object' && boxed !== null) {
    // A primitive with `_name` extensions is a String/Number/Boolean object carrying them; a plain object
    // has no primitive value at all.
    const unboxed: unknown = boxed.valueOf();
    if (unboxed === boxed) {
      primitive = undefined;
      extensions = { type: 'Element', value: boxed };
    } else {
      const own = new Set(Object.keys(unboxed as object));
      const entries = Object.entries(boxed).filter(([k]) => !own.has(k));
      primitive = { type: typed.type, value: unboxed };
      extensions = { type: 'Element', value: entries.length > 0 ? Object.fromEntries(entries) : undefined };
    }
  }
  if (primitive) {
    const { type } = primitive;
    const value: unknown = primitive.value;
    if (!(type in fhirTypeToJsType)) {
      out.push(structure(path, `Invalid JSON type: ${type} is not a valid FHIR type`));
      return undefined;
    }
    const expected = fhirTypeToJsType[type as keyof typeof fhirTypeToJsType];
    if (typeof value !== expected) {
      if (value !== null) out.push(structure(path, `Invalid JSON type: expected ${expected}, but got ${typeof value}`));
      return undefined;
    }
    if (type === 'base64Binary') checkBase64Binary(value as string, path, base64BinaryMaxBytes, out);
    else if (expected === 'string') checkString(value as string, type, path, out);
    else if (expected === 'number') checkNumber(value as number, type, path, out);
  }
  return extensions;
}

function checkBase64Binary(str: string, path: string, maxBytes: number, out: RawIssue[]): void {
  let padding = 0;
  if (str.endsWith('==')) padding = 2;
  else if (str.endsWith('=')) padding = 1;
  const dataLength = str.length - padding;
  const valid =
    str.length > 0 &&
    dataLength >= 0 &&
    (padding + dataLength) % 4 === 0 &&
    /^[A-Za-z\d+/]+$/.test(padding > 0 ? str.slice(0, -padding) : str);
  if (!valid) {
    out.push(structure(path, 'Invalid base64Binary format'));
    return;
  }
  const approxBytes = Math.max(0, Math.floor((str.length * 3) / 4) - padding);
  if (approxBytes > maxBytes) out.push(structure(path, `base64Binary exceeds ${maxBytes} bytes`));
}

function checkString(str: string, type: string, path: string, out: RawIssue[]): void {
  if (!str.trim()) {
    out.push(structure(path, 'String must contain non-whitespace content'));
    return;
  }
  if (str.length > 1024 * 1024) {
    out.push(structure(path, 'String cannot be larger than 1 MB'));
    return;
  }
  const regex = validationRegexes[type];
  if (regex && !regex.test(str)) {
    out.push(structure(path, `Invalid ${type} format`));
  } else if ((type === 'date' || type === 'dateTime' || type === 'instant') && !isValidCalendarDate(str)) {
    out.push(structure(path, `Invalid ${type} value`));
  }
}

function checkNumber(n: number, type: string, path: string, out: RawIssue[]): void {
  const integer = type === 'integer' || type === 'positiveInt' || type === 'unsignedInt';
  let min = FHIR_INTEGER_MIN;
  if (type === 'positiveInt') min = 1;
  else if (type === 'unsignedInt') min = 0;
  if (Number.isNaN(n) || !Number.isFinite(n)) {
    out.push(structure(path, 'Invalid numeric value'));
  } else if (integer && !Number.isInteger(n)) {
    out.push(structure(path, 'Expected number to be an integer'));
  } else if (integer && (n < min || n > FHIR_INTEGER_MAX)) {
    out.push(structure(path, `Expected number to be in the range ${min}..${FHIR_INTEGER_MAX}`));
  }
}

/**
 * Medplum's check for JSON keys that are not elements of the type (run when leaving an object), with its
 * rules for choice elements: `valueFoo` is accepted here when some `value[x]` is present (OpenICR's
 * `checkChoiceKeys` in validation-checks.ts refuses it), and `_valueString` with `valueBoolean` is a warning.
 * @param choicePresent whether the object has a value for the choice element of a stem (`value`).
 */
export function checkAdditionalProperties(
  parent: TypedValueWithPath,
  schema: InternalTypeSchema,
  choiceStems: ReadonlyMap<string, string>,
  choicePresent: (stem: string) => boolean,
  out: RawIssue[],
): void {
  const object = parent.value as Record<string, unknown> | undefined;
  if (!object) return;
  const properties = schema.elements;
  let seen: Map<string, string> | undefined;
  for (const key of Object.keys(object)) {
    if (key === 'resourceType') continue;
    const choice = choiceStems.size > 0 ? choiceOfType(key, choiceStems, choicePresent) : undefined;
    if (choice) {
      seen ??= new Map();
      const related = choice.startsWith('_') ? choice.slice(1) : `_${choice}`;
      const requiredRelated = choice.startsWith('_') ? key.slice(1) : `_${key}`;
      const relatedKey = seen.get(related);
      if (relatedKey !== undefined && relatedKey !== requiredRelated) {
        const property = choice.startsWith('_') ? choice.slice(1) : choice;
        out.push({
          severity: 'warning',
          code: 'structure',
          text: `Type of primitive extension does not match the type of property "${property}"`,
          path: choice,
        });
      }
      // Medplum warns here about a second value for the same choice element; validation-checks.ts reports that.
      seen.set(choice, key);
      continue;
    }
    if (!(key in properties) && !(key.startsWith('_') && key.slice(1) in properties) && object[key] !== undefined) {
      out.push(structure(`${parent.path}.${key}`, `Invalid additional property "${key}"`));
    }
  }
}

/**
 * Medplum's `isChoiceOfType`: the choice element (`value[x]`, or `_value[x]` for `_valueString`) whose
 * stem is the shortest prefix of the key ending before a capital letter, when the object has a value for it.
 */
function choiceOfType(
  key: string,
  choiceStems: ReadonlyMap<string, string>,
  choicePresent: (stem: string) => boolean,
): string | undefined {
  const underscore = key.startsWith('_');
  const name = underscore ? key.slice(1) : key;
  for (let i = 1; i <= name.length; i++) {
    if (i < name.length) {
      const c = name.charCodeAt(i);
      if (c < 65 || c > 90) continue; // split before A-Z only
    }
    const stem = name.slice(0, i);
    const element = choiceStems.get(stem);
    if (element !== undefined) return choicePresent(stem) ? (underscore ? '_' : '') + element : undefined;
  }
  return undefined;
}

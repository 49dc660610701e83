/**
 * What the single-pass validator needs to know about each of @medplum/core's type schemas, derived once
 * per schema and cached in a WeakMap: the elements in the schema's order, which element each JSON key
 * belongs to (`valueQuantity` and `_valueString` → `value[x]`), the elements that must be visited even when
 * no key names them (min > 0), and the error-severity constraints medplum evaluates on each element.
 *
 * `propertyValue` reads one element of an object as medplum's `getTypedPropertyValueWithSchema` does
 * (@medplum/core 5.2.13, Apache-2.0, ported here with its semantics), but with each element's JSON names
 * worked out once.
 */

import type { FhirPathAtom, InternalSchemaElement, InternalTypeSchema, TypedValue } from '@medplum/core';
import { capitalize, isEmpty, isResource, parseFhirPath } from '@medplum/core';

/** Constraint keys medplum's validator never evaluates (its `skippedConstraintKeys`). */
const MEDPLUM_SKIPPED: Record<string, boolean> = { 'ele-1': true, 'dom-3': true, 'org-1': true, 'sdf-19': true };

export interface CompiledConstraint {
  readonly key: string;
  readonly expression: string;
  readonly description: string;
}

export interface ElementInfo {
  /** The key in `schema.elements` (`value[x]`), which is also the last part of the element's path. */
  readonly key: string;
  readonly element: InternalSchemaElement;
  /** JSON property names, one per type in the element's order (`valueQuantity`, `valueString`, …). */
  readonly names: readonly string[];
  /** `_` + each name: where the extensions of a primitive value live. */
  readonly extensionNames: readonly string[];
  /** The type code for each name. */
  readonly codes: readonly string[];
  /** Error-severity constraints medplum checks on each value of the element. */
  readonly constraints: readonly CompiledConstraint[];
}

export interface SchemaInfo {
  readonly elements: readonly ElementInfo[];
  /** JSON key → index in `elements`. */
  readonly byJsonKey: ReadonlyMap<string, number>;
  /**
   * Indexes of the elements to visit whatever keys are present: the required ones (min > 0), which
   * medplum reports missing, and any whose name a plain object would inherit (none in R4).
   */
  readonly always: readonly number[];
  /**
   * Element name → index in `elements`, as medplum's FHIRPath engine looks a name up: the element of
   * that name, else the choice element (`value` → `value[x]`).
   */
  readonly byName: ReadonlyMap<string, number>;
  /** Choice element stem → element key (`value` → `value[x]`). */
  readonly choiceStems: ReadonlyMap<string, string>;
  /** Error-severity constraints of the type itself, for the root resource. */
  readonly constraints: readonly CompiledConstraint[];
}

const infoCache = new WeakMap<InternalTypeSchema, SchemaInfo>();

export function schemaInfo(schema: InternalTypeSchema): SchemaInfo {
  let info = infoCache.get(schema);
  if (!info) {
    info = buildInfo(schema);
    infoCache.set(schema, info);
  }
  return info;
}

function buildInfo(schema: InternalTypeSchema): SchemaInfo {
  const elements: ElementInfo[] = [];
  const byJsonKey = new Map<string, number>();
  const always: number[] = [];
  const choiceStems = new Map<string, string>();
  for (const [key, element] of Object.entries(schema.elements)) {
    const n = elements.length;
    // As medplum: the JSON name comes from the last part of the element's path, not from the key.
    const name = element.path.slice(element.path.lastIndexOf('.') + 1);
    const choice = name.endsWith('[x]');
    const stem = choice ? name.slice(0, -3) : name;
    const names = choice ? element.type.map((t) => stem + capitalize(t.code)) : element.type.map(() => stem);
    if (key.endsWith('[x]')) choiceStems.set(key.slice(0, -3), key);
    let visitAlways = element.min > 0;
    for (const j of names) {
      for (const k of [j, `_${j}`]) {
        if (k in Object.prototype) visitAlways = true;
        if (byJsonKey.has(k) && byJsonKey.get(k) !== n) visitAlways = true;
        else byJsonKey.set(k, n);
      }
    }
    if (visitAlways) always.push(n);
    elements.push({
      key,
      element,
      names,
      extensionNames: names.map((j) => `_${j}`),
      codes: element.type.map((t) => t.code),
      constraints: compile(element.constraints),
    });
  }
  const byName = new Map<string, number>();
  elements.forEach((e, n) => {
    if (!e.key.endsWith('[x]')) byName.set(e.key, n);
  });
  elements.forEach((e, n) => {
    const stem = e.key.slice(0, -3);
    if (e.key.endsWith('[x]') && !byName.has(stem)) byName.set(stem, n);
  });
  return { elements, byJsonKey, byName, always, choiceStems, constraints: compile(schema.constraints) };
}

function compile(constraints: InternalSchemaElement['constraints']): CompiledConstraint[] {
  const out: CompiledConstraint[] = [];
  for (const c of constraints ?? []) {
    if (c.severity === 'error' && !(c.key in MEDPLUM_SKIPPED)) {
      out.push({ key: c.key, expression: c.expression, description: c.description });
    }
  }
  return out;
}

const atoms = new Map<string, FhirPathAtom | Error>();

/** The parsed FHIRPath expression, or the error parsing it raised (cached, like medplum's LRU cache). */
export function fhirPathAtom(expression: string): FhirPathAtom | Error {
  let atom = atoms.get(expression);
  if (atom === undefined) {
    try {
      atom = parseFhirPath(expression);
    } catch (e) {
      atom = e instanceof Error ? e : new Error(String(e));
    }
    atoms.set(expression, atom);
  }
  return atom;
}

/**
 * The value of one element of a JSON object, typed, as @medplum/core's `getTypedPropertyValueWithSchema`
 * returns it: the first of the element's types whose name (or `_name`) is present, with the `_name`
 * extensions merged in (a primitive becomes a String/Number/Boolean object carrying them); undefined when
 * absent or empty (`''`, `[]`, `{}`).
 * @param path when given, each value also gets its path, as medplum's crawler gives it (`path[i]` in an array).
 */
export function propertyValue(
  obj: Record<string, unknown>,
  info: ElementInfo,
  path?: string,
): TypedValue | TypedValue[] | undefined {
  const { names, extensionNames, codes } = info;
  let value: unknown;
  let extension: unknown;
  let type = 'undefined';
  for (let i = 0; i < names.length; i++) {
    value = obj[names[i] as string];
    extension = obj[extensionNames[i] as string];
    if (value !== undefined || extension !== undefined) {
      type = codes[i] as string;
      break;
    }
  }
  if (extension) {
    if (Array.isArray(value)) {
      const merged = value.slice();
      const extensions = extension as unknown[];
      for (let i = 0; i < Math.max(merged.length, extensions.length); i++) {
        merged[i] = assignExtension(merged[i], extensions[i]);
      }
      value = merged;
    } else if (!value && Array.isArray(extension)) {
      value = extension.map((e: unknown) => assignExtension(undefined, e));
    } else {
      value = assignExtension(value, extension);
    }
  }
  if (isEmpty(value)) return undefined;
  if (type === 'Element' || type === 'BackboneElement') type = info.element.type[0]?.code ?? type;
  if (Array.isArray(value)) {
    return value.map((v: unknown, i) => withType(v, type, path === undefined ? undefined : `${path}[${i}]`));
  }
  return withType(value, type, path);
}

function withType(value: unknown, type: string, path: string | undefined): TypedValue {
  const t = type === 'Resource' && isResource(value) ? value.resourceType : type;
  return path === undefined ? { type: t, value } : ({ type: t, value, path } as TypedValue);
}

/**
 * Medplum's `assignPrimitiveExtension`: `Object.assign(target ?? {}, extension)` after deleting the
 * extension's own `__proto__` and `constructor`. Assigning to a string, number or boolean creates a
 * wrapper object and leaves the JSON as it was; an object target (a `_name` beside a complex value, which
 * R4 JSON does not allow) is changed in place, as medplum's FHIRPath engine also does when it reads one.
 */
function assignExtension(target: unknown, extension: unknown): unknown {
  if (!extension) return target;
  if (typeof extension !== 'object') throw new Error('Primitive extension must be an object');
  Reflect.deleteProperty(extension, '__proto__');
  Reflect.deleteProperty(extension, 'constructor');
  return Object.assign(target ?? {}, extension);
}

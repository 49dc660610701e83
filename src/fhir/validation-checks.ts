/**
 * Checks OpenICR adds to @medplum/core's validator, in one pass of its schema crawler. Each fills a gap
 * found by testing medplum against the R4 rules (see docs/adr/0012-validation.md):
 *
 * - reference target types (reference-targets.ts);
 * - required bindings on `code`, `Coding` and `CodeableConcept` elements (validation-bindings.ts);
 * - `Resource.id` format (medplum types it as a plain string);
 * - `dateTime` format: medplum accepts `2020-01-01T10` and times without a zone, R4 does not;
 * - empty strings and empty arrays, which R4 JSON forbids and medplum lets through;
 * - a complex value given as a string, number or boolean (medplum reports nonsense or nothing);
 * - two values for one choice element (`valueString` and `valueBoolean`), a warning in medplum;
 * - constraints medplum skips: dom-3 (a contained resource must be referenced) and org-1, and the
 *   invariants of data types and contained resources (validation-invariants.ts);
 * - the narrative `div` (validation-narrative.ts).
 */

import type {
  CrawlerVisitor,
  InternalSchemaElement,
  InternalTypeSchema,
  TypedValue,
  TypedValueWithPath,
} from '@medplum/core';
import {
  getDataType,
  getTypedPropertyValueWithPath,
  isPrimitiveType,
  isResource,
  toTypedValue,
  tryGetDataType,
} from '@medplum/core';
import { checkReferenceTarget } from './reference-targets.ts';
import { requiredValueSet } from './validation-bindings.ts';
import { failedInvariants } from './validation-invariants.ts';
import { checkNarrativeDiv } from './validation-narrative.ts';
import type { ValidationIssue } from './validation-issue.ts';

const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;
// R4 dateTime (https://hl7.org/fhir/R4/datatypes.html#dateTime): seconds and a zone are required once a time is given.
const DATE_TIME =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
const PRIMITIVE_OR_SYSTEM = /^[a-z]|^http:\/\/hl7\.org\/fhirpath\/System\./;
const TERMINOLOGY_TYPES = new Set(['code', 'Coding', 'CodeableConcept']);

interface FoundReference {
  reference: string;
  path: string;
}

/** Runs the extra checks over a resource whose envelope (resourceType, contained types) is known good. */
export function runExtraChecks(
  resource: Record<string, unknown>,
  resourceTypes: ReadonlySet<string>,
): ValidationIssue[] {
  const root = toTypedValue(resource);
  const visitor = new ExtraChecks(resourceTypes, root);
  const schema = getDataType(root.type);
  crawlPresent({ ...root, path: schema.path }, schema, visitor);
  visitor.finish(resource, schema.path);
  return visitor.issues;
}

/**
 * Visits a value the way @medplum/core's `crawlTypedValue` does (same order, same values, same paths),
 * but only the elements present in the JSON. The crawler also visits every absent element of every
 * object's schema (most of its time for a sparse resource), and these checks look at values only.
 */
function crawlPresent(obj: TypedValueWithPath, schema: InternalTypeSchema, visitor: ExtraChecks): void {
  const value: unknown = obj.value;
  const resource = isResource(value);
  if (resource) visitor.onEnterResource('', obj);
  visitor.onEnterObject('', obj, schema);
  // The crawler reads properties with the schema of the value's type; where that is the schema being
  // crawled (always, for the R4 definitions) absent elements can be told from the JSON keys present.
  const { elements, byJsonKey } = elementKeys(schema);
  let present: readonly number[];
  if (typeof value !== 'object' || value === null) {
    // A string, number or null where an object belongs (reported by the checks): nothing to descend into.
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

interface ElementKeys {
  /** The element names, in the schema's order (the crawler's). */
  elements: string[];
  /** JSON key → index in `elements` (`value[x]` → `valueQuantity`, `_valueString`, …). */
  byJsonKey: Map<string, number>;
}

const keysCache = new WeakMap<InternalTypeSchema, ElementKeys>();

function elementKeys(schema: InternalTypeSchema): ElementKeys {
  let keys = keysCache.get(schema);
  if (!keys) {
    const elements = Object.keys(schema.elements);
    const byJsonKey = new Map<string, number>();
    elements.forEach((key, n) => {
      const element = schema.elements[key] as InternalSchemaElement;
      // As @medplum/core's getTypedPropertyValueWithSchema: the name is the last part of the element's path.
      const name = element.path.slice(element.path.lastIndexOf('.') + 1);
      const names = name.endsWith('[x]')
        ? element.type.map((t) => name.slice(0, -3) + t.code.charAt(0).toUpperCase() + t.code.slice(1))
        : [name];
      for (const j of names) for (const k of [j, `_${j}`]) if (!byJsonKey.has(k)) byJsonKey.set(k, n);
    });
    keys = { elements, byJsonKey };
    keysCache.set(schema, keys);
  }
  return keys;
}

class ExtraChecks implements CrawlerVisitor {
  readonly issues: ValidationIssue[] = [];
  private readonly references: FoundReference[] = [];
  private readonly resourceTypes: ReadonlySet<string>;
  private readonly root: TypedValue;
  private readonly resourceStack: TypedValue[] = [];

  constructor(resourceTypes: ReadonlySet<string>, root: TypedValue) {
    this.resourceTypes = resourceTypes;
    this.root = root;
  }

  // The crawler's `path` argument has no array indexes (`Patient.name`); `obj.path` has them (`Patient.name[0]`).
  onEnterObject = (_path: string, obj: TypedValueWithPath, schema: InternalTypeSchema): void => {
    const value = obj.value as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    const record = value as Record<string, unknown>;
    this.checkEmpty(record, obj.path);
    this.checkChoices(record, obj.path, schema);
    // Data types and contained resources (schemas with a kind; backbone elements have none, and medplum
    // checks their invariants and the root's itself).
    if (schema.kind !== undefined && this.resourceStack.length > 0 && obj.value !== this.root.value) {
      const resource = this.resourceStack.at(-1) ?? this.root;
      for (const f of failedInvariants(obj, schema, resource, this.root)) this.add('invariant', obj.path, f.message);
    }
  };

  onExitResource = (): void => {
    this.resourceStack.pop();
  };

  onEnterResource = (_path: string, obj: TypedValueWithPath): void => {
    this.resourceStack.push(obj);
    const r = obj.value as Record<string, unknown>;
    if (r.resourceType === 'Organization' && !has(r.identifier) && !has(r.name)) {
      this.add(
        'invariant',
        obj.path,
        'Constraint org-1 not met: the organization SHALL at least have a name or an identifier',
      );
    }
  };

  visitProperty = (
    parent: TypedValueWithPath,
    key: string,
    path: string,
    propertyValues: (TypedValueWithPath | TypedValueWithPath[])[],
    schema: InternalTypeSchema,
  ): void => {
    const element = schema.elements[key];
    if (!element) return;
    for (const pv of propertyValues) {
      for (const v of Array.isArray(pv) ? pv : [pv]) {
        if (v.value === undefined || v.value === null) continue;
        this.checkValue(parent, key, v, element);
      }
    }
  };

  private checkValue(
    parent: TypedValueWithPath,
    key: string,
    v: TypedValueWithPath,
    element: InternalSchemaElement,
  ): void {
    const raw: unknown = typeof v.value === 'object' && v.value !== null ? (v.value as object).valueOf() : v.value;
    if (!PRIMITIVE_OR_SYSTEM.test(v.type) && (typeof raw !== 'object' || Array.isArray(raw))) {
      this.add('structure', v.path, `Invalid JSON type: expected an object (${v.type}), but got ${jsonType(raw)}`);
      return;
    }
    if (key === 'id' && isResourceObject(parent.value) && typeof raw === 'string' && !RESOURCE_ID.test(raw)) {
      this.add('value', v.path, 'Invalid id format: 1-64 characters from A-Z, a-z, 0-9, "-" and "."');
    } else if (v.type === 'dateTime' && typeof raw === 'string' && !DATE_TIME.test(raw)) {
      this.add('value', v.path, 'Invalid dateTime format (a time needs seconds and a time zone)');
    } else if (v.type === 'xhtml' && typeof raw === 'string') {
      const problem = checkNarrativeDiv(raw);
      if (problem) this.add('value', v.path, problem);
    } else if (v.type === 'Reference') {
      this.checkReference(v, element);
    }
    if (element.binding?.strength === 'required' && element.binding.valueSet && TERMINOLOGY_TYPES.has(v.type)) {
      this.checkBinding(v.type, raw, v.path, element.binding.valueSet);
    }
  }

  private checkReference(v: TypedValueWithPath, element: InternalSchemaElement): void {
    const ref = v.value as { reference?: unknown };
    if (typeof ref.reference === 'string') this.references.push({ reference: ref.reference, path: v.path });
    const targets = element.type.find((t) => t.code === 'Reference')?.targetProfile;
    for (const problem of checkReferenceTarget(v.value, targets, this.resourceTypes)) {
      this.add('invalid', `${v.path}.${problem.element}`, problem.message);
    }
  }

  private checkBinding(type: string, raw: unknown, path: string, valueSetUrl: string): void {
    const vs = requiredValueSet(valueSetUrl);
    if (!vs) return;
    if (type === 'code') {
      if (typeof raw === 'string' && !vs.all.has(raw)) {
        this.add('code-invalid', path, `Code "${raw}" is not in the required value set ${vs.url}`);
      }
      return;
    }
    const inSet = (c: unknown): boolean => {
      const { system, code } = (c ?? {}) as { system?: unknown; code?: unknown };
      return typeof system === 'string' && typeof code === 'string' && vs.bySystem.get(system)?.has(code) === true;
    };
    if (type === 'Coding') {
      if (!inSet(raw)) this.add('code-invalid', path, `Coding is not in the required value set ${vs.url}`);
      return;
    }
    const codings = (raw as { coding?: unknown }).coding;
    if (!Array.isArray(codings) || !codings.some(inSet)) {
      this.add('code-invalid', path, `CodeableConcept has no coding from the required value set ${vs.url}`);
    }
  }

  private checkEmpty(record: Record<string, unknown>, path: string): void {
    for (const k of Object.keys(record)) {
      const v = record[k];
      if (v === '') {
        this.add('structure', `${path}.${k}`, 'Invalid empty string');
      } else if (Array.isArray(v)) {
        if (v.length === 0) this.add('structure', `${path}.${k}`, 'Invalid empty array');
        v.forEach((item, i) => {
          if (item === '') this.add('structure', `${path}.${k}[${i}]`, 'Invalid empty string');
        });
      }
    }
  }

  private checkChoices(record: Record<string, unknown>, path: string, schema: InternalTypeSchema): void {
    for (const { stem, keys } of choiceElements(schema)) {
      const present = keys.filter((k) => record[k] !== undefined || record['_' + k] !== undefined);
      if (present.length > 1) {
        this.add('structure', `${path}.${stem}`, `Only one of ${present.join(', ')} may be present`);
      }
    }
  }

  /** dom-3, which needs the whole resource: every contained resource is referenced (or refers to its container). */
  finish(resource: Record<string, unknown>, rootPath: string): void {
    const contained = Array.isArray(resource.contained) ? (resource.contained as Record<string, unknown>[]) : [];
    // A `#id` that matches no contained resource is ref-1, checked with the other data-type invariants.
    const local = new Set(this.references.filter((r) => r.reference.startsWith('#')).map((r) => r.reference.slice(1)));
    contained.forEach((c, i) => {
      const referencesContainer = this.references.some(
        (r) => r.reference === '#' && r.path.startsWith(`${rootPath}.contained[${i}].`),
      );
      if ((typeof c.id !== 'string' || !local.has(c.id)) && !referencesContainer) {
        this.add(
          'invariant',
          `${rootPath}.contained[${i}]`,
          'Constraint dom-3 not met: a contained resource SHALL be referred to from elsewhere in the resource',
        );
      }
    });
  }

  private add(issue: string, expression: string, message: string): void {
    this.issues.push({ severity: 'error', issue, expression, message });
  }
}

const choiceCache = new WeakMap<InternalTypeSchema, { stem: string; keys: string[] }[]>();

/** The choice elements of a type and the JSON keys each may take (`value[x]` → `valueQuantity`, …), cached. */
function choiceElements(schema: InternalTypeSchema): { stem: string; keys: string[] }[] {
  let choices = choiceCache.get(schema);
  if (!choices) {
    choices = Object.entries(schema.elements)
      .filter(([name]) => name.endsWith('[x]'))
      .map(([name, element]) => {
        const stem = name.slice(0, -3);
        return { stem, keys: element.type.map((t) => stem + t.code.charAt(0).toUpperCase() + t.code.slice(1)) };
      });
    choiceCache.set(schema, choices);
  }
  return choices;
}

function has(v: unknown): boolean {
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
}

function isResourceObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && typeof (v as { resourceType?: unknown }).resourceType === 'string';
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : `a ${typeof v}`;
}

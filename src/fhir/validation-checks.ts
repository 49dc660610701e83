/**
 * Checks OpenICR adds to medplum's validation rules (validation-structure.ts), run in the same pass
 * (validation-walk.ts). Each fills a gap found by testing medplum against the R4 rules (see
 * docs/adr/0012-validation.md):
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
 * - the narrative `div` (validation-narrative.ts);
 * - a `_name` property beside a complex element (medplum merges it into the value).
 */

import type {
  CrawlerVisitor,
  InternalSchemaElement,
  InternalTypeSchema,
  TypedValue,
  TypedValueWithPath,
} from '@medplum/core';
import { isPrimitiveType } from '@medplum/core';
import { checkReferenceTarget } from './reference-targets.ts';
import { requiredValueSet } from './validation-bindings.ts';
import { failedInvariants } from './validation-invariants.ts';
import { checkNarrativeDiv } from './validation-narrative.ts';
import { schemaInfo } from './validation-schema.ts';
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

/**
 * The checks, as a visitor in the shape of @medplum/core's `CrawlerVisitor`, called for the elements
 * present: by validation-walk.ts, and by the oracle of the differential test
 * (test/helpers/validation-oracle.ts) with the crawler that came before it.
 */
export class ExtraChecks implements CrawlerVisitor {
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
    this.checkUnderscores(record, obj.path, schema);
    this.checkChoiceKeys(record, obj.path, schema);
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
    if ((typeof raw !== 'object' || Array.isArray(raw)) && !PRIMITIVE_OR_SYSTEM.test(v.type)) {
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

  /**
   * R4 JSON gives a primitive element its id and extensions in a `_name` property beside it; a complex
   * element carries them itself. @medplum/core accepts `_name` beside a complex element and merges it into
   * the value while reading it (so `"_name": [{"family": "X"}]` would overwrite the family sent): refuse it.
   */
  private checkUnderscores(record: Record<string, unknown>, path: string, schema: InternalTypeSchema): void {
    for (const key of Object.keys(record)) {
      if (key.length < 2 || !key.startsWith('_')) continue;
      const type = jsonKeyType(schema, key.slice(1));
      if (type !== undefined && !isPrimitiveType(type)) {
        this.add(
          'structure',
          `${path}.${key}`,
          `Invalid property "${key}": only a primitive element may have a "_" property (${key.slice(1)} is a ${type})`,
        );
      }
    }
  }

  /**
   * A key that names a choice element with a type it does not have (`valueFoo`, `_valueFoo`, `valueStrin`).
   * @medplum/core reports it as an additional property only when no value of that choice element is present;
   * beside a valid `valueString` it accepted it, and the unknown element would have been stored.
   */
  private checkChoiceKeys(record: Record<string, unknown>, path: string, schema: InternalTypeSchema): void {
    const choices = choiceElements(schema);
    if (choices.list.length === 0) return;
    let known: ReadonlyMap<string, number> | undefined;
    for (const key of Object.keys(record)) {
      if (choices.byKey.has(key) || record[key] === undefined) continue;
      const name = key.startsWith('_') ? key.slice(1) : key;
      const n = choices.list.findIndex(({ stem }) => {
        const c = name.charCodeAt(stem.length);
        return name.startsWith(stem) && c >= 65 && c <= 90;
      });
      if (n < 0) continue;
      known ??= schemaInfo(schema).byJsonKey;
      if (known.has(name)) continue;
      const { keys } = choices.list[n] as { keys: readonly string[] };
      if (keys.some((k) => record[k] !== undefined || record[`_${k}`] !== undefined)) {
        this.add('structure', `${path}.${key}`, `Invalid additional property "${key}"`);
      }
    }
  }

  private checkChoices(record: Record<string, unknown>, path: string, schema: InternalTypeSchema): void {
    const choices = choiceElements(schema);
    if (choices.list.length === 0) return;
    // Most objects have at most one key per choice element: count first, list the keys only when needed.
    let seen: Map<number, string> | undefined;
    let twice: Set<number> | undefined;
    for (const key of Object.keys(record)) {
      const found = choices.byKey.get(key);
      if (found === undefined || record[key] === undefined) continue;
      seen ??= new Map();
      const type = seen.get(found.choice);
      if (type === undefined) seen.set(found.choice, found.type);
      else if (type !== found.type) (twice ??= new Set()).add(found.choice);
    }
    if (!twice) return;
    choices.list.forEach(({ stem, keys }, n) => {
      if (!twice.has(n)) return;
      const present = keys.filter((k) => record[k] !== undefined || record['_' + k] !== undefined);
      if (present.length > 1) {
        this.add('structure', `${path}.${stem}`, `Only one of ${present.join(', ')} may be present`);
      }
    });
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

interface ChoiceElements {
  /** Each choice element: its stem and the JSON key of each of its types (`value[x]` → `valueQuantity`, …). */
  list: { stem: string; keys: string[] }[];
  /** JSON key (`valueQuantity` or `_valueString`) → its choice element (index in `list`) and type key. */
  byKey: Map<string, { choice: number; type: string }>;
}

const choiceCache = new WeakMap<InternalTypeSchema, ChoiceElements>();

/** The choice elements of a type and the JSON keys each may take, cached. */
function choiceElements(schema: InternalTypeSchema): ChoiceElements {
  let choices = choiceCache.get(schema);
  if (!choices) {
    const list = Object.entries(schema.elements)
      .filter(([name]) => name.endsWith('[x]'))
      .map(([name, element]) => {
        const stem = name.slice(0, -3);
        return { stem, keys: element.type.map((t) => stem + t.code.charAt(0).toUpperCase() + t.code.slice(1)) };
      });
    const byKey = new Map<string, { choice: number; type: string }>();
    list.forEach(({ keys }, choice) => {
      for (const type of keys) {
        for (const key of [type, `_${type}`]) if (!byKey.has(key)) byKey.set(key, { choice, type });
      }
    });
    choices = { list, byKey };
    choiceCache.set(schema, choices);
  }
  return choices;
}

/** The type of the element a JSON key names in `schema` (`name` → HumanName, `valueQuantity` → Quantity). */
function jsonKeyType(schema: InternalTypeSchema, key: string): string | undefined {
  const info = schemaInfo(schema);
  const n = info.byJsonKey.get(key);
  const element = n === undefined ? undefined : info.elements[n];
  const i = element ? element.names.indexOf(key) : -1;
  return i >= 0 ? element?.codes[i] : undefined;
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

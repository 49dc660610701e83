/**
 * One pass over a resource that runs both medplum's structural checks (validation-structure.ts) and
 * OpenICR's own (validation-checks.ts), visiting only the elements present in the JSON plus the required
 * ones of each type (from a per-schema list). See docs/adr/0015-single-pass-validation.md.
 *
 * It visits objects, elements and values in the order of @medplum/core's schema crawler, with the same
 * paths, so that the issues come out as medplum's `validateResource` and the checks' own crawl produced
 * them. The two lists are kept apart (validation.ts merges them) and so is failure: when something throws
 * (a `_name` that is not an object, a contained resource of unknown type), each list is replaced by what
 * its validator reported on throwing, as before.
 */

import type { InternalTypeSchema, TypedValue, TypedValueWithPath } from '@medplum/core';
import {
  getDataType,
  getTypedPropertyValue,
  isEmpty,
  isPrimitiveType,
  isResource,
  OperationOutcomeError,
  toTypedValue,
  tryGetDataType,
  UCUM,
} from '@medplum/core';
import { ExtraChecks } from './validation-checks.ts';
import type { ValidationIssue } from './validation-issue.ts';
import type { ElementInfo, SchemaInfo } from './validation-schema.ts';
import { propertyValue, schemaInfo } from './validation-schema.ts';
import type { RawIssue } from './validation-structure.ts';
import {
  checkAdditionalProperties,
  checkConstraints,
  checkNulls,
  checkPrimitive,
  checkProperty,
  checkSlices,
} from './validation-structure.ts';

export interface WalkResult {
  /** What @medplum/core's `validateResource` would report, in its order. */
  medplum: RawIssue[];
  /** What validation-checks.ts reports, in its order. */
  extra: ValidationIssue[];
}

const UCUM_VALUE = toTypedValue(UCUM);
/** Thrown to stop the walk once both validators have failed. */
const BOTH_FAILED = new Error('both validators failed');

/** Validates a resource whose envelope (resourceType, contained resource types) is known good. */
export function walkResource(resource: Record<string, unknown>, resourceTypes: ReadonlySet<string>): WalkResult {
  return new Walk(resource, resourceTypes).run();
}

class Walk {
  private readonly resource: Record<string, unknown>;
  private readonly root: TypedValue;
  private readonly extra: ExtraChecks;
  private readonly medplum: RawIssue[] = [];
  private medplumFailed = false;
  private medplumFailure: unknown;
  private extraFailed = false;
  /** Medplum's `%resource` for each resource being crawled (the root, then contained ones). */
  private readonly resources: TypedValue[] = [];
  private readonly elementSchema = getDataType('Element');

  constructor(resource: Record<string, unknown>, resourceTypes: ReadonlySet<string>) {
    this.resource = resource;
    this.root = toTypedValue(resource);
    this.extra = new ExtraChecks(resourceTypes, this.root);
    this.resources.push(this.root);
  }

  run(): WalkResult {
    const schema = getDataType(this.root.type);
    try {
      this.crawl({ ...this.root, path: schema.path }, schema, schema.path, true);
    } catch (e) {
      this.failMedplum(e);
      this.extraFailed = true;
    }
    if (!this.medplumFailed) {
      // Medplum checks nulls and the root's constraints before crawling. They come after the walk here
      // because reading an element merges its `_name` object into a complex value in place (see
      // validation-schema.ts), which medplum's validator saw done by the checks' crawl that ran first.
      try {
        const first: RawIssue[] = [];
        checkNulls(this.resource, schema.path, first);
        const start = { ...this.root, path: schema.path };
        checkConstraints(start, schemaInfo(schema).constraints, this.variables, first);
        this.medplum.unshift(...first);
      } catch (e) {
        this.failMedplum(e);
      }
    }
    if (!this.extraFailed) {
      try {
        this.extra.finish(this.resource, schema.path);
      } catch {
        this.extraFailed = true;
      }
    }
    return { medplum: this.medplumResult(), extra: this.extraResult() };
  }

  private medplumResult(): RawIssue[] {
    if (!this.medplumFailed) return this.medplum;
    const e = this.medplumFailure;
    if (e instanceof OperationOutcomeError) {
      return e.outcome.issue.map((i) => ({
        severity: i.severity,
        code: i.code,
        text: i.details?.text ?? i.diagnostics ?? 'Invalid resource',
        ...(i.expression?.[0] === undefined ? {} : { path: i.expression[0] }),
      }));
    }
    return [{ severity: 'error', code: 'processing', text: 'The resource could not be validated' }];
  }

  private extraResult(): ValidationIssue[] {
    if (!this.extraFailed) return this.extra.issues;
    const expression = String(this.resource.resourceType);
    return [{ severity: 'error', issue: 'processing', expression, message: 'The resource could not be validated' }];
  }

  private failMedplum(e: unknown): void {
    if (this.medplumFailed) return;
    this.medplumFailed = true;
    this.medplumFailure = e;
  }

  /** Medplum's FHIRPath variables for evaluating a constraint on a value. */
  private readonly variables = (context: TypedValueWithPath): Record<string, TypedValue> => {
    return {
      '%context': context,
      '%ucum': UCUM_VALUE,
      '%resource': this.resources.at(-1) ?? this.root,
      '%rootResource': this.root,
    };
  };

  /**
   * Medplum's `crawlObject` for one object and its schema. `withExtra` says whether the checks' crawl
   * visits this object too (it does not descend into the `_name` extensions of primitives, nor into a
   * string or number given where an object belongs).
   * @param path the crawler's path, without array indexes.
   */
  private crawl(obj: TypedValueWithPath, schema: InternalTypeSchema, path: string, withExtra: boolean): void {
    const value: unknown = obj.value;
    const resource = isResource(value);
    let extra = withExtra && !this.extraFailed;
    if (resource) this.resources.push(toTypedValue(value));
    if (extra) {
      try {
        if (resource) this.extra.onEnterResource('', obj);
        this.extra.onEnterObject('', obj, schema);
      } catch {
        this.extraFailed = true;
        extra = false;
      }
    }

    const info = schemaInfo(schema);
    const ownSchema = tryGetDataType(obj.type) === schema;
    const plain =
      typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype && ownSchema;
    if (plain) {
      // The usual case: only the elements named by a JSON key, and the required ones.
      const record = value as Record<string, unknown>;
      for (const n of visitOrder(record, info)) {
        this.visit(obj, info.elements[n] as ElementInfo, schema, path, extra, plain);
      }
    } else {
      // A string, number, array or boxed primitive where an object belongs, or a type whose schema is not
      // the crawled one: every element, read by medplum itself, as its crawler does.
      const extraVisits =
        extra && typeof value === 'object' && value !== null ? extraElements(value, info, ownSchema) : undefined;
      info.elements.forEach((element, n) => {
        this.visit(obj, element, schema, path, extraVisits?.has(n) === true, plain);
      });
    }

    if (!this.medplumFailed) {
      try {
        checkAdditionalProperties(
          obj,
          schema,
          info.choiceStems,
          (stem) => choicePresent(obj, stem, schema, info, plain),
          this.medplum,
        );
      } catch (e) {
        this.failMedplum(e);
      }
    }
    if (resource) {
      this.resources.pop();
      if (extra) this.extra.onExitResource();
    }
    if (this.medplumFailed && this.extraFailed) throw BOTH_FAILED;
  }

  /** Medplum's `crawlProperty` (visitProperty, then the values' objects) for one element. */
  private visit(
    parent: TypedValueWithPath,
    info: ElementInfo,
    schema: InternalTypeSchema,
    parentPath: string,
    extra: boolean,
    plain: boolean,
  ): void {
    const path = `${parentPath}.${info.key}`;
    let values: TypedValueWithPath | TypedValueWithPath[];
    try {
      const valuePath = parent.path ? `${parent.path}.${info.key}` : info.key;
      const typed = plain
        ? (propertyValue(parent.value as Record<string, unknown>, info, valuePath) as
            TypedValueWithPath | TypedValueWithPath[] | undefined)
        : withPath(getTypedPropertyValue(parent, info.key), valuePath);
      values = typed ?? { type: 'undefined', value: undefined, path: valuePath };
    } catch (e) {
      // Reading the element failed: both validators read it, unless the checks do not visit it.
      if (extra) throw e;
      this.failMedplum(e);
      return;
    }

    if (!this.medplumFailed) {
      try {
        this.medplumProperty(values, info, path);
      } catch (e) {
        this.failMedplum(e);
      }
    }
    if (extra && !this.extraFailed && (Array.isArray(values) || values.value !== undefined)) {
      try {
        this.extra.visitProperty(parent, info.key, path, [values], schema);
      } catch {
        this.extraFailed = true;
      }
    }

    if (Array.isArray(values)) {
      for (const v of values) this.crawlValue(v, schema, path, extra);
    } else {
      this.crawlValue(values, schema, path, extra);
    }
  }

  /** Medplum's `crawlPropertyValue`: an object (not a primitive) is crawled with its type's schema. */
  private crawlValue(v: TypedValueWithPath, schema: InternalTypeSchema, path: string, extra: boolean): void {
    if (isPrimitiveType(v.type)) return;
    const childExtra = extra && !this.extraFailed;
    if (childExtra) {
      // Both crawls read the child's schema and visit it: if that throws, both fail.
      this.crawl(v, childSchema(schema, v.type), path, true);
    } else if (!this.medplumFailed) {
      try {
        this.crawl(v, childSchema(schema, v.type), path, false);
      } catch (e) {
        if (e === BOTH_FAILED) throw e;
        this.failMedplum(e);
      }
    }
  }

  /** The rest of medplum's `visitProperty`: per value, constraints, primitive checks (and their extensions), slices. */
  private medplumProperty(values: TypedValueWithPath | TypedValueWithPath[], info: ElementInfo, path: string): void {
    const element = info.element;
    const checked = checkProperty(values, element, path, this.medplum);
    if (!checked) return;
    for (const v of checked) {
      if (info.constraints.length > 0) checkConstraints(v, info.constraints, this.variables, this.medplum);
      if (isPrimitiveType(v.type)) {
        const extensions = checkPrimitive(v, Number.POSITIVE_INFINITY, this.medplum);
        if (extensions) this.crawl({ ...extensions, path: v.path }, this.elementSchema, v.path, false);
      } else if (isEmpty(v.value)) {
        this.medplum.push({
          severity: 'error',
          code: 'structure',
          text: 'Invalid empty non-primitive value',
          path: v.path,
        });
      }
    }
    if (element.slicing) checkSlices(checked, element, path, this.medplum);
  }
}

/** Indexes of the elements to visit in a plain object, in the schema's order (the keys' order, mostly). */
function visitOrder(record: Record<string, unknown>, info: SchemaInfo): number[] {
  const order: number[] = [];
  for (const key of Object.keys(record)) {
    const n = info.byJsonKey.get(key);
    if (n !== undefined) insertSorted(order, n);
  }
  for (const n of info.always) insertSorted(order, n);
  return order;
}

function insertSorted(order: number[], n: number): void {
  let i = order.length;
  while (i > 0 && (order[i - 1] as number) > n) i--;
  if (order[i - 1] === n) return;
  order.splice(i, 0, n);
}

/** The elements the checks' own crawl visited in an object that is not a plain JSON object. */
function extraElements(value: object, info: SchemaInfo, ownSchema: boolean): Set<number> {
  if (!ownSchema) return new Set(info.elements.keys());
  const found = new Set<number>();
  for (const k of Object.keys(value)) {
    const n = info.byJsonKey.get(k);
    if (n !== undefined) found.add(n);
  }
  return found;
}

/** Medplum's `getTypedPropertyValue(parent, stem)` is defined (its `isChoiceOfType` test). */
function choicePresent(
  parent: TypedValueWithPath,
  stem: string,
  schema: InternalTypeSchema,
  info: SchemaInfo,
  plain: boolean,
): boolean {
  // Medplum looks `stem` up in the elements, inherited properties included; only own ones are indexed.
  const n = info.byName.get(stem);
  if (!plain || n === undefined || (stem in schema.elements && !Object.hasOwn(schema.elements, stem))) {
    return getTypedPropertyValue(parent, stem) !== undefined;
  }
  const element = info.elements[n] as ElementInfo;
  return propertyValue(parent.value as Record<string, unknown>, element) !== undefined;
}

/** As medplum's crawler: an inner (backbone) type of the schema, or a data type. */
function childSchema(schema: InternalTypeSchema, type: string): InternalTypeSchema {
  return schema.innerTypes.find((t) => t.name === type) ?? getDataType(type);
}

/** Medplum's crawler's `withPath` for a value read by medplum itself. */
function withPath(
  typed: TypedValue | TypedValue[] | undefined,
  path: string,
): TypedValueWithPath | TypedValueWithPath[] | undefined {
  if (typed === undefined) return undefined;
  if (Array.isArray(typed)) return typed.map((v, i) => ({ ...v, path: `${path}[${i}]` }));
  return { ...typed, path };
}

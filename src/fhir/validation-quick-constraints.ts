/**
 * Answers the commonest FHIRPath invariants without running medplum's FHIRPath engine, when the answer
 * can be read straight from the JSON with the engine's own semantics: boolean combinations (`or`, `and`,
 * `=`, `!=`) of `x.empty()` and `x.exists()`, where `x` is one element of the value, or a path
 * (`contained.meta.versionId`, `component.code.where(…)`) whose first element is absent. That covers
 * dom-2, dom-4 and dom-5 on every resource without contained resources, obs-6, obs-7, ext-1, qty-3 and
 * cpt-2: most of the evaluations in a typical resource. Anything else (`unknown`) goes to the engine.
 *
 * The answer is the engine's: an element is read with medplum's `getTypedPropertyValueWithSchema`
 * (validation-schema.ts), its values are filtered as the engine's symbol lookup does (`value !==
 * undefined`), and `empty()` / `exists()` use medplum's `isEmpty` as its functions do. Where reading
 * the element throws, the engine is left to throw (and report) it.
 */

import type { Atom, TypedValue, FhirPathAtom } from '@medplum/core';
import {
  AndAtom,
  DotAtom,
  EqualsAtom,
  FunctionAtom,
  isEmpty,
  NotEqualsAtom,
  OrAtom,
  SymbolAtom,
  tryGetDataType,
} from '@medplum/core';
import type { SchemaInfo } from './validation-schema.ts';
import { propertyValue, schemaInfo } from './validation-schema.ts';

/** A compiled expression: true or false, or undefined when it cannot tell (then the engine must). */
type Quick = (record: Record<string, unknown>, info: SchemaInfo) => boolean | undefined;

const compiled = new Map<FhirPathAtom, Quick | null>();

/**
 * The value of a constraint's expression on a typed value, when it can be read without the FHIRPath
 * engine: `true` or `false` (a one-boolean result), or undefined.
 */
export function quickConstraint(atom: FhirPathAtom, context: TypedValue): boolean | undefined {
  let quick = compiled.get(atom);
  if (quick === undefined) {
    quick = compileBoolean(atom.child) ?? null;
    compiled.set(atom, quick);
  }
  if (quick === null) return undefined;
  const record: unknown = context.value;
  if (typeof record !== 'object' || record === null || Object.getPrototypeOf(record) !== Object.prototype) {
    return undefined;
  }
  // The engine reads elements with the schema of the value's type.
  const schema = tryGetDataType(context.type);
  if (!schema) return undefined;
  try {
    return quick(record as Record<string, unknown>, schemaInfo(schema));
  } catch {
    return undefined;
  }
}

function compileBoolean(atom: Atom): Quick | undefined {
  if (
    atom instanceof OrAtom ||
    atom instanceof AndAtom ||
    atom instanceof EqualsAtom ||
    atom instanceof NotEqualsAtom
  ) {
    const left = compileBoolean(atom.left);
    const right = compileBoolean(atom.right);
    if (!left || !right) return undefined;
    const combine = combiner(atom);
    return (record, info) => {
      const l = left(record, info);
      if (l === undefined) return undefined;
      const r = right(record, info);
      return r === undefined ? undefined : combine(l, r);
    };
  }
  if (atom instanceof DotAtom && atom.right instanceof FunctionAtom && atom.right.args.length === 0) {
    const test = atom.right.name;
    if (test !== 'empty' && test !== 'exists') return undefined;
    const path = chain(atom.left);
    const first = path?.[0];
    if (first === undefined) return undefined;
    const more = (path?.length ?? 0) > 1;
    return (record, info) => {
      if (record.resourceType === first) return undefined; // the engine would take the resource itself
      const n = info.byName.get(first);
      if (n === undefined) return undefined;
      const element = info.elements[n];
      if (!element) return undefined;
      const typed = propertyValue(record, element);
      const values = (Array.isArray(typed) ? typed : typed === undefined ? [] : [typed]).filter(
        (v) => v.value !== undefined,
      );
      // Further steps on an empty collection give an empty collection; on values, the engine must go on.
      if (more && values.length > 0) return undefined;
      return test === 'empty'
        ? values.every((v) => isEmpty(v.value))
        : values.length > 0 && values.every((v) => !isEmpty(v.value));
    };
  }
  return undefined;
}

function combiner(atom: OrAtom | AndAtom | EqualsAtom | NotEqualsAtom): (l: boolean, r: boolean) => boolean {
  if (atom instanceof OrAtom) return (l, r) => l || r;
  if (atom instanceof AndAtom) return (l, r) => l && r;
  if (atom instanceof EqualsAtom) return (l, r) => l === r;
  return (l, r) => l !== r;
}

/**
 * The element names of a path of symbols, possibly filtered with `where(…)` after the first: the first
 * is looked up on the value; the rest matter only in that they give nothing on nothing.
 */
function chain(atom: Atom): string[] | undefined {
  if (atom instanceof SymbolAtom) {
    return /^[a-z][A-Za-z0-9]*$/.test(atom.name) ? [atom.name] : undefined;
  }
  if (atom instanceof DotAtom) {
    const left = chain(atom.left);
    if (!left) return undefined;
    if (atom.right instanceof SymbolAtom && /^[a-z][A-Za-z0-9]*$/.test(atom.right.name)) {
      return [...left, atom.right.name];
    }
    if (atom.right instanceof FunctionAtom && atom.right.name === 'where' && atom.right.args.length === 1) {
      return [...left, 'where()'];
    }
  }
  return undefined;
}

/**
 * Pure extraction of search-index rows from one resource. Each search parameter's expression is compiled
 * once per resource type (on first use) and then run per resource; values are converted with the same
 * helpers the search side uses for query values (values.ts).
 */
import { compilePath, referenceTargetType, type CompiledPath, type PathNode } from '../../fhir/search-expression.ts';
import { searchParamsFor, type SearchParamDef } from '../../fhir/search-params.ts';
import type { FhirResource } from '../../fhir/types.ts';
import {
  cut,
  NEG_INFINITY,
  normaliseString,
  parseDateRange,
  parseNumberRange,
  parseReference,
  POS_INFINITY,
  type DateRange,
} from './values.ts';

export interface TokenRow {
  param: string;
  system: string | null;
  code: string | null;
  text: string | null;
}
export interface StringRow {
  param: string;
  norm: string;
  exact: string;
}
export interface DateRow {
  param: string;
  low: string;
  high: string;
}
export interface ReferenceRow {
  param: string;
  targetType: string | null;
  targetId: string | null;
  targetUrl: string | null;
  identifierSystem: string | null;
  identifierValue: string | null;
}
export interface QuantityRow {
  param: string;
  value: string | null;
  low: string | null;
  high: string | null;
  system: string | null;
  code: string | null;
  unit: string | null;
}
export interface UriRow {
  param: string;
  value: string;
}
export interface NumberRow {
  param: string;
  value: string;
  low: string;
  high: string;
}
export interface CompositeRow {
  param: string;
  system: string | null;
  code: string | null;
  vSystem: string | null;
  vCode: string | null;
  vValue: string | null;
  vLow: string | null;
  vHigh: string | null;
  vDateLow: string | null;
  vDateHigh: string | null;
  vText: string | null;
}

export interface IndexRows {
  token: TokenRow[];
  string: StringRow[];
  date: DateRow[];
  reference: ReferenceRow[];
  quantity: QuantityRow[];
  uri: UriRow[];
  number: NumberRow[];
  composite: CompositeRow[];
}

/** Longest normalised string kept in the (btree-indexed) value_norm column. */
export const MAX_NORM_LENGTH = 256;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

// ---- value conversions (exported for tests) ----

export function tokenValues(node: PathNode): Array<Omit<TokenRow, 'param'>> {
  const v = node.value;
  if (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') {
    return [{ system: null, code: String(v), text: null }];
  }
  if (!isObj(v)) return [];
  const out: Array<Omit<TokenRow, 'param'>> = [];
  if (Array.isArray(v.coding) || (typeof v.text === 'string' && v.code === undefined && v.value === undefined)) {
    // CodeableConcept
    for (const c of arr(v.coding)) {
      if (isObj(c) && (str(c.code) || str(c.system))) {
        out.push({
          system: str(c.system),
          code: str(c.code),
          text: str(c.display) && normaliseString(c.display as string),
        });
      }
    }
    // The concept's text gets a row of its own unless a coding's display already says the same (`:text`
    // matches either, so that row would find nothing more).
    if (str(v.text)) {
      const text = normaliseString(v.text as string);
      if (!out.some((t) => t.text === text)) out.push({ system: null, code: null, text });
    }
    return out;
  }
  if (v.value !== undefined && (typeof v.value === 'string' || typeof v.value === 'number')) {
    // Identifier or ContactPoint
    const type = isObj(v.type) ? str(v.type.text) : null;
    return [{ system: str(v.system), code: String(v.value), text: type && normaliseString(type) }];
  }
  if (str(v.code) || str(v.system)) {
    // Coding
    return [{ system: str(v.system), code: str(v.code), text: str(v.display) && normaliseString(v.display as string) }];
  }
  return [];
}

const NAME_PARTS = ['family', 'given', 'prefix', 'suffix', 'text'] as const;
const ADDRESS_PARTS = ['line', 'city', 'district', 'state', 'postalCode', 'country', 'text'] as const;

export function stringValues(node: PathNode): string[] {
  const v = node.value;
  if (typeof v === 'string') return v.length > 0 ? [v] : [];
  if (!isObj(v)) return [];
  const parts = 'family' in v || 'given' in v || node.type === 'HumanName' ? NAME_PARTS : ADDRESS_PARTS;
  const out: string[] = [];
  for (const p of parts) for (const s of arr(v[p])) if (typeof s === 'string' && s.length > 0) out.push(s);
  return out;
}

export function dateValues(node: PathNode): DateRange[] {
  const v = node.value;
  if (typeof v === 'string') {
    const r = parseDateRange(v);
    return r ? [r] : [];
  }
  if (!isObj(v)) return [];
  if ('start' in v || 'end' in v) {
    const start = typeof v.start === 'string' ? parseDateRange(v.start) : undefined;
    const end = typeof v.end === 'string' ? parseDateRange(v.end) : undefined;
    if (!start && !end) return [];
    return [{ low: start?.low ?? NEG_INFINITY, high: end?.high ?? POS_INFINITY }];
  }
  // Timing: its events and the bounds of its repeat.
  const out: DateRange[] = [];
  for (const e of arr(v.event)) if (typeof e === 'string') out.push(...dateValues({ value: e }));
  if (isObj(v.repeat) && isObj(v.repeat.boundsPeriod)) out.push(...dateValues({ value: v.repeat.boundsPeriod }));
  return out;
}

export function referenceValues(node: PathNode): Array<Omit<ReferenceRow, 'param'>> {
  const v = node.value;
  if (typeof v === 'string') {
    const t = parseReference(v);
    return t
      ? [
          {
            targetType: t.type ?? null,
            targetId: t.id ?? null,
            targetUrl: t.url ?? null,
            identifierSystem: null,
            identifierValue: null,
          },
        ]
      : [];
  }
  if (!isObj(v)) return [];
  const t = typeof v.reference === 'string' ? parseReference(v.reference) : undefined;
  const ident = isObj(v.identifier) ? v.identifier : undefined;
  const identifierValue = ident ? str(ident.value) : null;
  if (!t && !identifierValue) return [];
  return [
    {
      // The type `resolve() is T` sees, so that a parameter restricted to one target type (`patient`) can
      // be answered from these rows (see `storedAs` in search-params.ts).
      targetType: t?.type ?? referenceTargetType(v) ?? null,
      targetId: t?.id ?? null,
      targetUrl: t?.url ?? null,
      identifierSystem: ident ? str(ident.system) : null,
      identifierValue,
    },
  ];
}

export function quantityValues(node: PathNode): Array<Omit<QuantityRow, 'param'>> {
  const v = node.value;
  if (!isObj(v)) return [];
  if (typeof v.value === 'number') {
    const r = parseNumberRange(String(v.value));
    if (!r) return [];
    return [{ ...r, system: str(v.system), code: str(v.code) ?? str(v.currency), unit: str(v.unit) }];
  }
  if (isObj(v.low) || isObj(v.high)) {
    // Range
    const lo = isObj(v.low) && typeof v.low.value === 'number' ? v.low : undefined;
    const hi = isObj(v.high) && typeof v.high.value === 'number' ? v.high : undefined;
    const unitOf = lo ?? hi;
    if (!unitOf) return [];
    return [
      {
        value: null,
        low: lo ? String(lo.value) : null,
        high: hi ? String(hi.value) : null,
        system: str(unitOf.system),
        code: str(unitOf.code),
        unit: str(unitOf.unit),
      },
    ];
  }
  return [];
}

export function numberValues(node: PathNode): Array<Omit<NumberRow, 'param'>> {
  const v = node.value;
  const r =
    typeof v === 'number' ? parseNumberRange(String(v)) : typeof v === 'string' ? parseNumberRange(v) : undefined;
  return r ? [r] : [];
}

// ---- compiled parameters per resource type ----

interface CompiledParam {
  def: SearchParamDef;
  path: CompiledPath;
  parts?: [CompiledPath, CompiledPath];
}

const compiled = new Map<string, CompiledParam[]>();

/**
 * `_id` and `_lastUpdated` are columns of `resource`; they need no index rows. Nor do parameters whose rows
 * would repeat other parameters' rows (`storedAs`, e.g. `combo-code`, `patient`): searches read those.
 */
const FROM_RESOURCE_TABLE = new Set(['_id', '_lastUpdated']);

export function compiledParamsFor(resourceType: string): CompiledParam[] {
  let list = compiled.get(resourceType);
  if (!list) {
    list = searchParamsFor(resourceType)
      .filter((d) => !FROM_RESOURCE_TABLE.has(d.code) && d.storedAs === undefined)
      .map((def) => {
        const c: CompiledParam = { def, path: compilePath(def.expression) };
        const [a, b] = def.components;
        if (a && b) c.parts = [compilePath(a.expression), compilePath(b.expression)];
        return c;
      });
    compiled.set(resourceType, list);
  }
  return list;
}

function emptyRows(): IndexRows {
  return { token: [], string: [], date: [], reference: [], quantity: [], uri: [], number: [], composite: [] };
}

function compositeSecond(type: string, node: PathNode): Array<Omit<CompositeRow, 'param' | 'system' | 'code'>> {
  const none = {
    vSystem: null,
    vCode: null,
    vValue: null,
    vLow: null,
    vHigh: null,
    vDateLow: null,
    vDateHigh: null,
    vText: null,
  };
  switch (type) {
    case 'token':
      return tokenValues(node).map((t) => ({ ...none, vSystem: t.system, vCode: t.code, vText: t.text }));
    case 'quantity':
      return quantityValues(node).map((q) => ({
        ...none,
        vValue: q.value,
        vLow: q.low,
        vHigh: q.high,
        vSystem: q.system,
        vCode: q.code ?? q.unit,
      }));
    case 'date':
      return dateValues(node).map((d) => ({ ...none, vDateLow: d.low, vDateHigh: d.high }));
    case 'string':
      return stringValues(node).map((s) => ({ ...none, vText: cut(normaliseString(s), MAX_NORM_LENGTH) }));
    case 'reference':
      return referenceValues(node).map((r) => ({ ...none, vSystem: r.targetType, vCode: r.targetId }));
    default:
      return [];
  }
}

/** The index rows of one resource (without resource type, id and person; the writer adds those). */
export function extractIndexRows(resource: FhirResource): IndexRows {
  const rows = emptyRows();
  const seen = new Set<string>();
  for (const p of compiledParamsFor(resource.resourceType)) addRows(p, resource, rows, seen);
  return rows;
}

const compiledOne = new WeakMap<SearchParamDef, CompiledParam>();

/**
 * The rows one parameter's own expression gives, whether or not the indexer writes them (for a parameter
 * `storedAs` others it does not; tests compare the two).
 */
export function extractParamRows(resource: FhirResource, def: SearchParamDef): IndexRows {
  let p = compiledOne.get(def);
  if (!p) {
    p = { def, path: compilePath(def.expression) };
    const [a, b] = def.components;
    if (a && b) p.parts = [compilePath(a.expression), compilePath(b.expression)];
    compiledOne.set(def, p);
  }
  const rows = emptyRows();
  addRows(p, resource, rows, new Set());
  return rows;
}

function addRows(
  { def, path, parts }: CompiledParam,
  resource: FhirResource,
  rows: IndexRows,
  seen: Set<string>,
): void {
  // A row already given by this parameter (two paths reaching the same value) is kept once. The key is the
  // row's values in its fixed field order, each marked as absent, a number, or a string with its length (so
  // that no string, whatever it holds, can make two different rows' keys the same).
  const add = <T extends { param: string }>(list: T[], row: T): void => {
    let key = '';
    for (const k in row) {
      // Row values are strings, numbers or null (see the row types above).
      const v = (row as Record<string, string | number | null | undefined>)[k];
      key +=
        v === null || v === undefined ? '\u0000-' : typeof v === 'number' ? `\u0000#${v}` : `\u0000${v.length}'${v}`;
    }
    if (seen.has(key)) return;
    seen.add(key);
    list.push(row);
  };
  const param = def.code;
  const nodes = path(resource);
  if (nodes.length === 0) return;
  switch (def.type) {
    case 'token':
      for (const n of nodes) for (const t of tokenValues(n)) add(rows.token, { param, ...t });
      break;
    case 'string':
      for (const n of nodes)
        for (const s of stringValues(n))
          add(rows.string, { param, norm: cut(normaliseString(s), MAX_NORM_LENGTH), exact: s });
      break;
    case 'date':
      for (const n of nodes) for (const d of dateValues(n)) add(rows.date, { param, ...d });
      break;
    case 'reference':
      for (const n of nodes) for (const r of referenceValues(n)) add(rows.reference, { param, ...r });
      break;
    case 'quantity':
      for (const n of nodes) for (const q of quantityValues(n)) add(rows.quantity, { param, ...q });
      break;
    case 'uri':
      for (const n of nodes) if (typeof n.value === 'string' && n.value) add(rows.uri, { param, value: n.value });
      break;
    case 'number':
      for (const n of nodes) for (const x of numberValues(n)) add(rows.number, { param, ...x });
      break;
    case 'composite': {
      const secondType = def.components[1]?.type ?? 'token';
      if (!parts) break;
      for (const n of nodes) {
        if (!isObj(n.value)) continue;
        const firsts = parts[0](n.value)
          .flatMap(tokenValues)
          .filter((t) => t.code !== null);
        const seconds = parts[1](n.value).flatMap((s) => compositeSecond(secondType, s));
        for (const f of firsts)
          for (const s of seconds) add(rows.composite, { param, system: f.system, code: f.code, ...s });
      }
      break;
    }
  }
}

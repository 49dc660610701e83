/**
 * SQL predicates for search filters. Every value is a bound parameter; identifiers (table and column
 * names) come only from the fixed maps below. A filter becomes `r.id in (select resource_id from
 * search_<type> …)` so that PostgreSQL can drive the query from the index table or from `resource`.
 */
import type { SearchParamDef, SearchParamType } from '../../fhir/search-params.ts';
import type { SqlValue } from '../db.ts';
import { cut, escapeLike, indexKey, instantMs, instantText, normaliseString } from '../indexing/values.ts';
import { MAX_NORM_LENGTH } from '../indexing/extract.ts';
import type {
  CompositeValue,
  DateValue,
  NumberValue,
  QuantityValue,
  ReferenceValue,
  SearchFilter,
  SearchValue,
  SimpleValue,
  StringValue,
  TokenValue,
  UriValue,
} from './types.ts';

export class SqlParams {
  readonly values: SqlValue[] = [];
  add(v: SqlValue): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

export const TABLE_OF: Record<SearchParamType, string> = {
  token: 'search_token',
  string: 'search_string',
  date: 'search_date',
  reference: 'search_reference',
  quantity: 'search_quantity',
  uri: 'search_uri',
  number: 'search_number',
  composite: 'search_composite',
};

/**
 * The index rows of parameter `def` in row alias `x`: its own (`x.param = 'code'`), or, for a parameter
 * stored as others (`storedAs`), theirs: `combo-code` reads the `code` and `component-code` rows, `patient`
 * the `subject` rows that point at a Patient.
 */
export function paramRows(P: SqlParams, x: string, def: Pick<SearchParamDef, 'code' | 'storedAs'>): string {
  const s = def.storedAs;
  if (!s) return `${x}.param = ${P.add(def.code)}`;
  const [only, ...more] = s.params;
  const params =
    only !== undefined && more.length === 0
      ? `${x}.param = ${P.add(only)}`
      : `${x}.param = any(${P.add([...s.params])}::text[])`;
  return s.targetType === undefined ? params : `${params} and ${x}.target_type = ${P.add(s.targetType)}`;
}

function tokenPred(P: SqlParams, x: string, v: TokenValue, systemCol = 'system', codeCol = 'code'): string {
  const parts: string[] = [];
  // Long values are stored as their index key (indexKey in values.ts), so they are compared as one.
  if (v.code !== undefined) parts.push(`${x}.${codeCol} = ${P.add(indexKey(v.code))}`);
  if (v.system === null) parts.push(`${x}.${systemCol} is null`);
  else if (v.system !== undefined) parts.push(`${x}.${systemCol} = ${P.add(indexKey(v.system))}`);
  return parts.length > 0 ? parts.join(' and ') : 'true';
}

/** Starts-with on any word of the normalised text (token :text). */
function textPred(P: SqlParams, col: string, value: string): string {
  const esc = escapeLike(normaliseString(value));
  return `(${col} like ${P.add(`${esc}%`)} or ${col} like ${P.add(`% ${esc}%`)})`;
}

function stringPred(
  P: SqlParams,
  x: string,
  v: StringValue,
  modifier: string | undefined,
  normCol = 'value_norm',
): string {
  const norm = cut(normaliseString(v.value), MAX_NORM_LENGTH);
  if (modifier === 'exact') return `${x}.value_exact = ${P.add(v.value)} and ${x}.${normCol} = ${P.add(norm)}`;
  if (modifier === 'contains') return `${x}.${normCol} like ${P.add(`%${escapeLike(norm)}%`)}`;
  return `${x}.${normCol} like ${P.add(`${escapeLike(norm)}%`)}`;
}

/** `ap`: the search range widened by 10% of its distance from now (at least a day). */
function approximate(low: string, high: string): [string, string] {
  const l = instantMs(low);
  const h = instantMs(high);
  const spread = Math.max(Math.abs(Date.now() - l) * 0.1, 86_400_000);
  // Widened past 0001 or 9999, a bound becomes an infinity (which PostgreSQL holds; year 10000 it does not).
  return [instantText(l - spread), instantText(h + spread)];
}

/** Range semantics of FHIR date prefixes; the target is the half-open range [lowCol, highCol). */
export function datePred(P: SqlParams, lowCol: string, highCol: string, v: DateValue): string {
  const ts = (s: string) => `${P.add(s)}::timestamptz`;
  const { low, high } = v.range;
  switch (v.prefix) {
    case 'eq':
      return `(${lowCol} >= ${ts(low)} and ${highCol} <= ${ts(high)})`;
    case 'ne':
      return `not (${lowCol} >= ${ts(low)} and ${highCol} <= ${ts(high)})`;
    case 'gt':
      return `${highCol} > ${ts(high)}`;
    case 'lt':
      return `${lowCol} < ${ts(low)}`;
    case 'ge':
      return `(${highCol} > ${ts(high)} or (${lowCol} >= ${ts(low)} and ${highCol} <= ${ts(high)}))`;
    case 'le':
      return `(${lowCol} < ${ts(low)} or (${lowCol} >= ${ts(low)} and ${highCol} <= ${ts(high)}))`;
    case 'sa':
      return `${lowCol} >= ${ts(high)}`;
    case 'eb':
      return `${highCol} <= ${ts(low)}`;
    case 'ap': {
      const [l, h] = approximate(low, high);
      return `(${lowCol} < ${ts(h)} and ${highCol} > ${ts(l)})`;
    }
  }
}

/** Date prefixes against a single instant (`resource.last_updated`). */
export function instantPred(P: SqlParams, col: string, v: DateValue): string {
  const ts = (s: string) => `${P.add(s)}::timestamptz`;
  const { low, high } = v.range;
  switch (v.prefix) {
    case 'eq':
      return `(${col} >= ${ts(low)} and ${col} < ${ts(high)})`;
    case 'ne':
      return `not (${col} >= ${ts(low)} and ${col} < ${ts(high)})`;
    case 'gt':
    case 'sa':
      return `${col} >= ${ts(high)}`;
    case 'lt':
    case 'eb':
      return `${col} < ${ts(low)}`;
    case 'ge':
      return `${col} >= ${ts(low)}`;
    case 'le':
      return `${col} < ${ts(high)}`;
    case 'ap': {
      const [l, h] = approximate(low, high);
      return `(${col} >= ${ts(l)} and ${col} < ${ts(h)})`;
    }
  }
}

/**
 * Number prefixes. A point value (valueCol set) is compared with the search value's precision range for
 * eq/ne and with the value itself otherwise; a Range row (valueCol null) by its bounds.
 */
function numberPred(
  P: SqlParams,
  valueCol: string,
  lowCol: string,
  highCol: string,
  v: NumberValue | QuantityValue,
): string {
  const n = (s: string) => `${P.add(s)}::numeric`;
  const { value, low, high } = v.range;
  const lo = `coalesce(${lowCol}, '-Infinity'::numeric)`;
  const hi = `coalesce(${highCol}, 'Infinity'::numeric)`;
  let point: string;
  let range: string;
  switch (v.prefix) {
    case 'eq':
      point = `${valueCol} >= ${n(low)} and ${valueCol} < ${n(high)}`;
      range = `${lo} >= ${n(low)} and ${hi} <= ${n(high)}`;
      break;
    case 'ne':
      point = `not (${valueCol} >= ${n(low)} and ${valueCol} < ${n(high)})`;
      range = `not (${lo} >= ${n(low)} and ${hi} <= ${n(high)})`;
      break;
    case 'gt':
    case 'sa':
      point = `${valueCol} > ${n(value)}`;
      range = `${hi} > ${n(value)}`;
      break;
    case 'lt':
    case 'eb':
      point = `${valueCol} < ${n(value)}`;
      range = `${lo} < ${n(value)}`;
      break;
    case 'ge':
      point = `${valueCol} >= ${n(value)}`;
      range = `${hi} >= ${n(value)}`;
      break;
    case 'le':
      point = `${valueCol} <= ${n(value)}`;
      range = `${lo} <= ${n(value)}`;
      break;
    case 'ap': {
      const d = Math.abs(Number(value)) * 0.1;
      const a = String(Number(value) - d);
      const b = String(Number(value) + d);
      point = `${valueCol} >= ${n(a)} and ${valueCol} <= ${n(b)}`;
      range = `${lo} <= ${n(b)} and ${hi} >= ${n(a)}`;
      break;
    }
  }
  if (valueCol === lowCol) return `(${point})`;
  return `((${valueCol} is not null and ${point}) or (${valueCol} is null and ${range}))`;
}

function unitPred(
  P: SqlParams,
  x: string,
  v: QuantityValue,
  systemCol: string,
  codeCol: string,
  unitCol?: string,
): string {
  if (v.code === undefined) return 'true';
  const code = P.add(indexKey(v.code));
  if (v.system !== undefined) return `${x}.${systemCol} = ${P.add(indexKey(v.system))} and ${x}.${codeCol} = ${code}`;
  // The unit is stored as written (it is not indexed).
  return unitCol ? `(${x}.${codeCol} = ${code} or ${x}.${unitCol} = ${P.add(v.code)})` : `${x}.${codeCol} = ${code}`;
}

function referencePred(P: SqlParams, x: string, v: ReferenceValue | TokenValue): string {
  if (v.kind === 'token') {
    // :identifier
    return tokenPred(P, x, v, 'identifier_system', 'identifier_value');
  }
  if (v.type !== undefined && v.id !== undefined) {
    const local = `(${x}.target_id = ${P.add(v.id)} and ${x}.target_type = ${P.add(v.type)})`;
    return v.url ? `(${local} or ${x}.target_url = ${P.add(indexKey(v.url))})` : local;
  }
  if (v.id !== undefined) return `${x}.target_id = ${P.add(v.id)}`;
  return `${x}.target_url = ${P.add(indexKey(v.url ?? ''))}`;
}

function uriPred(P: SqlParams, x: string, v: UriValue, modifier: string | undefined): string {
  if (modifier === 'below') return `${x}.value like ${P.add(`${escapeLike(v.value)}%`)}`;
  if (modifier === 'above') return `${P.add(v.value)} like ${x}.value || '%'`;
  return `${x}.value = ${P.add(indexKey(v.value))}`;
}

function compositePred(P: SqlParams, x: string, v: CompositeValue): string {
  const first = tokenPred(P, x, v.first);
  const s = v.second;
  let second: string;
  switch (s.kind) {
    case 'token':
      second = tokenPred(P, x, s, 'v_system', 'v_code');
      break;
    case 'quantity':
      second = `${numberPred(P, `${x}.v_value`, `${x}.v_low`, `${x}.v_high`, s)} and ${unitPred(P, x, s, 'v_system', 'v_code')}`;
      break;
    case 'date':
      second = datePred(P, `${x}.v_date_low`, `${x}.v_date_high`, s);
      break;
    case 'string':
      second = stringPred(P, x, s, undefined, 'v_text');
      break;
    case 'reference':
      second = s.id !== undefined ? `${x}.v_code = ${P.add(s.id)}` : 'false';
      break;
    default:
      second = 'false';
  }
  return `${first} and ${second}`;
}

/** The predicate one index row `x` must meet for one value. */
export function valuePred(
  P: SqlParams,
  type: SearchParamType,
  x: string,
  v: SearchValue,
  modifier: string | undefined,
): string {
  switch (v.kind) {
    case 'token':
      return type === 'reference' ? referencePred(P, x, v) : tokenPred(P, x, v);
    case 'string':
      return type === 'token' ? textPred(P, `${x}.text_norm`, v.value) : stringPred(P, x, v, modifier);
    case 'date':
      return datePred(P, `${x}.low`, `${x}.high`, v);
    case 'number':
      return numberPred(P, `${x}.value`, `${x}.value`, `${x}.value`, v);
    case 'quantity':
      return `${numberPred(P, `${x}.value`, `${x}.low`, `${x}.high`, v)} and ${unitPred(P, x, v, 'system', 'code', 'unit')}`;
    case 'reference':
      return referencePred(P, x, v);
    case 'uri':
      return uriPred(P, x, v, modifier);
    case 'composite':
      return compositePred(P, x, v);
    case 'missing':
      return 'true';
  }
}

function anyOf(
  P: SqlParams,
  type: SearchParamType,
  x: string,
  values: readonly SearchValue[],
  modifier: string | undefined,
): string {
  return values.map((v) => `(${valuePred(P, type, x, v, modifier)})`).join(' or ');
}

/**
 * The predicate for one filter on the resource `idExpr` of type `rtParam` (a bound parameter).
 * `_id` and `_lastUpdated` use the resource columns `r.id` and `r.last_updated`.
 */
export function filterPredicate(
  P: SqlParams,
  f: SearchFilter,
  rtParam: string,
  idExpr = 'r.id',
  lastUpdatedExpr = 'r.last_updated',
  chainScope?: { personIds: readonly string[] | undefined },
): string {
  const def = f.def;
  const first = f.values[0];
  if (def.code === '_id') {
    if (first?.kind === 'missing') return first.missing ? 'false' : 'true';
    const ids = f.values.flatMap((v) => (v.kind === 'token' && v.code !== undefined ? [v.code] : []));
    return `${idExpr} = any(${P.add(ids)}::text[])`;
  }
  if (def.code === '_lastUpdated') {
    if (first?.kind === 'missing') return first.missing ? 'false' : 'true';
    return `(${f.values.map((v) => instantPred(P, lastUpdatedExpr, v as DateValue)).join(' or ')})`;
  }
  const table = TABLE_OF[def.type];
  const scope = () => `x.resource_type = ${rtParam} and x.resource_id = ${idExpr} and ${paramRows(P, 'x', def)}`;
  if (first?.kind === 'missing') {
    return `${first.missing ? 'not ' : ''}exists (select 1 from ${table} x where ${scope()})`;
  }
  if (f.chain) {
    const chainType = f.chain.targets[0]?.def.type ?? 'token';
    const targets = f.chain.targets.filter((t) => t.def.type === chainType);
    // Target types whose parameter is stored alike share one condition.
    const byStorage = new Map<string, { def: SearchParamDef; types: string[] }>();
    for (const t of targets) {
      const key = JSON.stringify(t.def.storedAs ?? t.def.code);
      const group = byStorage.get(key) ?? { def: t.def, types: [] };
      group.types.push(t.type);
      byStorage.set(key, group);
    }
    const which = [...byStorage.values()]
      .map((g) => `(y.resource_type = any(${P.add(g.types)}::text[]) and ${paramRows(P, 'y', g.def)})`)
      .join(' or ');
    const inner =
      `select y.resource_type, y.resource_id from ${TABLE_OF[chainType]} y where (${which})` +
      ` and (${anyOf(P, chainType, 'y', f.values, f.chain.modifier)})` +
      (chainScope === undefined
        ? ''
        : chainScope.personIds
          ? ` and (y.person_id is null or y.person_id = any(${P.add([...chainScope.personIds])}::text[]))`
          : ` and (y.person_id is null or y.resource_type = 'Patient')`);
    return `${idExpr} in (select x.resource_id from search_reference x where x.resource_type = ${rtParam} and ${paramRows(P, 'x', def)} and (x.target_type, x.target_id) in (${inner}))`;
  }
  const match = anyOf(P, def.type, 'x', f.values, f.modifier);
  if (f.modifier === 'not') return `not exists (select 1 from ${table} x where ${scope()} and (${match}))`;
  return `${idExpr} in (select x.resource_id from ${table} x where x.resource_type = ${rtParam} and ${paramRows(P, 'x', def)} and (${match}))`;
}

export type { SimpleValue };

/**
 * Parses a FHIR search query string into a SearchRequest, checking the syntax of every value.
 * Bad syntax is ICR_INVALID_SEARCH; an unknown parameter is ICR_UNKNOWN_SEARCH_PARAM unless lenient, when
 * it is listed in `ignored` (and reported in the Bundle's OperationOutcome).
 */
import { getSearchParam, type SearchParamDef } from '../../fhir/search-params.ts';
import { isSupportedType } from '../../fhir/types.ts';
import { IcrError } from '../../shared/errors.ts';
import { normaliseString, parseDateRange, parseNumberRange, parseReference } from '../indexing/values.ts';
import { parseResultParam } from './parse-result-params.ts';
import {
  DEFAULT_COUNT,
  type Prefix,
  type SearchFilter,
  type SearchRequest,
  type SearchValue,
  type SimpleValue,
  type TokenValue,
} from './types.ts';

export interface ParseOptions {
  lenient?: boolean;
}

const MODIFIERS: Record<string, ReadonlySet<string>> = {
  token: new Set(['missing', 'not', 'text']),
  string: new Set(['missing', 'exact', 'contains']),
  date: new Set(['missing']),
  number: new Set(['missing']),
  quantity: new Set(['missing']),
  uri: new Set(['missing', 'below', 'above']),
  reference: new Set(['missing', 'identifier']),
  composite: new Set(['missing']),
};

/** Parameters the HTTP layer handles; accepted and not repeated in links. */
const TRANSPORT = new Set(['_format', '_pretty']);

export function invalid(message: string): IcrError {
  return new IcrError('ICR_INVALID_SEARCH', message);
}

/** Splits on `sep` not preceded by a backslash. */
export function splitEscaped(s: string, sep: string, limit = Infinity): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] as string;
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + (s[i + 1] as string);
      i++;
    } else if (ch === sep && out.length < limit - 1) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Text PostgreSQL cannot hold (a NUL character) or that is not Unicode (a lone surrogate) is refused
 * here, where it enters, so it never reaches SQL (where it was a 500).
 */
export function checkSearchText(s: string): void {
  if (s.includes('\u0000')) throw invalid('A search parameter name or value contains a NUL character');
  if (LONE_SURROGATE.test(s)) throw invalid('A search parameter name or value is not valid Unicode text');
}

/** A string search value that normalises to nothing (spaces, a lone accent) would match everyone: refused. */
function stringValue(def: SearchParamDef, raw: string, modifier: string | undefined): string {
  const value = unescape(raw);
  const empty = modifier === 'exact' ? value.trim() === '' : normaliseString(value) === '';
  if (empty) throw invalid(`The value of ${def.code} is empty once spaces and accents are set aside`);
  return value;
}

export function unescape(s: string): string {
  return s.replace(/\\([\\,|$])/g, '$1');
}

const PREFIX_RE = /^(eq|ne|gt|lt|ge|le|sa|eb|ap)/;

function prefixed(raw: string): { prefix: Prefix; rest: string } {
  const m = PREFIX_RE.exec(raw);
  if (m) return { prefix: m[1] as Prefix, rest: raw.slice(2) };
  if (/^[a-z]{2}/.test(raw)) throw invalid(`Unknown prefix in "${raw}"`);
  return { prefix: 'eq', rest: raw };
}

function parseToken(raw: string): TokenValue {
  const parts = splitEscaped(raw, '|', 2);
  if (parts.length === 1) return { kind: 'token', code: unescape(raw) };
  const [system, code] = parts as [string, string];
  const out: TokenValue = { kind: 'token', system: system === '' ? null : unescape(system) };
  if (code !== '') out.code = unescape(code);
  else if (system === '') throw invalid('A token needs a system or a code');
  return out;
}

function parseValue(def: SearchParamDef, raw: string, modifier: string | undefined): SimpleValue | SearchValue {
  switch (def.type) {
    case 'token':
      if (modifier === 'text') return { kind: 'string', value: stringValue(def, raw, modifier) };
      return parseToken(raw);
    case 'string':
      return { kind: 'string', value: stringValue(def, raw, modifier) };
    case 'uri':
      return { kind: 'uri', value: unescape(raw) };
    case 'date': {
      const { prefix, rest } = prefixed(raw);
      // An unencoded `+` in a query string arrives as a space: `…T10:00:00 01:00`.
      const range = parseDateRange(rest.replace(/ (\d{2}:\d{2})$/, '+$1'));
      if (!range) throw invalid(`Invalid date "${raw}" for ${def.code}`);
      return { kind: 'date', prefix, range };
    }
    case 'number': {
      const { prefix, rest } = prefixed(raw);
      const range = parseNumberRange(rest);
      if (!range) throw invalid(`Invalid number "${raw}" for ${def.code}`);
      return { kind: 'number', prefix, range };
    }
    case 'quantity': {
      const [num, system, code] = splitEscaped(raw, '|', 3) as [string, string | undefined, string | undefined];
      const { prefix, rest } = prefixed(num);
      const range = parseNumberRange(rest);
      if (!range) throw invalid(`Invalid quantity "${raw}" for ${def.code}`);
      return {
        kind: 'quantity',
        prefix,
        range,
        ...(system ? { system: unescape(system) } : {}),
        ...(code ? { code: unescape(code) } : {}),
      };
    }
    case 'reference': {
      if (modifier === 'identifier') return parseToken(raw);
      const value = unescape(raw);
      const t = parseReference(value);
      if (!t) throw invalid(`Invalid reference "${raw}" for ${def.code}`);
      if (t.type) return { kind: 'reference', type: t.type, id: t.id as string, ...(t.url ? { url: t.url } : {}) };
      if (/^[A-Za-z0-9\-.]{1,64}$/.test(value)) {
        return modifier ? { kind: 'reference', type: modifier, id: value } : { kind: 'reference', id: value };
      }
      if (!value.includes(':')) throw invalid(`Invalid reference "${raw}" for ${def.code}`);
      return { kind: 'reference', url: t.url as string };
    }
    case 'composite': {
      const parts = splitEscaped(raw, '$');
      const [a, b] = def.components;
      if (parts.length !== 2 || !a || !b) throw invalid(`Composite ${def.code} needs two parts joined by $`);
      const first = parseToken(parts[0] as string);
      const secondDef = { ...def, code: b.code, type: b.type, components: [] };
      return { kind: 'composite', first, second: parseValue(secondDef, parts[1] as string, undefined) as SimpleValue };
    }
  }
}

/** Parses `[param][:modifier][.chained[:modifier]]`. Returns undefined when the parameter is unknown. */
function parseFilter(resourceType: string, key: string, raw: string): SearchFilter | undefined {
  const dot = key.indexOf('.');
  const head = dot >= 0 ? key.slice(0, dot) : key;
  const [code, modifier] = head.split(':', 2) as [string, string | undefined];
  const def = getSearchParam(resourceType, code);
  if (!def) return undefined;
  const filter: SearchFilter = { key, def, values: [] };
  if (modifier !== undefined) filter.modifier = modifier;

  if (dot >= 0) {
    if (def.type !== 'reference') throw invalid(`Only reference parameters can be chained (${key})`);
    const [chainCode, chainModifier] = key.slice(dot + 1).split(':', 2) as [string, string | undefined];
    if (chainCode.includes('.')) throw invalid(`Only one level of chaining is supported (${key})`);
    const types = modifier ? [modifier] : def.targets;
    const targets = types.flatMap((type) => {
      const d = getSearchParam(type, chainCode);
      return d && d.code !== '_id' && d.code !== '_lastUpdated' ? [{ type, def: d }] : [];
    });
    if (targets.length === 0) throw invalid(`Cannot chain ${chainCode} on ${head}`);
    const first = targets[0] as { type: string; def: SearchParamDef };
    if (chainModifier && chainModifier !== 'missing' && !MODIFIERS[first.def.type]?.has(chainModifier)) {
      throw invalid(`Unsupported modifier :${chainModifier} on ${chainCode}`);
    }
    filter.chain = { targets, ...(chainModifier ? { modifier: chainModifier } : {}) };
    for (const part of splitEscaped(raw, ',')) filter.values.push(parseValue(first.def, part, chainModifier));
    return filter;
  }

  if (modifier === 'missing') {
    if (raw !== 'true' && raw !== 'false') throw invalid(`:missing takes true or false (${key})`);
    filter.values.push({ kind: 'missing', missing: raw === 'true' });
    return filter;
  }
  if (modifier !== undefined) {
    const ok =
      MODIFIERS[def.type]?.has(modifier) ||
      (def.type === 'reference' && isSupportedType(modifier) && def.targets.includes(modifier));
    if (!ok || code === '_id' || code === '_lastUpdated') throw invalid(`Unsupported modifier :${modifier} on ${code}`);
  }
  for (const part of splitEscaped(raw, ',')) {
    if (part === '') continue;
    filter.values.push(parseValue(def, part, modifier));
  }
  return filter.values.length > 0 ? filter : undefined;
}

export function parseSearch(resourceType: string, params: URLSearchParams, opts: ParseOptions = {}): SearchRequest {
  if (!isSupportedType(resourceType)) {
    throw new IcrError('ICR_UNSUPPORTED_TYPE', `Resource type ${resourceType} is not supported`);
  }
  const req: SearchRequest = {
    resourceType,
    filters: [],
    count: DEFAULT_COUNT,
    offset: 0,
    sort: [],
    include: [],
    revinclude: [],
    summaryCount: false,
    total: 'accurate',
    ignored: [],
    query: [],
  };
  const unknown = (key: string, err: IcrError): void => {
    if (!opts.lenient) throw err;
    req.ignored.push(key);
  };
  for (const [key, value] of params) {
    checkSearchText(key);
    checkSearchText(value);
    if (TRANSPORT.has(key)) continue;
    if (value === '' && !key.startsWith('_')) continue;
    if (
      key.startsWith('_') &&
      key !== '_id' &&
      key !== '_lastUpdated' &&
      !getSearchParam(resourceType, key.split(/[:.]/)[0] as string)
    ) {
      const handled = parseResultParam(req, key, value);
      if (handled === 'unknown') {
        unknown(key, new IcrError('ICR_UNKNOWN_SEARCH_PARAM', `Unknown or unsupported search parameter ${key}`));
        continue;
      }
      if (key !== '_offset') req.query.push([key, value]);
      continue;
    }
    let filter: SearchFilter | undefined;
    try {
      filter = parseFilter(resourceType, key, value);
    } catch (e) {
      // An unsupported modifier is a feature we lack: ignorable when lenient. Bad values never are.
      if (
        e instanceof IcrError &&
        /^Unsupported modifier|^Cannot chain|^Only one level/.test(e.message) &&
        opts.lenient
      ) {
        req.ignored.push(key);
        continue;
      }
      throw e;
    }
    if (!filter) {
      if (getSearchParam(resourceType, key.split(/[:.]/)[0] as string)) continue; // empty value
      unknown(key, new IcrError('ICR_UNKNOWN_SEARCH_PARAM', `Unknown search parameter ${key} for ${resourceType}`));
      continue;
    }
    req.filters.push(filter);
    req.query.push([key, value]);
  }
  return req;
}

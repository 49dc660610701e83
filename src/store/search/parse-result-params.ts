/**
 * The result parameters of a search: _count, _offset, _sort, _include, _revinclude, _summary, _total,
 * _elements. Each is checked here; anything else starting with `_` that is not a search parameter is
 * 'unknown' (refused, or ignored when lenient).
 */
import { getSearchParam } from '../../fhir/search-params.ts';
import { isSupportedType } from '../../fhir/types.ts';
import { IcrError } from '../../shared/errors.ts';
import { MAX_COUNT, type IncludeSpec, type SearchRequest } from './types.ts';

function invalid(message: string): IcrError {
  return new IcrError('ICR_INVALID_SEARCH', message);
}

function nonNegativeInt(key: string, value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw invalid(`${key} must be a whole number (got "${value}")`);
  return Number(value);
}

const SORTABLE = new Set(['date', 'string', 'token', 'number', 'quantity', 'uri', 'reference']);

function parseInclude(key: string, value: string, reverse: boolean, matchType: string): IncludeSpec {
  const iterate = key.endsWith(':iterate') || key.endsWith(':recurse');
  if (value === '*') return { sourceType: reverse ? '*' : matchType, param: '*', iterate };
  const [sourceType, param, targetType] = value.split(':') as [string, string | undefined, string | undefined];
  if (!isSupportedType(sourceType) || !param) throw invalid(`${key} must be Type:param[:targetType] (got "${value}")`);
  if (param !== '*') {
    const def = getSearchParam(sourceType, param);
    if (!def || def.type !== 'reference') throw invalid(`${key}: ${sourceType} has no reference parameter ${param}`);
  }
  if (targetType !== undefined && !isSupportedType(targetType))
    throw invalid(`${key}: unknown target type ${targetType}`);
  if (!reverse && !iterate && sourceType !== matchType) {
    throw invalid(`${key}=${value}: the source type must be ${matchType} (or use :iterate)`);
  }
  return { sourceType, param, ...(targetType ? { targetType } : {}), iterate };
}

/** Applies one result parameter to `req`; 'unknown' when `key` is not one. */
export function parseResultParam(req: SearchRequest, key: string, value: string): 'ok' | 'unknown' {
  const base = key.split(':')[0];
  switch (base) {
    case '_count': {
      const n = nonNegativeInt(key, value);
      req.count = Math.min(n, MAX_COUNT);
      if (n === 0) req.summaryCount = true;
      return 'ok';
    }
    case '_offset':
      req.offset = nonNegativeInt(key, value);
      return 'ok';
    case '_sort':
      for (const part of value.split(',')) {
        const descending = part.startsWith('-');
        const code = descending ? part.slice(1) : part;
        if (code === '_id' || code === '_lastUpdated') {
          req.sort.push({ code, descending });
          continue;
        }
        const def = getSearchParam(req.resourceType, code);
        if (!def) throw new IcrError('ICR_UNKNOWN_SEARCH_PARAM', `Cannot sort by unknown parameter ${code}`);
        if (!SORTABLE.has(def.type)) throw invalid(`Cannot sort by ${def.type} parameter ${code}`);
        req.sort.push({ code, def, descending });
      }
      return 'ok';
    case '_include':
      req.include.push(parseInclude(key, value, false, req.resourceType));
      return 'ok';
    case '_revinclude':
      req.revinclude.push(parseInclude(key, value, true, req.resourceType));
      return 'ok';
    case '_summary':
      if (value === 'count') req.summaryCount = true;
      else if (value !== 'false') throw invalid(`_summary=${value} is not supported (use count or false)`);
      return 'ok';
    case '_total':
      if (value !== 'none' && value !== 'estimate' && value !== 'accurate')
        throw invalid(`_total must be none, estimate or accurate`);
      req.total = value;
      return 'ok';
    case '_elements': {
      const names = value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      if (names.some((n) => !/^[a-zA-Z][A-Za-z0-9]*(\[x\])?$/.test(n)))
        throw invalid(`_elements takes element names (got "${value}")`);
      req.elements = [...(req.elements ?? []), ...names];
      return 'ok';
    }
    default:
      return 'unknown';
  }
}

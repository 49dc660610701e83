/**
 * Ids of the resources a search query matches, for conditional create (`ifNoneExist`) and conditional
 * update (`PUT Patient?identifier=…`). Strict parsing: an unknown parameter must not widen the match.
 */
import { IcrError } from '../../shared/errors.ts';
import type { Db } from '../db.ts';
import { executeSearch } from './execute.ts';
import { parseSearch } from './parse.ts';

/**
 * Up to `limit` ids (default 2: enough to tell none, one and several apart). `query` is a query string,
 * with or without a leading `?` or `Type?`.
 */
export async function findIds(db: Db, resourceType: string, query: string, limit = 2): Promise<string[]> {
  const q = query.includes('?') ? query.slice(query.indexOf('?') + 1) : query;
  const req = parseSearch(resourceType, new URLSearchParams(q));
  if (req.filters.length === 0)
    throw new IcrError('ICR_INVALID_SEARCH', 'A conditional operation needs search criteria');
  delete req.elements;
  // Result parameters make no sense here; only the filters count.
  const res = await executeSearch(db, {
    ...req,
    count: limit,
    offset: 0,
    sort: [],
    include: [],
    revinclude: [],
    summaryCount: false,
    total: 'none',
    ignored: [],
  });
  return res.matches.map((m) => m.id);
}

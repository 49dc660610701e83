/**
 * Runs a parsed search: one query for the page of matches (reading the stored JSON text as it is), one
 * count when the total is wanted and not evident, and one query per _include/_revinclude.
 */
import { contentExpr, scopeClause } from '../access-sql.ts';
import type { Db, SqlValue } from '../db.ts';
import { getSearchParam } from '../../fhir/search-params.ts';
import { filterPredicate, paramRows, SqlParams, TABLE_OF } from './conditions.ts';
import { applyElements } from './elements.ts';
import type { IncludeSpec, Row, SearchRequest, SearchResult, SortRule } from './types.ts';

/** Most resources an _include / _revinclude step may add (per step), to bound the work of one request. */
export const MAX_INCLUDES = 1000;
const MAX_ITERATE_DEPTH = 4;

interface RawRow {
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: string;
  content: string;
  person_id: string | null;
}

export const ROW_COLUMNS = `r.resource_type, r.id, r.version_id,
  to_char(r.last_updated at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as last_updated, ${contentExpr('r')} as content,
  r.person_id`;

function toRow(r: RawRow): Row {
  return {
    resourceType: r.resource_type,
    id: r.id,
    versionId: Number(r.version_id),
    lastUpdated: r.last_updated,
    json: r.content,
    personId: r.person_id ?? null,
  };
}

/** Under an access decision, a chain may only reach rows of the searched persons or of no person. */
function chainScope(req: SearchRequest): { personIds: readonly string[] | undefined } {
  return { personIds: req.personIds };
}

function whereClause(req: SearchRequest, P: SqlParams): string {
  const rt = P.add(req.resourceType);
  const parts = [`r.resource_type = ${rt}`, 'not r.deleted'];
  if (req.personIds) parts.push(`r.person_id = any(${P.add([...req.personIds])}::text[])`);
  for (const f of req.filters)
    parts.push(filterPredicate(P, f, rt, 'r.id', 'r.last_updated', req.access ? chainScope(req) : undefined));
  if (req.access) parts.push(scopeClause((v) => P.add(v), 'r', req.access));
  return parts.join('\n  and ');
}

const SORT_COLUMN: Record<string, [string, string]> = {
  date: ['min(s.low)', 'max(s.high)'],
  string: ['min(s.value_norm)', 'max(s.value_norm)'],
  token: ['min(s.code)', 'max(s.code)'],
  number: ['min(s.value)', 'max(s.value)'],
  quantity: ['min(s.value)', 'max(s.value)'],
  uri: ['min(s.value)', 'max(s.value)'],
  reference: ['min(s.target_id)', 'max(s.target_id)'],
};

function sortExpr(rule: SortRule, P: SqlParams): string {
  const dir = rule.descending ? 'desc' : 'asc';
  if (rule.code === '_id') return `r.id ${dir}`;
  if (rule.code === '_lastUpdated') return `r.last_updated ${dir}`;
  const def = rule.def;
  const agg = def ? SORT_COLUMN[def.type] : undefined;
  if (!def || !agg) return `r.id ${dir}`;
  return `(select ${rule.descending ? agg[1] : agg[0]} from ${TABLE_OF[def.type]} s
    where s.resource_type = r.resource_type and s.resource_id = r.id and ${paramRows(P, 's', def)}) ${dir} nulls last`;
}

function orderBy(req: SearchRequest, P: SqlParams): string {
  const parts = req.sort.map((s) => sortExpr(s, P));
  if (!req.sort.some((s) => s.code === '_id')) parts.push('r.id');
  return parts.join(', ');
}

async function count(db: Db, req: SearchRequest): Promise<number> {
  const P = new SqlParams();
  const res = await db.query<{ n: number }>(
    `select count(*)::int as n from resource r where ${whereClause(req, P)}`,
    P.values,
  );
  return res.rows[0]?.n ?? 0;
}

function personScope(req: SearchRequest, P: SqlParams): string {
  const persons = req.personIds
    ? ` and (r.person_id is null or r.person_id = any(${P.add([...req.personIds])}::text[]))`
    : '';
  return req.access ? `${persons} and ${scopeClause((v) => P.add(v), 'r', req.access)}` : persons;
}

/** The reference rows of an include's parameter (parse-result-params.ts has checked that it exists). */
function includeRows(P: SqlParams, spec: IncludeSpec): string {
  return paramRows(P, 'x', getSearchParam(spec.sourceType, spec.param) ?? { code: spec.param });
}

/** Resources that `sources` point at through `spec`. */
async function forwardInclude(db: Db, req: SearchRequest, spec: IncludeSpec, sources: readonly Row[]): Promise<Row[]> {
  const ids = sources.filter((s) => s.resourceType === spec.sourceType).map((s) => s.id);
  if (ids.length === 0) return [];
  const P = new SqlParams();
  let inner = `select x.target_type, x.target_id from search_reference x
    where x.resource_type = ${P.add(spec.sourceType)} and x.resource_id = any(${P.add(ids)}::text[]) and x.target_id is not null`;
  if (spec.param !== '*') inner += ` and ${includeRows(P, spec)}`;
  if (spec.targetType) inner += ` and x.target_type = ${P.add(spec.targetType)}`;
  const sql = `select ${ROW_COLUMNS} from resource r where not r.deleted and (r.resource_type, r.id) in (${inner})${personScope(req, P)}
    order by r.resource_type, r.id limit ${MAX_INCLUDES}`;
  return (await db.query<RawRow>(sql, P.values)).rows.map(toRow);
}

/** Resources of `spec.sourceType` that point at `targets` through `spec`. */
async function reverseInclude(db: Db, req: SearchRequest, spec: IncludeSpec, targets: readonly Row[]): Promise<Row[]> {
  const byType = new Map<string, string[]>();
  for (const t of targets) byType.set(t.resourceType, [...(byType.get(t.resourceType) ?? []), t.id]);
  const out: Row[] = [];
  for (const [type, ids] of byType) {
    const P = new SqlParams();
    let inner = `select x.resource_type, x.resource_id from search_reference x
      where x.target_id = any(${P.add(ids)}::text[]) and x.target_type = ${P.add(type)}`;
    if (spec.sourceType !== '*') inner += ` and x.resource_type = ${P.add(spec.sourceType)}`;
    if (spec.param !== '*') inner += ` and ${includeRows(P, spec)}`;
    const sql = `select ${ROW_COLUMNS} from resource r where not r.deleted and (r.resource_type, r.id) in (${inner})${personScope(req, P)}
      order by r.resource_type, r.id limit ${MAX_INCLUDES}`;
    out.push(...(await db.query<RawRow>(sql, P.values)).rows.map(toRow));
  }
  return out;
}

async function includes(db: Db, req: SearchRequest, matches: readonly Row[]): Promise<Row[]> {
  if (matches.length === 0 || (req.include.length === 0 && req.revinclude.length === 0)) return [];
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const out: Row[] = [];
  const addNew = (rows: Row[]): Row[] => {
    const fresh = rows.filter((r) => !seen.has(`${r.resourceType}/${r.id}`));
    for (const r of fresh) seen.add(`${r.resourceType}/${r.id}`);
    out.push(...fresh);
    return fresh;
  };
  let frontier: Row[] = [];
  for (const spec of req.include) frontier.push(...addNew(await forwardInclude(db, req, spec, matches)));
  for (const spec of req.revinclude) frontier.push(...addNew(await reverseInclude(db, req, spec, matches)));
  const iterating = {
    include: req.include.filter((s) => s.iterate),
    revinclude: req.revinclude.filter((s) => s.iterate),
  };
  for (let depth = 0; depth < MAX_ITERATE_DEPTH && frontier.length > 0; depth++) {
    if (iterating.include.length === 0 && iterating.revinclude.length === 0) break;
    const next: Row[] = [];
    for (const spec of iterating.include) next.push(...addNew(await forwardInclude(db, req, spec, frontier)));
    for (const spec of iterating.revinclude) next.push(...addNew(await reverseInclude(db, req, spec, frontier)));
    frontier = next;
  }
  return out;
}

/** The SQL for one page of matches (one row more than the page, to tell whether another follows). */
export function matchQuery(req: SearchRequest): { text: string; values: SqlValue[] } {
  const P = new SqlParams();
  const where = whereClause(req, P);
  const text = `select ${ROW_COLUMNS} from resource r where ${where}
    order by ${orderBy(req, P)} limit ${P.add(req.count + 1)} offset ${P.add(req.offset)}`;
  return { text, values: P.values };
}

export async function executeSearch(db: Db, req: SearchRequest): Promise<SearchResult> {
  if (req.summaryCount) {
    return { total: await count(db, req), matches: [], includes: [], hasMore: false };
  }
  const q = matchQuery(req);
  const rows = (await db.query<RawRow>(q.text, q.values)).rows.map(toRow);
  const hasMore = rows.length > req.count;
  let matches = hasMore ? rows.slice(0, req.count) : rows;

  let total: number | undefined;
  if (req.total !== 'none') {
    // The total is evident when this page is the last one and something is on it (or nothing was skipped).
    total = !hasMore && (matches.length > 0 || req.offset === 0) ? req.offset + matches.length : await count(db, req);
  }
  const included = await includes(db, req, matches);
  if (req.elements) matches = matches.map((m) => applyElements(m, req.elements as string[]));
  return { ...(total === undefined ? {} : { total }), matches, includes: included, hasMore };
}

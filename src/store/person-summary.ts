/**
 * The narrow read behind the viewer's summary (ADR 0045): for one person, only the sections the summary
 * shows — the most recent (or, for appointments, the next) few items of each, filtered and sorted in SQL,
 * with how many items each section holds in all — instead of the whole record. The cards filter and sort on
 * the row's summary columns (`item_status`, `item_date`: ADR 0052), written with the row, so no JSON is
 * parsed here; the items come from an index in the cards' order and the counts from the counts kept with
 * the rows (`person_item_count`: ADR 0055), so the read does not grow with the record. Every row and every
 * counter row passes the same access clause as `$everything` (`scopeClause`), and content leaves through
 * `contentExpr`, so nothing is read here that `$everything` would not return. The records service decides,
 * audits and calls this.
 */
import { type AccessScope, adder, contentExpr, scopeClause, scopeClauses } from './access-sql.ts';
import type { Db, SqlValue } from './db.ts';

/** The summary's sections, in the order the page shows them. */
export const SUMMARY_SECTIONS = [
  'patients',
  'allergies',
  'medicines',
  'problems',
  'alerts',
  'encounters',
  'appointments',
  'careNetwork',
] as const;
export type SummarySection = (typeof SUMMARY_SECTIONS)[number];

interface SectionSql {
  types: readonly string[];
  /**
   * Whether a row of one of `types` is on the card: a condition over the row's summary columns (`r.item_status`,
   * `r.item_date`, written with the row: src/fhir/summary-facts.ts); constant SQL, no user input.
   */
  where: string;
  /** Newest first by `item_date` (desc), soonest first (asc, upcoming appointments), or by type and id. */
  order: 'asc' | 'desc' | 'id';
}

/**
 * The rules of the summary cards, as SQL (the same rules `summaryOfView` applies to a full view; a test
 * checks both give the same summary): allergies not resolved or inactive; medicines active, on hold or
 * intended; problems active, recurring or without a clinical status; active alerts; every encounter; upcoming
 * appointments not cancelled; active care teams and episodes of care. Alerts and the care network are all
 * relevant, not only the latest: they keep the order the page has always shown (by type and id).
 */
const SECTIONS: Readonly<Record<SummarySection, SectionSql>> = {
  patients: { types: ['Patient'], where: 'true', order: 'id' },
  allergies: {
    types: ['AllergyIntolerance'],
    where: `coalesce(r.item_status, '') not in ('resolved', 'inactive')`,
    order: 'desc',
  },
  medicines: {
    types: ['MedicationRequest', 'MedicationStatement'],
    where: `r.item_status in ('active', 'on-hold', 'intended')`,
    order: 'desc',
  },
  problems: {
    types: ['Condition'],
    where: `coalesce(r.item_status, 'active') in ('active', 'recurrence')`,
    order: 'desc',
  },
  alerts: { types: ['Flag'], where: `r.item_status = 'active'`, order: 'id' },
  encounters: { types: ['Encounter'], where: 'true', order: 'desc' },
  appointments: {
    types: ['Appointment'],
    where: `coalesce(r.item_date, '') collate "C" >= $NOW and coalesce(r.item_status, '') <> 'cancelled'`,
    order: 'asc',
  },
  careNetwork: { types: ['CareTeam', 'EpisodeOfCare'], where: `r.item_status = 'active'`, order: 'id' },
};

/** The resource types a section reads. */
export function summarySectionTypes(section: SummarySection): readonly string[] {
  return SECTIONS[section].types;
}

export interface SummaryRow {
  section: SummarySection;
  resourceType: string;
  id: string;
  json: string;
  feedId: string | null;
  sourceOrg: string | null;
  /** When the data arrived (ISO), else when it was stored. */
  receivedAt: string;
}

export interface SourceCount {
  feedId: string | null;
  sourceOrg: string | null;
  /** The latest arrival from this source for this person (ISO). */
  updatedAt: string;
  items: number;
}

export interface PersonSummaryRows {
  rows: SummaryRow[];
  /** How many items each section read holds in all (before the limit). */
  totals: Partial<Record<SummarySection, number>>;
  /** Every visible item of the person, counted per source (feed and organisation). */
  sources: SourceCount[];
}

const iso = (v: string | Date): string => (v instanceof Date ? v : new Date(v)).toISOString();

/** A card's item order, over row alias `r`: its date (newest or soonest first), then type and id. */
function itemOrder(order: SectionSql['order']): string {
  if (order === 'id') return 'r.resource_type, r.id';
  return `coalesce(r.item_date, '') collate "C" ${order}, r.resource_type, r.id`;
}

/** A statement's text per shape (sections, limits, scope's shape): built once, the same string object after. */
const texts = new Map<string, string>();
/** Bounds `texts` (limits come from the caller: a handful of shapes in practice). */
const MAX_TEXTS = 64;

/** A section read, its index in `SUMMARY_SECTIONS` and its limit (a whole number ≥ 0). */
interface SectionRead {
  section: SummarySection;
  index: number;
  limit: number;
}

/**
 * Reads the sections `limits` names (a section left out is not read at all) for `personId` under `scope`,
 * in one statement whose cost does not grow with the record (ADR 0055):
 * - each card's items: per resource type, the first `limit` rows in the card's order under the card's rule
 *   and `scopeClause`, straight from `resource_person_item_idx` (person, type, date, id), so a dated card
 *   reads about `limit` rows whatever the person holds; a card of several types merges their first `limit`;
 * - the cards' totals and the per-source counts from the counts kept with the rows (`person_item_count`,
 *   migration 0029), under the same `scopeClause` (the counter rows carry the access facts it tests) and the
 *   same card rules (they carry the summary status); upcoming appointments depend on the time, so their
 *   total counts the upcoming rows (an index range).
 * Prepared: its text depends only on the sections read, the limits and the scope's shape (a handful of
 * variants), never on values, which are parameters — the person, the scope's values (each once, however
 * many row sets the scope is applied to: ADR 0060) and the time. The text is kept per shape.
 */
export async function readPersonSummary(
  db: Db,
  personId: string,
  scope: AccessScope | undefined,
  limits: Partial<Record<SummarySection, number>>,
  now: Date,
): Promise<PersonSummaryRows> {
  const values: SqlValue[] = [personId];
  const add = adder(values);
  const inScope = scopeClauses(add, scope);
  const read: SectionRead[] = [];
  for (const [index, section] of SUMMARY_SECTIONS.entries()) {
    const limit = limits[section];
    if (limit !== undefined) read.push({ section, index, limit: Math.max(0, Math.trunc(limit)) });
  }
  const nowRef = read.some(({ section }) => SECTIONS[section].where.includes('$NOW')) ? add(now.toISOString()) : '';
  const key = `${inScope.shape}|${nowRef}|${read.map((r) => `${String(r.index)}:${String(r.limit)}`).join(',')}`;
  let sql = texts.get(key);
  if (sql === undefined) {
    sql = summaryText(read, inScope.clause, nowRef);
    if (texts.size >= MAX_TEXTS) texts.clear();
    texts.set(key, sql);
  }
  const totals: Partial<Record<SummarySection, number>> = {};
  for (const { section } of read) totals[section] = 0;
  const res = await db.query<{
    section: number | null;
    resource_type: string | null;
    id: string | null;
    content: string | null;
    feed_id: string | null;
    source_org: string | null;
    received: string | Date | null;
    total: string | number | null;
  }>(sql, values, { prepare: true });
  const rows: SummaryRow[] = [];
  const sources: SourceCount[] = [];
  for (const r of res.rows) {
    const section = r.section === null ? undefined : SUMMARY_SECTIONS[r.section];
    if (section === undefined) {
      sources.push({
        feedId: r.feed_id,
        sourceOrg: r.source_org,
        updatedAt: iso(r.received ?? ''),
        items: Number(r.total),
      });
      continue;
    }
    if (r.id === null) {
      totals[section] = Number(r.total);
      continue;
    }
    rows.push({
      section,
      resourceType: r.resource_type ?? '',
      id: r.id,
      json: r.content ?? '',
      feedId: r.feed_id,
      sourceOrg: r.source_org,
      receivedAt: iso(r.received ?? ''),
    });
  }
  return { rows, totals, sources };
}

/** The types of a section as an SQL list of constants (the types are this module's, never user input). */
const typeList = (s: SectionSql): string => s.types.map((t) => `'${t}'`).join(', ');

/**
 * The summary statement's text for the sections `read`, with `inScope` the scope's conditions over a row
 * alias and `nowRef` the parameter holding the time (upcoming appointments). No values: they are parameters.
 */
function summaryText(read: readonly SectionRead[], inScope: (a: string) => string, nowRef: string): string {
  const ruleOf = (s: SectionSql) => s.where.replaceAll('$NOW', () => `${nowRef}::text collate "C"`);
  const counted = read.filter(({ section }) => !SECTIONS[section].where.includes('$NOW'));
  const parts: string[] = [];
  // The per-source counts: every visible item of the person (not only the summary's), with the latest arrival.
  parts.push(`select null::int as section, null::text as resource_type, null::text as id, null::text as content, null::text as person_id,
      r.feed_id, r.source_org, max(r.received) as received, sum(r.n)::bigint as total, null::bigint as n
     from person_item_count r
    where r.person_id = $1 and ${inScope('r')}
    group by r.feed_id, r.source_org`);
  if (counted.length > 0) {
    const cardOf = counted
      .map(({ section, index }) => {
        const s = SECTIONS[section];
        return `when r.resource_type in (${typeList(s)}) and ${ruleOf(s)} then ${String(index)}`;
      })
      .join('\n          ');
    const types = counted.map(({ section }) => typeList(SECTIONS[section])).join(', ');
    parts.push(`select t.section, null, null, null, null, null, null, null, sum(t.n)::bigint, null
     from (
      select case
          ${cardOf}
          end as section, r.n
        from person_item_count r
       where r.person_id = $1 and r.resource_type in (${types}) and ${inScope('r')}
     ) t
    where t.section is not null
    group by t.section`);
  }
  for (const { section, index, limit } of read) {
    const s = SECTIONS[section];
    const rule = ruleOf(s);
    const n = String(limit);
    const order = itemOrder(s.order);
    if (s.where.includes('$NOW')) {
      parts.push(`select ${String(index)}, null, null, null, null, null, null, null, count(*), null
       from resource r
      where r.person_id = $1 and r.resource_type in (${typeList(s)}) and not r.deleted
        and ${rule} and ${inScope('r')}`);
    }
    if (n === '0') continue;
    // Per type, the first `limit` rows in the card's order (an index scan that stops there), then the card's
    // first `limit` of those.
    const perType = s.types.map(
      (t) => `(select r.resource_type, r.id, r.content, r.person_id, r.feed_id, r.source_org, r.item_date,
          coalesce(r.received_at, r.last_updated) as received
         from resource r
        where r.person_id = $1 and r.resource_type = '${t}' and not r.deleted and ${rule}
          and ${inScope('r')}
        order by ${order} limit ${n})`,
    );
    const items =
      perType.length === 1
        ? perType[0]
        : `select * from (${perType.join(' union all ')}) r order by ${order} limit ${n}`;
    parts.push(`select ${String(index)}, s.resource_type, s.id, s.content, s.person_id, s.feed_id, s.source_org,
        s.received, null, s.n
       from (select r.*, row_number() over (order by ${order}) as n from (${items ?? ''}) r) s`);
  }
  // The content leaves through `contentExpr` once, over the few rows kept.
  return `select u.section, u.resource_type, u.id, ${contentExpr('u')} as content, u.feed_id, u.source_org,
      u.received, u.total
     from (${parts.join('\n     union all\n     ')}) u
     order by u.section, u.n`;
}

/** The names of the organisations `ids` (reference data, under the same scope): id → name. */
export async function organisationNames(
  db: Db,
  ids: readonly string[],
  scope: AccessScope | undefined,
): Promise<Array<{ id: string; json: string }>> {
  if (ids.length === 0) return [];
  const values: SqlValue[] = [[...ids]];
  const res = await db.query<{ id: string; content: string }>(
    `select r.id, r.content from resource r
      where r.resource_type = 'Organization' and r.id = any($1::text[]) and not r.deleted
        and ${scopeClause(adder(values), 'r', scope)}`,
    values,
    // Prepared, as the summary's statement is: the text depends only on the scope's shape, never on values.
    { prepare: true },
  );
  return res.rows.map((r) => ({ id: r.id, json: r.content }));
}

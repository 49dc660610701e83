/**
 * The narrow read behind the viewer's summary (ADR 0045): for one person, only the sections the summary
 * shows — the most recent (or, for appointments, the next) few items of each, filtered and sorted in SQL,
 * with how many items each section holds in all — instead of the whole record. Every row passes the same
 * access clause as `$everything` (`scopeClause`), and content leaves through `contentExpr`, so nothing is
 * read here that `$everything` would not return. The records service decides, audits and calls this.
 */
import { type AccessScope, adder, contentExpr, scopeClause } from './access-sql.ts';
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
  /** A condition over `d` (the row's content as jsonb); constant SQL, no user input. */
  where: string;
  /** The date the section sorts by (ISO text), over `d`; none: by type and id, as `$everything`. */
  date?: string;
  /** Newest first (desc) or soonest first (asc, upcoming appointments). */
  order: 'asc' | 'desc';
}

/** The first coded `code` of a CodeableConcept at `path` (as the viewer's `codingCode`). */
const firstCoding = (path: string) =>
  `(select c->>'code' from jsonb_array_elements(case when jsonb_typeof(d->'${path}'->'coding') = 'array' then d->'${path}'->'coding' else '[]'::jsonb end) c where coalesce(c->>'code', '') <> '' limit 1)`;

/** ISO text of a string element, or null when absent or empty (as the viewer's `str`). */
const text = (expr: string) => `nullif(case when jsonb_typeof(${expr}) = 'string' then ${expr} #>> '{}' end, '')`;

/**
 * The rules of the summary cards, as SQL (the same rules `summaryOfView` applies to a full view; a test
 * checks both give the same summary): allergies not resolved or inactive; medicines active, on hold or
 * intended; problems active, recurring or without a clinical status; active alerts; every encounter; upcoming
 * appointments not cancelled; active care teams and episodes of care. Alerts and the care network are all
 * relevant, not only the latest: they keep the order the page has always shown (by type and id).
 */
const SECTIONS: Readonly<Record<SummarySection, SectionSql>> = {
  patients: { types: ['Patient'], where: 'true', order: 'asc' },
  allergies: {
    types: ['AllergyIntolerance'],
    where: `coalesce(${firstCoding('clinicalStatus')}, '') not in ('resolved', 'inactive')`,
    date: `coalesce(${text(`d->'recordedDate'`)}, ${text(`d->'onsetDateTime'`)})`,
    order: 'desc',
  },
  medicines: {
    types: ['MedicationRequest', 'MedicationStatement'],
    where: `${text(`d->'status'`)} in ('active', 'on-hold', 'intended')`,
    date: `coalesce(${text(`d->'authoredOn'`)}, ${text(`d->'effectiveDateTime'`)}, ${text(`d->'effectivePeriod'->'start'`)}, ${text(`d->'dateAsserted'`)})`,
    order: 'desc',
  },
  problems: {
    types: ['Condition'],
    where: `coalesce(${firstCoding('clinicalStatus')}, 'active') in ('active', 'recurrence')`,
    date: `coalesce(${text(`d->'onsetDateTime'`)}, ${text(`d->'onsetPeriod'->'start'`)}, ${text(`d->'recordedDate'`)})`,
    order: 'desc',
  },
  alerts: { types: ['Flag'], where: `${text(`d->'status'`)} = 'active'`, order: 'asc' },
  encounters: { types: ['Encounter'], where: 'true', date: text(`d->'period'->'start'`), order: 'desc' },
  appointments: {
    types: ['Appointment'],
    where: `coalesce(${text(`d->'start'`)}, '') collate "C" >= $NOW and coalesce(${text(`d->'status'`)}, '') <> 'cancelled'`,
    date: text(`d->'start'`),
    order: 'asc',
  },
  careNetwork: { types: ['CareTeam', 'EpisodeOfCare'], where: `${text(`d->'status'`)} = 'active'`, order: 'asc' },
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

/**
 * Reads the sections `limits` names (a section left out is not read at all) for `personId` under `scope`:
 * one query for the sections (each sorted and limited in SQL, with its total), one for the per-source counts.
 * Both are prepared: their text depends only on the sections read, the limits and the scope's shape (a
 * handful of variants), never on values, which are parameters.
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
  let nowParam: string | undefined;
  const nowRef = () => (nowParam ??= add(now.toISOString()));
  const parts: string[] = [];
  for (const section of SUMMARY_SECTIONS) {
    const limit = limits[section];
    if (limit === undefined) continue;
    const s = SECTIONS[section];
    const types = add([...s.types]);
    parts.push(`(select '${section}' as section, r.resource_type, r.id, ${contentExpr('r')} as content, r.feed_id,
        r.source_org, coalesce(r.received_at, r.last_updated) as received, count(*) over () as total
       from resource r cross join lateral (select r.content::jsonb as d) j
      where r.person_id = $1 and not r.deleted and r.resource_type = any(${types}::text[])
        and ${scopeClause(add, 'r', scope)} and ${s.where.includes('$NOW') ? s.where.replaceAll('$NOW', `${nowRef()}::text collate "C"`) : s.where}
      order by ${s.date ? `coalesce(${s.date}, '') collate "C" ${s.order}, ` : ''}r.resource_type, r.id
      limit ${String(Math.max(0, Math.trunc(limit)))})`);
  }
  const sourceValues: SqlValue[] = [personId];
  const [res, src] = await Promise.all([
    parts.length === 0
      ? Promise.resolve({ rows: [] })
      : db.query<{
          section: SummarySection;
          resource_type: string;
          id: string;
          content: string;
          feed_id: string | null;
          source_org: string | null;
          received: string | Date;
          total: string | number;
        }>(parts.join('\nunion all\n'), values, { prepare: true }),
    db.query<{ feed_id: string | null; source_org: string | null; updated: string | Date; items: number }>(
      `select r.feed_id, r.source_org, max(coalesce(r.received_at, r.last_updated)) as updated, count(*)::int as items
         from resource r
        where r.person_id = $1 and not r.deleted and ${scopeClause(adder(sourceValues), 'r', scope)}
        group by r.feed_id, r.source_org`,
      sourceValues,
      { prepare: true },
    ),
  ]);
  const totals: Partial<Record<SummarySection, number>> = {};
  for (const section of SUMMARY_SECTIONS) if (limits[section] !== undefined) totals[section] = 0;
  const rows: SummaryRow[] = res.rows.map((r) => {
    totals[r.section] = Number(r.total);
    return {
      section: r.section,
      resourceType: r.resource_type,
      id: r.id,
      json: r.content,
      feedId: r.feed_id,
      sourceOrg: r.source_org,
      receivedAt: iso(r.received),
    };
  });
  return {
    rows,
    totals,
    sources: src.rows.map((r) => ({
      feedId: r.feed_id,
      sourceOrg: r.source_org,
      updatedAt: iso(r.updated),
      items: Number(r.items),
    })),
  };
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
  );
  return res.rows.map((r) => ({ id: r.id, json: r.content }));
}

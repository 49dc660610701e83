/**
 * What the access decision needs to know about one person, in one round trip (docs/access.md): whether
 * the user's organisation has a legitimate relationship derived from the data (care_link), whether the
 * user holds a live declared / emergency grant, the person's privacy Consents (opt-out), and whether the
 * person is restricted. Also the grants themselves and the privacy officers' review queue.
 */
import { CARE_LINK_TYPES, ODS_SYSTEM } from '../fhir/access-facts.ts';
import type { Db } from './db.ts';
import { fromRaw as storedRowOf, OUT_COLUMNS, type RawRow, type StoredRow } from './resource-store.ts';
import { textArray } from './sql-array.ts';

export interface PersonFacts {
  /** A relationship derived from the data between the organisation and the person. */
  related: boolean;
  /** The user's live grant for the person, the most recent first. */
  grant: { kind: 'declared' | 'emergency'; reason: string; expiresAt: string } | null;
  /** The person's Consent resources (JSON text), for the opt-out rule. */
  consents: Array<{ json: string; lastUpdated: string; sourceOrg: string | null }>;
  restricted: boolean;
  /**
   * Feeds in testing whose data the user must not see (they are not its tester), when asked for with
   * `hiddenFeeds: true` (the feed registry's rule, records/feeds/feed-service.ts, in the same round trip).
   */
  hiddenFeeds?: string[];
}

export interface GrantRow {
  id: string;
  userId: string;
  org: string;
  role: string;
  patientId: string;
  kind: 'declared' | 'emergency';
  reason: string;
  text: string | null;
  createdAt: string;
  expiresAt: string;
  reviewedBy: string | null;
  reviewedAt: string | null;
  reviewNote: string | null;
}

interface RawGrant {
  id: string;
  user_id: string;
  org: string;
  role: string;
  patient_id: string;
  kind: 'declared' | 'emergency';
  reason: string;
  text: string | null;
  created_at: string | Date;
  expires_at: string | Date;
  reviewed_by: string | null;
  reviewed_at: string | Date | null;
  review_note: string | null;
}

function iso(v: string | Date | null): string | null {
  if (v === null) return null;
  const d = v instanceof Date ? v : new Date(v.includes('T') ? v : v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString();
}

function fromRaw(r: RawGrant): GrantRow {
  return {
    id: r.id,
    userId: r.user_id,
    org: r.org,
    role: r.role,
    patientId: r.patient_id,
    kind: r.kind,
    reason: r.reason,
    text: r.text,
    createdAt: iso(r.created_at) ?? '',
    expiresAt: iso(r.expires_at) ?? '',
    reviewedBy: r.reviewed_by,
    reviewedAt: iso(r.reviewed_at),
    reviewNote: r.review_note,
  };
}

/** A text[] as the driver returns it: an array, or (some drivers) its literal `{a,b}`. */
function textList(v: string[] | string | null): string[] {
  if (v === null) return [];
  if (Array.isArray(v)) return v;
  const inner = v.replace(/^\{|\}$/g, '');
  return inner === '' ? [] : inner.split(',').map((x) => x.replace(/^"|"$/g, ''));
}

/**
 * The facts' select list about the person `pid` (an SQL expression), with the user's parameters at $2–$8
 * (user id, ODS code, relationship window start, now, care-link types, ODS system, whether to read the
 * hidden feeds). Each fact is one indexed lookup.
 */
function factsSelect(pid: string): string {
  return `exists (
          select 1 from resource r join care_link c on c.resource_id = r.id and c.resource_type = r.resource_type
           where r.person_id = ${pid} and r.resource_type = any($6::text[]) and not r.deleted and not r.entered_in_error
             and (c.until is null or c.until >= $4::timestamptz)
             and (c.org_key = 'ods:' || $3 or c.org_key in (
               select 'Organization/' || t.resource_id from search_token t
                where t.resource_type = 'Organization' and t.param = 'identifier' and t.code = $3 and t.system = $7))
        ) as related,
        (select json_build_object('kind', g.kind, 'reason', g.reason, 'expires_at', g.expires_at)
           from access_grant g
          where g.user_id = $2 and g.expires_at > $5::timestamptz
            and g.patient_id in (select p.id from resource p where p.person_id = ${pid} and p.resource_type = 'Patient')
          order by g.created_at desc limit 1) as grant,
        (select json_agg(json_build_object('json', k.content, 'last_updated', k.last_updated, 'source_org', k.source_org))
           from resource k where k.person_id = ${pid} and k.resource_type = 'Consent' and not k.deleted
            and not k.entered_in_error) as consents,
        exists (select 1 from resource q where q.person_id = ${pid} and q.restricted and not q.deleted) as restricted,
        (select array_agg(f.id order by f.id) from feed f
          where $8::boolean and f.status = 'testing'
            and not exists (select 1 from feed_tester t where t.feed_id = f.id and t.user_id = $2)) as hidden_feeds`;
}

const FACTS_SQL = `select ${factsSelect('$1')}`;

/**
 * One resource (its content as it may leave the server, like `ResourceStore.read` with `out`) and the facts
 * about its person, in ONE statement: the read and its access decision cost one round trip. The person is
 * the row's, or `$1` when there is no row or the row belongs to no person (the facts then answer for `$1`,
 * which callers give as a person no one has, so that a missing row costs the same work as a present one).
 */
const ROW_FACTS_SQL = `with x as (select ${OUT_COLUMNS} from resource r where r.resource_type = $9 and r.id = $10),
  pk as (select coalesce((select x.person_id from x), $1) as pid)
  select x.*, ${factsSelect('pk.pid')}
  from pk left join x on true`;

interface RawFacts {
  related: boolean;
  hidden_feeds: string[] | string | null;
  grant: { kind: 'declared' | 'emergency'; reason: string; expires_at: string } | string | null;
  consents: Array<{ json: string; last_updated: string; source_org: string | null }> | string | null;
  restricted: boolean;
}

/** Who asks and when: the parameters $2–$8 of the facts (see `factsSelect`). */
export interface FactsAsker {
  userId: string;
  org: string;
  /** The start of the relationship window (12 months ago), an ISO instant. */
  since: string;
  /** The instant grants must outlive. */
  now: string;
  /** Read the user's hidden feeds (the feed registry's rule) in the same statement. */
  hiddenFeeds?: boolean;
}

function askerParams(who: FactsAsker): Array<string | boolean | ReturnType<typeof textArray>> {
  return [
    who.userId,
    who.org,
    who.since,
    who.now,
    textArray([...CARE_LINK_TYPES]),
    ODS_SYSTEM,
    who.hiddenFeeds === true,
  ];
}

function factsOf(row: RawFacts | undefined, hiddenFeeds: boolean): PersonFacts {
  type RawGrantJson = { kind: 'declared' | 'emergency'; reason: string; expires_at: string } | null | undefined;
  type RawConsents = Array<{ json: string; last_updated: string; source_org: string | null }>;
  const grant: RawGrantJson = typeof row?.grant === 'string' ? (JSON.parse(row.grant) as RawGrantJson) : row?.grant;
  const consents: RawConsents =
    typeof row?.consents === 'string' ? (JSON.parse(row.consents) as RawConsents) : (row?.consents ?? []);
  return {
    related: row?.related === true,
    grant: grant ? { kind: grant.kind, reason: grant.reason, expiresAt: iso(grant.expires_at) ?? '' } : null,
    consents: consents.map((c) => ({
      json: c.json,
      lastUpdated: iso(c.last_updated) ?? '',
      sourceOrg: c.source_org,
    })),
    restricted: row?.restricted === true,
    ...(hiddenFeeds ? { hiddenFeeds: textList(row?.hidden_feeds ?? null) } : {}),
  };
}

export const accessStore = {
  /** The facts about `personId` for the user `who` describes (acting at an organisation, at an instant). */
  async personFacts(db: Db, personId: string, who: FactsAsker): Promise<PersonFacts> {
    const res = await db.query<RawFacts>(FACTS_SQL, [personId, ...askerParams(who)], { prepare: true });
    return factsOf(res.rows[0], who.hiddenFeeds === true);
  },

  /**
   * The current version of `resourceType/id` (content as it may leave the server) and the facts about its
   * person, in one round trip. `absent` names the person whose facts are read when there is no row or the
   * row has no person (give one no one has: the same work is done, and the facts are then not used).
   */
  async rowWithFacts(
    db: Db,
    resourceType: string,
    id: string,
    absent: string,
    who: FactsAsker,
  ): Promise<{ row: StoredRow | null; facts: PersonFacts }> {
    const res = await db.query<RawFacts & RawRow>(ROW_FACTS_SQL, [absent, ...askerParams(who), resourceType, id], {
      prepare: true,
    });
    const r = res.rows[0];
    const row = r && (r.id as string | null) !== null ? storedRowOf(r) : null;
    return { row, facts: factsOf(r, who.hiddenFeeds === true) };
  },

  async addGrant(
    db: Db,
    g: Omit<GrantRow, 'createdAt' | 'reviewedBy' | 'reviewedAt' | 'reviewNote'>,
  ): Promise<GrantRow> {
    const res = await db.query<RawGrant>(
      `insert into access_grant (id, user_id, org, role, patient_id, kind, reason, text, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *`,
      [g.id, g.userId, g.org, g.role, g.patientId, g.kind, g.reason, g.text, g.expiresAt],
    );
    return fromRaw(res.rows[0] as RawGrant);
  },

  /** Grants awaiting review (or all, newest first). */
  async reviews(db: Db, q: { pending: boolean; limit: number; offset: number }): Promise<GrantRow[]> {
    const res = await db.query<RawGrant>(
      `select * from access_grant ${q.pending ? 'where reviewed_at is null' : ''}
        order by created_at desc, id limit $1 offset $2`,
      [q.limit, q.offset],
    );
    return res.rows.map(fromRaw);
  },

  async markReviewed(db: Db, id: string, by: string, note: string | null): Promise<GrantRow | null> {
    const res = await db.query<RawGrant>(
      `update access_grant set reviewed_by = $2, reviewed_at = now(), review_note = $3
        where id = $1 and reviewed_at is null returning *`,
      [id, by, note],
    );
    const r = res.rows[0];
    return r ? fromRaw(r) : null;
  },

  /** Ids of the Patient records of a person (to name one in an audit entry or a Consent). */
  async patientOfPerson(db: Db, personId: string): Promise<string | null> {
    const res = await db.query<{ id: string }>(
      `select id from resource where person_id = $1 and resource_type = 'Patient' and not deleted order by id limit 1`,
      [personId],
    );
    return res.rows[0]?.id ?? null;
  },

  /** The Patient ids (source records) holding an NHS number. */
  async patientsByNhsNumber(db: Db, nhsNumber: string): Promise<string[]> {
    const res = await db.query<{ resource_id: string }>(
      `select distinct t.resource_id from search_token t join resource r on r.resource_type = 'Patient' and r.id = t.resource_id
        where t.resource_type = 'Patient' and t.param = 'identifier' and t.system = 'https://fhir.nhs.uk/Id/nhs-number'
          and t.code = $1 and not r.deleted order by t.resource_id`,
      [nhsNumber],
    );
    return res.rows.map((r) => r.resource_id);
  },
};

/**
 * The MPI write path's statements (issue 13, ADR 0036): assigning persons to the source Patients of one set
 * write takes a fixed number of statements whatever the size of the set, and as few as is safe:
 *
 * 1. `lockKeys` (mpi-store.ts) — the advisory locks on the set's identifiers and blocking keys, alone in
 *    its statement: under READ COMMITTED each statement reads with a snapshot taken when it starts, so a
 *    read merged into the statement that waits for a lock would not see what the lock's holder committed
 *    (two persons for one NHS number written at once from two feeds; test/mpi-concurrency.test.ts).
 * 2. `readHeld` — what the database already holds for the set: the links of its Patients (with their
 *    stored content hash), the links holding its source identifiers and verified NHS numbers, and which
 *    of its ids are already person ids.
 * 3. `readCandidates` — the too-common blocking keys, every record's candidates, every record of the
 *    candidate persons (and of the persons named), and the not-same decisions about the set's records.
 * 4. `readPersonsForGolden` — only when existing persons gained or changed a record: their records, the
 *    stored Patients and the PDS snapshot, for their golden demographics.
 * 5. `writeAssigned` — new persons, links, identifiers, blocking keys, events, golden records and the move
 *    of clinical rows written before their Patient, in one statement of data-modifying CTEs.
 *
 * Reviews are opened with their own statement when a set has any (`openReviews`), as before.
 */
import type { Queryable } from './db.ts';
import {
  fromRawLink,
  LINK_COLUMNS,
  linkColumnsOf,
  type LinkRow,
  NEW_LINK_COLUMNS,
  type NewLink,
  newLinkArrays,
  newLinksFromParams,
  type RawLink,
} from './mpi-store.ts';
import type { GoldenRow } from './mpi-store-person.ts';
import type { NewMpiEvent } from './mpi-store-review.ts';

const COLUMNS = LINK_COLUMNS.split(', ');
/** The link columns, all null but the first `given` ones (rows of another kind in a union of link rows). */
const mostlyNull = (...given: string[]): string =>
  COLUMNS.map((c, n) => (n < given.length ? `${given[n]} as ${c}` : `null as ${c}`)).join(', ');

const byAtThenId = (a: LinkRow, b: LinkRow): number =>
  a.at < b.at ? -1 : a.at > b.at ? 1 : a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0;

export interface Held {
  /** The links of the set's Patients that are already linked. */
  links: Map<string, LinkRow>;
  /** Stored content hash of each current (not deleted) Patient of the set. */
  hashes: Map<string, string>;
  /** Links holding one of the given source identifiers (oldest first), with the identifier found. */
  bySource: Array<LinkRow & { system: string; value: string }>;
  /** Links holding one of the given NHS numbers (oldest first). */
  byNhs: LinkRow[];
  /** Of the set's Patient ids, those that are already the id of a person. */
  personIds: Set<string>;
}

/** Statement 2: what the database holds for a set (one statement). */
export async function readHeld(
  db: Queryable,
  q: {
    patientIds: readonly string[];
    sourceIds: ReadonlyArray<{ system: string; value: string }>;
    nhsNumbers: readonly string[];
  },
): Promise<Held> {
  const out: Held = { links: new Map(), hashes: new Map(), bySource: [], byNhs: [], personIds: new Set() };
  if (q.patientIds.length === 0 && q.sourceIds.length === 0 && q.nhsNumbers.length === 0) return out;
  const res = await db.query<RawLink & { tag: string; id_system: string | null; id_value: string | null }>(
    `select 'l' as tag, null as id_system, null as id_value, ${linkColumnsOf('l')}
       from person_link l
      where l.patient_id = any($1::text[])
     union all
     select 'h', null, r.content_hash, ${mostlyNull('r.id')}
       from resource r
      where r.resource_type = 'Patient' and r.id = any($1::text[]) and not r.deleted
        and r.content_hash is not null
     union all
     select 's', i.system, i.value, ${linkColumnsOf('l')}
       from person_identifier i
       join (select distinct s, v from unnest($2::text[], $3::text[]) as x(s, v)) as k
         on left(i.value, 200) = left(k.v, 200) and left(i.system, 200) = left(k.s, 200) and i.system = k.s and i.value = k.v
       join person_link l on l.patient_id = i.patient_id
     union all
     select 'n', null, null, ${COLUMNS.join(', ')} from person_link where nhs_number = any($4::text[])
     union all
     select 'p', null, null, ${mostlyNull('p.id')} from person p where p.id = any($1::text[])`,
    [q.patientIds, q.sourceIds.map((i) => i.system), q.sourceIds.map((i) => i.value), q.nhsNumbers],
  );
  for (const r of res.rows) {
    if (r.tag === 'h') out.hashes.set(r.patient_id, r.id_value as string);
    else if (r.tag === 'p') out.personIds.add(r.patient_id);
    else if (r.tag === 'l') out.links.set(r.patient_id, fromRawLink(r));
    else if (r.tag === 'n') out.byNhs.push(fromRawLink(r));
    else if (r.tag === 's')
      out.bySource.push({ ...fromRawLink(r), system: r.id_system as string, value: r.id_value as string });
  }
  out.bySource.sort(byAtThenId);
  out.byNhs.sort(byAtThenId);
  return out;
}

/** A candidate source record: what deciding needs of it, and how many of the request's keys it shares. */
export type CandidateRow = Pick<LinkRow, 'patientId' | 'personId' | 'record'> & { shared: number };

/** What `readCandidates` is asked (also answered from memory by a bulk link's index, ADR 0054). */
export interface CandidateQuery {
  requests: ReadonlyArray<{ patientId: string; keys: readonly string[] }>;
  alsoCheck: readonly string[];
  limit: number;
  maxPerKey: number;
  persons: readonly string[];
  decisionsFor: readonly string[];
}

export interface Candidates {
  /** Per request (indexed like `requests`): up to `limit` candidates, those sharing most keys first. */
  candidates: CandidateRow[][];
  /**
   * The NHS numbers held by the live (not retired) records of the candidate persons and of the persons
   * asked for, each person once per number: all that deciding needs of a person's other records.
   */
  personNhs: Array<{ personId: string; nhsNumber: string }>;
  /** Of the keys asked about, those held by more than `maxPerKey` records (too common to discriminate). */
  common: Set<string>;
  /** Not-same decisions involving one of `decisionsFor` (each pair once, as stored). */
  notSame: Array<[string, string]>;
}

/**
 * Statement 3 (one statement): for each request, up to `limit` source records sharing at least one of its
 * keys that is not too common (held by more than `maxPerKey` records by the kept count,
 * `person_block_count`, migration 0026; `nhs:` and `src:` keys never are), those sharing most keys first,
 * never the request's own `patientId`, retired records dropped after the limit; the too-common keys among
 * the requests' keys and `alsoCheck`; the NHS numbers of the candidates' persons and of `persons`; the
 * not-same decisions about `decisionsFor`.
 */
export async function readCandidates(db: Queryable, q: CandidateQuery): Promise<Candidates> {
  const out: Candidates = {
    candidates: q.requests.map(() => []),
    personNhs: [],
    common: new Set(),
    notSame: [],
  };
  const asked = [
    ...q.requests.flatMap((r, n) => [...new Set(r.keys)].map((k) => [n, r.patientId, k] as const)),
    ...[...new Set(q.alsoCheck)].map((k) => [-1, '', k] as const),
  ];
  if (asked.length === 0 && q.persons.length === 0 && q.decisionsFor.length === 0) return out;
  const res = await db.query<RawLink & { tag: string; n: number | null; shared: number | null }>(
    `with asked as (
       select n, p, k from unnest($1::int[], $2::text[], $3::text[]) as x(n, p, k)
     ), common as (
       select c.key as k from person_block_count c
        where c.key in (select k from asked) and c.n > $5::int and c.key not like 'nhs:%' and c.key not like 'src:%'
     ), req as (
       select n, p, k from asked where n >= 0 and k not in (select k from common)
     ), hits as (
       select r.n, b.patient_id, count(*)::int as shared
         from req r join person_block b on b.key = r.k
        where b.patient_id <> r.p
        group by r.n, b.patient_id
     ), ranked as (
       select n, patient_id, shared, row_number() over (partition by n order by shared desc, patient_id collate "C") as rank
         from hits
     ), cand as (
       select h.n, h.shared, ${linkColumnsOf('l')}
         from ranked h join person_link l on l.patient_id = h.patient_id
        where h.rank <= $4 and l.retired_into is null
     ), persons as (
       select person_id from cand union select unnest($6::text[])
     )
     select 'k' as tag, n, shared, ${COLUMNS.join(', ')} from cand
     union all
     select 'm', null, null, ${mostlyNull('l.nhs_number', 'l.person_id')}
       from persons p
       cross join lateral (
         select distinct l.person_id, l.nhs_number from person_link l
          where l.person_id = p.person_id and l.nhs_number is not null and l.retired_into is null
       ) l
     union all
     select 'c', null, null, ${mostlyNull('k')} from common
     union all
     select 'd', null, null, ${mostlyNull('d.patient_a', 'd.patient_b')}
       from mpi_decision d
      where d.decision = 'not-same' and (d.patient_a = any($7::text[]) or d.patient_b = any($7::text[]))`,
    [
      asked.map((a) => a[0]),
      asked.map((a) => a[1]),
      asked.map((a) => a[2]),
      q.limit,
      q.maxPerKey,
      [...new Set(q.persons)],
      [...new Set(q.decisionsFor)],
    ],
  );
  for (const r of res.rows) {
    if (r.tag === 'k') out.candidates[Number(r.n)]?.push({ ...fromRawLink(r), shared: Number(r.shared) });
    else if (r.tag === 'm') out.personNhs.push({ personId: r.person_id, nhsNumber: r.patient_id });
    else if (r.tag === 'c') out.common.add(r.patient_id);
    else if (r.tag === 'd') out.notSame.push([r.patient_id, r.person_id]);
  }
  for (const c of out.candidates)
    c.sort((a, b) => b.shared - a.shared || (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0));
  return out;
}

/** The NHS numbers held by the live (not retired) records of these persons (one statement). */
export async function nhsNumbersOfPersons(
  db: Queryable,
  personIds: readonly string[],
): Promise<Array<{ personId: string; nhsNumber: string }>> {
  if (personIds.length === 0) return [];
  const res = await db.query<{ person_id: string; nhs_number: string }>(
    `select distinct person_id, nhs_number from person_link
      where person_id = any($1::text[]) and nhs_number is not null and retired_into is null`,
    [[...new Set(personIds)]],
  );
  return res.rows.map((r) => ({ personId: r.person_id, nhsNumber: r.nhs_number }));
}

export interface PersonsForGolden {
  /** Every record of the persons (retired ones included), by person, oldest first. */
  links: LinkRow[];
  /** The stored current Patient of each of those records (JSON text), except those in `except`. */
  contents: Map<string, string>;
  /** Each existing person's golden demographics as stored. */
  goldens: Map<string, Record<string, unknown>>;
}

/** Statement 4 (one statement): what recomputing these persons' golden records needs. */
export async function readPersonsForGolden(
  db: Queryable,
  personIds: readonly string[],
  except: ReadonlySet<string>,
): Promise<PersonsForGolden> {
  const out: PersonsForGolden = { links: [], contents: new Map(), goldens: new Map() };
  if (personIds.length === 0) return out;
  const res = await db.query<
    Omit<RawLink, 'patient_id'> & {
      patient_id: string | null;
      p_id: string;
      p_golden: Record<string, unknown> | string;
      content: string | null;
    }
  >(
    `select p.id as p_id, p.golden as p_golden, ${linkColumnsOf('l')},
            case when l.patient_id <> all($2::text[]) then r.content end as content
       from person p
       left join person_link l on l.person_id = p.id
       left join resource r on r.resource_type = 'Patient' and r.id = l.patient_id and not r.deleted
      where p.id = any($1::text[])`,
    [personIds, [...except]],
  );
  for (const r of res.rows) {
    if (!out.goldens.has(r.p_id))
      out.goldens.set(
        r.p_id,
        typeof r.p_golden === 'string' ? (JSON.parse(r.p_golden) as Record<string, unknown>) : r.p_golden,
      );
    if (r.patient_id === null) continue;
    out.links.push(fromRawLink({ ...r, patient_id: r.patient_id }));
    if (r.content !== null) out.contents.set(r.patient_id, r.content);
  }
  out.links.sort((a, b) => (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0) || byAtThenId(a, b));
  return out;
}

/**
 * Statement 5: everything a set's assignment writes, in one statement — new persons (with their golden
 * records; their ids must be free), the new links with their identifiers and blocking keys, the events,
 * the golden records of existing persons, and the move of rows already stored about a Patient to its
 * person (`resource`, `resource_version`). Returns the moved current resources (their search-index rows
 * are moved by `moveIndexRows`).
 */
export async function writeAssigned(
  db: Queryable,
  w: {
    persons: readonly GoldenRow[];
    links: ReadonlyArray<{
      link: NewLink;
      identifiers: ReadonlyArray<{ system: string; value: string }>;
      blocks: readonly string[];
    }>;
    events: readonly NewMpiEvent[];
    goldens: readonly GoldenRow[];
    moves: ReadonlyArray<{ patientId: string; personId: string }>;
  },
  now: string,
): Promise<Array<{ resourceType: string; id: string; personId: string }>> {
  if (w.persons.length + w.links.length + w.events.length + w.goldens.length + w.moves.length === 0) return [];
  const ids = w.links.flatMap((e) => e.identifiers.map((i) => [i.system, i.value, e.link.patientId] as const));
  const blocks = w.links.flatMap((e) => e.blocks.map((k) => [k, e.link.patientId] as const));
  const res = await db.query<{ resource_type: string; id: string; person_id: string }>(
    `with np as (
       insert into person (id, golden, conflicts, has_conflicts, restricted, created_at, updated_at)
       select x.id, x.g::jsonb, x.c::jsonb, jsonb_array_length(x.c::jsonb) > 0, x.r, $1, $1
         from unnest($2::text[], $3::text[], $4::text[], $5::bool[]) as x(id, g, c, r)
     ), nl as (
       insert into person_link (${NEW_LINK_COLUMNS})
       ${newLinksFromParams(6)}
     ), ni as (
       insert into person_identifier (system, value, patient_id)
       select distinct s, v, p from unnest($20::text[], $21::text[], $22::text[]) as x(s, v, p) on conflict do nothing
     ), nb as (
       insert into person_block (key, patient_id)
       select distinct k, p from unnest($23::text[], $24::text[]) as x(k, p) on conflict do nothing
     ), ev as (
       insert into mpi_event (at, kind, actor, reason, person_id, other_person_id, patient_ids, detail)
       select $1::timestamptz, k, a, r, p, o, array(select jsonb_array_elements_text(ids::jsonb)), d::jsonb
         from unnest($25::text[], $26::text[], $27::text[], $28::text[], $29::text[], $30::text[], $31::text[])
              as x(k, a, r, p, o, ids, d)
     ), gp as (
       update person p set golden = x.g::jsonb, conflicts = x.c::jsonb,
              has_conflicts = jsonb_array_length(x.c::jsonb) > 0, restricted = x.r, updated_at = $1
         from unnest($32::text[], $33::text[], $34::text[], $35::bool[]) as x(id, g, c, r)
        where p.id = x.id
     ), m as (
       select p, pe from unnest($36::text[], $37::text[]) as x(p, pe)
     ), mv as (
       update resource_version rv set person_id = m.pe from m
        where rv.patient_id = m.p and rv.person_id is distinct from m.pe
     )
     update resource r set person_id = m.pe from m
      where r.patient_id = m.p and r.person_id is distinct from m.pe
      returning r.resource_type, r.id, r.person_id`,
    [
      now,
      w.persons.map((p) => p.id),
      w.persons.map((p) => JSON.stringify(p.golden)),
      w.persons.map((p) => JSON.stringify(p.conflicts)),
      w.persons.map((p) => p.restricted),
      ...newLinkArrays(
        w.links.map((e) => e.link),
        now,
      ),
      ids.map((r) => r[0]),
      ids.map((r) => r[1]),
      ids.map((r) => r[2]),
      blocks.map((r) => r[0]),
      blocks.map((r) => r[1]),
      w.events.map((e) => e.kind),
      w.events.map((e) => e.actor),
      w.events.map((e) => e.reason ?? null),
      w.events.map((e) => e.personId ?? null),
      w.events.map((e) => e.otherPersonId ?? null),
      w.events.map((e) => JSON.stringify(e.patientIds)),
      w.events.map((e) => JSON.stringify(e.detail ?? {})),
      w.goldens.map((g) => g.id),
      w.goldens.map((g) => JSON.stringify(g.golden)),
      w.goldens.map((g) => JSON.stringify(g.conflicts)),
      w.goldens.map((g) => g.restricted),
      w.moves.map((m) => m.patientId),
      w.moves.map((m) => m.personId),
    ],
  );
  return res.rows.map((r) => ({ resourceType: r.resource_type, id: r.id, personId: r.person_id }));
}

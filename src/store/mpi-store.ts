/**
 * MPI persistence: persons, links of source records to persons, source identifiers and blocking keys
 * (migration 0003). Only SQL here; the use cases live in `records/mpi/mpi-service.ts`. Persons are in
 * `mpi-store-person.ts`, reviews, decisions and events in `mpi-store-review.ts`, moving clinical rows
 * between persons in `mpi-store-move.ts`.
 */
import type { MatchRecord } from '../mpi/types.ts';
import { contentExpr } from './access-sql.ts';
import type { Queryable, SqlValue } from './db.ts';

export const LINK_KINDS = {
  new: 'new',
  deterministic: 'deterministic',
  probabilistic: 'probabilistic',
  manual: 'manual',
  merge: 'merge',
} as const;
export type LinkKind = (typeof LINK_KINDS)[keyof typeof LINK_KINDS];

export interface LinkRow {
  patientId: string;
  personId: string;
  kind: LinkKind;
  method: string;
  score: number | null;
  vector: unknown;
  ruleVersion: string | null;
  createdBy: string;
  reason: string | null;
  at: string;
  record: MatchRecord;
  nhsNumber: string | null;
  nhsVerified: boolean;
  source: string | null;
  retiredInto: string | null;
}

export interface NewLink {
  patientId: string;
  personId: string;
  kind: LinkKind;
  method: string;
  score?: number | null;
  vector?: unknown;
  ruleVersion?: string | null;
  createdBy: string;
  reason?: string | null;
  record: MatchRecord;
  source?: string | null;
}

export interface RawLink {
  patient_id: string;
  person_id: string;
  kind: LinkKind;
  method: string;
  score: number | null;
  vector: unknown;
  rule_version: string | null;
  created_by: string;
  reason: string | null;
  at: string | Date;
  record: MatchRecord | string;
  nhs_number: string | null;
  nhs_verified: boolean;
  source: string | null;
  retired_into: string | null;
}

export const LINK_COLUMNS =
  'patient_id, person_id, kind, method, score, vector, rule_version, created_by, reason, at, record, nhs_number, nhs_verified, source, retired_into';

/** `LINK_COLUMNS` qualified by a table alias (`l.patient_id, l.person_id, …`). */
export function linkColumnsOf(alias: string): string {
  return LINK_COLUMNS.split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');
}

function json<T>(v: T | string): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : v;
}

function iso(v: string | Date): string {
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}

export function fromRawLink(r: RawLink): LinkRow {
  return {
    patientId: r.patient_id,
    personId: r.person_id,
    kind: r.kind,
    method: r.method,
    score: r.score === null ? null : Number(r.score),
    vector: r.vector === null ? null : json(r.vector),
    ruleVersion: r.rule_version,
    createdBy: r.created_by,
    reason: r.reason,
    at: iso(r.at),
    record: json(r.record),
    nhsNumber: r.nhs_number,
    nhsVerified: r.nhs_verified,
    source: r.source,
    retiredInto: r.retired_into,
  };
}

/** The links of these source records (one query). */
export async function linksFor(db: Queryable, patientIds: readonly string[]): Promise<Map<string, LinkRow>> {
  if (patientIds.length === 0) return new Map();
  const res = await db.query<RawLink>(`select ${LINK_COLUMNS} from person_link where patient_id = any($1::text[])`, [
    patientIds,
  ]);
  return new Map(res.rows.map((r) => [r.patient_id, fromRawLink(r)]));
}

/** Every source record linked to a person (retired ones included). */
export async function linksOfPerson(db: Queryable, personId: string): Promise<LinkRow[]> {
  const res = await db.query<RawLink>(
    `select ${LINK_COLUMNS} from person_link where person_id = $1 order by at, patient_id`,
    [personId],
  );
  return res.rows.map(fromRawLink);
}

/** Every source record linked to any of these persons. */
export async function linksOfPersons(db: Queryable, personIds: readonly string[]): Promise<LinkRow[]> {
  if (personIds.length === 0) return [];
  const res = await db.query<RawLink>(
    `select ${LINK_COLUMNS} from person_link where person_id = any($1::text[]) order by person_id, at, patient_id`,
    [personIds],
  );
  return res.rows.map(fromRawLink);
}

/** Source records holding this NHS number (index scan). */
export async function linksByNhsNumber(db: Queryable, nhsNumber: string): Promise<LinkRow[]> {
  const res = await db.query<RawLink>(`select ${LINK_COLUMNS} from person_link where nhs_number = $1 order by at`, [
    nhsNumber,
  ]);
  return res.rows.map(fromRawLink);
}

/** Source records holding any of these identifiers (`system|value`), excluding `exceptPatientId`. */
export async function linksByIdentifiers(
  db: Queryable,
  identifiers: ReadonlyArray<{ system: string; value: string }>,
  exceptPatientId?: string,
): Promise<LinkRow[]> {
  if (identifiers.length === 0) return [];
  const res = await db.query<RawLink>(
    `select distinct ${linkColumnsOf('l')}
       from person_identifier i
       join unnest($1::text[], $2::text[]) as k(s, v)
         on left(i.value, 200) = left(k.v, 200) and left(i.system, 200) = left(k.s, 200) and i.system = k.s and i.value = k.v
       join person_link l on l.patient_id = i.patient_id
      where i.patient_id <> $3`,
    [identifiers.map((i) => i.system), identifiers.map((i) => i.value), exceptPatientId ?? ''],
  );
  return res.rows.map(fromRawLink);
}

/**
 * Candidate source records sharing at least one blocking key, those sharing most keys first. Keys held
 * by more than `maxPerKey` records are ignored (too common to discriminate), so this never scans everyone;
 * NHS number (`nhs:`) and source (`src:`) keys are always used.
 */
export async function candidatesByBlocks(
  db: Queryable,
  keys: readonly string[],
  opts: { limit: number; maxPerKey: number; exceptPatientId?: string },
): Promise<Array<LinkRow & { shared: number }>> {
  if (keys.length === 0) return [];
  const res = await db.query<RawLink & { shared: number }>(
    `with useful as (
       select k.key from unnest($1::text[]) as k(key)
        where k.key like 'nhs:%' or k.key like 'src:%'
           or coalesce((select c.n from person_block_count c where c.key = k.key), 0) <= $3
     ), hits as (
       select b.patient_id, count(*)::int as shared
         from person_block b join useful u on b.key = u.key
        where b.patient_id <> $4
        group by b.patient_id
        order by shared desc, b.patient_id
        limit $2
     )
     select ${linkColumnsOf('l')}, h.shared
       from hits h join person_link l on l.patient_id = h.patient_id
      where l.retired_into is null
      order by h.shared desc, l.patient_id`,
    [keys, opts.limit, opts.maxPerKey, opts.exceptPatientId ?? ''],
  );
  return res.rows.map((r) => ({ ...fromRawLink(r), shared: Number(r.shared) }));
}

/** Refreshes the stored match record of a linked source record (its demographics changed). */
export async function updateLinkRecord(db: Queryable, patientId: string, record: MatchRecord): Promise<void> {
  await db.query(
    'update person_link set record = $2::jsonb, nhs_number = $3, nhs_verified = $4 where patient_id = $1',
    [patientId, JSON.stringify(record), record.nhsNumber ?? null, record.nhsVerified === true],
  );
}

/** Re-points source records at another person, recording how and by whom. */
export async function moveLinks(
  db: Queryable,
  patientIds: readonly string[],
  to: { personId: string; kind: LinkKind; method: string; createdBy: string; reason: string | null },
  now: string,
): Promise<void> {
  await db.query(
    `update person_link set person_id = $2, kind = $3, method = $4, created_by = $5, reason = $6, at = $7,
            score = null, vector = null, rule_version = null
      where patient_id = any($1::text[])`,
    [patientIds, to.personId, to.kind, to.method, to.createdBy, to.reason, now],
  );
}

export async function retireLink(db: Queryable, patientId: string, into: string): Promise<void> {
  await db.query('update person_link set retired_into = $2 where patient_id = $1', [patientId, into]);
}

/** Replaces the identifiers and blocking keys of source records (set-based). */
export async function replaceKeys(
  db: Queryable,
  entries: ReadonlyArray<{
    patientId: string;
    identifiers: ReadonlyArray<{ system: string; value: string }>;
    blocks: readonly string[];
  }>,
): Promise<void> {
  if (entries.length === 0) return;
  const ids = entries.map((e) => e.patientId);
  await db.query('delete from person_identifier where patient_id = any($1::text[])', [ids]);
  const blockRows = entries.flatMap((e) => e.blocks.map((k) => [k, e.patientId] as const));
  // Only the keys a record no longer has are deleted (a refresh mostly keeps them all), so the kept counts
  // of `person_block_count` change only where a key really came or went.
  await db.query(
    `delete from person_block b
      where b.patient_id = any($1::text[])
        and (b.key, b.patient_id) not in (select k, p from unnest($2::text[], $3::text[]) as x(k, p))`,
    [ids, blockRows.map((r) => r[0]), blockRows.map((r) => r[1])],
  );
  const idRows = entries.flatMap((e) => e.identifiers.map((i) => [i.system, i.value, e.patientId] as const));
  if (idRows.length > 0) {
    await db.query(
      `insert into person_identifier (system, value, patient_id)
       select distinct s, v, p from unnest($1::text[], $2::text[], $3::text[]) as x(s, v, p) on conflict do nothing`,
      [idRows.map((r) => r[0]), idRows.map((r) => r[1]), idRows.map((r) => r[2])],
    );
  }
  if (blockRows.length > 0) {
    await db.query(
      `insert into person_block (key, patient_id)
       select distinct k, p from unnest($1::text[], $2::text[]) as x(k, p) on conflict do nothing`,
      [blockRows.map((r) => r[0]), blockRows.map((r) => r[1])],
    );
  }
}

/** Identifiers (system, value) of source records, for $ihe-pix. */
export async function identifiersOf(
  db: Queryable,
  patientIds: readonly string[],
): Promise<Array<{ patientId: string; system: string; value: string }>> {
  if (patientIds.length === 0) return [];
  const res = await db.query<{ patient_id: string; system: string; value: string }>(
    `select patient_id, system, value from person_identifier where patient_id = any($1::text[])
      order by patient_id, system, value`,
    [patientIds],
  );
  return res.rows.map((r) => ({ patientId: r.patient_id, system: r.system, value: r.value }));
}

/** Current stored Patient resources (JSON text) of these source records. */
export async function patientResources(db: Queryable, patientIds: readonly string[]): Promise<Map<string, string>> {
  if (patientIds.length === 0) return new Map();
  // Read through contentExpr: a restricted person's address, telecom and GP are withheld here as everywhere.
  const res = await db.query<{ id: string; content: string }>(
    `select r.id, ${contentExpr('r')} as content from resource r
      where r.resource_type = 'Patient' and r.id = any($1::text[]) and not r.deleted`,
    [patientIds],
  );
  return new Map(res.rows.map((r) => [r.id, r.content]));
}

/** Of these Patients, those whose person is restricted (any of the person's records marked R). */
export async function restrictedPatients(db: Queryable, patientIds: readonly string[]): Promise<Set<string>> {
  if (patientIds.length === 0) return new Set();
  const res = await db.query<{ id: string }>(
    `select r.id from resource r
      where r.resource_type = 'Patient' and r.id = any($1::text[])
        and exists (select 1 from resource q where q.person_id = r.person_id and q.restricted and not q.deleted)`,
    [patientIds],
  );
  return new Set(res.rows.map((r) => r.id));
}

/** The advisory lock every MPI writer holds shared and a bulk link holds exclusively (ADR 0054). */
const MPI_LOCK = "hashtextextended('mpi:*bulk*', 0)";

/**
 * Waits until no bulk link holds the MPI, and keeps any from starting until the end of the transaction: the
 * first statement of every manual MPI change (steward decisions, merges, unlinks, PDS), as `lockKeys` is of
 * every assignment.
 */
export async function lockMpiShared(db: Queryable): Promise<void> {
  await db.query(`select pg_advisory_xact_lock_shared(${MPI_LOCK})`);
}

/**
 * Holds the MPI exclusively until the end of the transaction: waits for every MPI writer in flight to commit,
 * and keeps new ones waiting (a bulk link holds it in a transaction of its own for the whole load).
 */
export async function lockMpiExclusive(db: Queryable): Promise<void> {
  await db.query(`select pg_advisory_xact_lock(${MPI_LOCK})`);
}

/**
 * Serialises MPI assignment for these keys (NHS numbers, identifiers, blocking keys) until the end of the
 * transaction, in a fixed order so that concurrent writers cannot deadlock each other. The blocking keys the
 * records `heldBy` hold now are locked with them (in the same sorted order): refreshing a record deletes the
 * keys it lost, which locks their rows of `person_block_count`, so two writers whose records swap keys would
 * otherwise lock those rows in opposite orders (ADR 0054).
 */
export async function lockKeys(db: Queryable, keys: readonly string[], heldBy: readonly string[] = []): Promise<void> {
  if (keys.length === 0 && heldBy.length === 0) return;
  // First the MPI's shared lock (a bulk link holds it exclusively for its whole load, ADR 0054), then the keys.
  await db.query(
    `select count(*) from (
       select pg_advisory_xact_lock_shared(${MPI_LOCK})
       union all
       select pg_advisory_xact_lock(hashtextextended('mpi:' || k, 0))
         from (select distinct k from (
                 select unnest($1::text[]) as k
                 union all
                 select b.key from person_block b where b.patient_id = any($2::text[])
               ) u order by 1) s
     ) x`,
    [keys, heldBy],
  );
}

/** Live source records whose NHS number is missing or not verified: what a batch trace should send. */
export async function unverifiedLinks(db: Queryable, limit: number): Promise<LinkRow[]> {
  const res = await db.query<RawLink>(
    `select ${LINK_COLUMNS} from person_link where not nhs_verified and retired_into is null order by at, patient_id limit $1`,
    [limit],
  );
  return res.rows.map(fromRawLink);
}

/** Replaces only the blocking keys of one source record (its identifiers stay). */
export async function replaceBlocks(db: Queryable, patientId: string, keys: readonly string[]): Promise<void> {
  await db.query('delete from person_block where patient_id = $1 and key <> all($2::text[])', [patientId, keys]);
  await db.query(
    `insert into person_block (key, patient_id) select distinct k, $2 from unnest($1::text[]) as x(k) on conflict do nothing`,
    [keys, patientId],
  );
}

/** Stored content hashes of current Patients (to skip re-matching a Patient sent again unchanged). */
export async function patientHashes(db: Queryable, patientIds: readonly string[]): Promise<Map<string, string>> {
  if (patientIds.length === 0) return new Map();
  const res = await db.query<{ id: string; content_hash: string | null }>(
    `select id, content_hash from resource where resource_type = 'Patient' and id = any($1::text[]) and not deleted`,
    [patientIds],
  );
  return new Map(res.rows.filter((r) => r.content_hash !== null).map((r) => [r.id, r.content_hash as string]));
}

/** The columns of a new link, and their values for one link (one row shape for the single and set inserts). */
export const NEW_LINK_COLUMNS =
  'patient_id, person_id, kind, method, score, vector, rule_version, created_by, reason, at, record, nhs_number, nhs_verified, source';
/** The parameter type of each column of `NEW_LINK_COLUMNS` (one array per column, `newLinkArrays`). */
const NEW_LINK_TYPES = [
  'text',
  'text',
  'text',
  'text',
  'float8',
  'text',
  'text',
  'text',
  'text',
  'timestamptz',
  'text',
  'text',
  'bool',
  'text',
] as const;

/**
 * `select` of new link rows in the order of `NEW_LINK_COLUMNS`, from one array parameter per column starting
 * at `$from` (the values of `newLinkArrays`): the one row shape of the set inserts of links.
 */
export function newLinksFromParams(from: number): string {
  const names = NEW_LINK_TYPES.map((_, i) => `c${i}`);
  const cast = (c: string, i: number) => (i === 5 || i === 10 ? `${c}::jsonb` : c); // vector, record
  return `select ${names.map(cast).join(', ')}
         from unnest(${NEW_LINK_TYPES.map((t, i) => `$${from + i}::${t}[]`).join(', ')}) as x(${names.join(', ')})`;
}

/** The column arrays of new links for `newLinksFromParams`. */
export function newLinkArrays(links: readonly NewLink[], now: string): SqlValue[] {
  const rows = links.map((l) => newLinkValues(l, now));
  return NEW_LINK_TYPES.map((_, i) => rows.map((r) => r[i]));
}

export function newLinkValues(link: NewLink, now: string) {
  return [
    link.patientId,
    link.personId,
    link.kind,
    link.method,
    link.score ?? null,
    link.vector === undefined || link.vector === null ? null : JSON.stringify(link.vector),
    link.ruleVersion ?? null,
    link.createdBy,
    link.reason ?? null,
    now,
    JSON.stringify(link.record),
    link.record.nhsNumber ?? null,
    link.record.nhsVerified === true,
    link.source ?? null,
  ] as const;
}

/**
 * A new source record's link, identifiers and blocking keys in one statement (one round trip at write
 * time). The person must exist.
 */
export async function insertNewLink(
  db: Queryable,
  link: NewLink,
  identifiers: ReadonlyArray<{ system: string; value: string }>,
  blocks: readonly string[],
  now: string,
): Promise<void> {
  await db.query(
    `with l as (
       insert into person_link (${NEW_LINK_COLUMNS})
       values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11::jsonb, $12, $13, $14)
       returning patient_id
     ), i as (
       insert into person_identifier (system, value, patient_id)
       select distinct s, v, $1 from unnest($15::text[], $16::text[]) as x(s, v) on conflict do nothing
     )
     insert into person_block (key, patient_id) select distinct k, $1 from unnest($17::text[]) as x(k) on conflict do nothing`,
    [...newLinkValues(link, now), identifiers.map((i) => i.system), identifiers.map((i) => i.value), blocks],
  );
}

/**
 * Many new source records' links, identifiers and blocking keys in one statement: the set form of
 * `insertNewLink` (same rows), for bulk loads. The persons must exist.
 */
export async function insertNewLinks(
  db: Queryable,
  entries: ReadonlyArray<{
    link: NewLink;
    identifiers: ReadonlyArray<{ system: string; value: string }>;
    blocks: readonly string[];
  }>,
  now: string,
): Promise<void> {
  if (entries.length === 0) return;
  const ids = entries.flatMap((e) => e.identifiers.map((i) => [i.system, i.value, e.link.patientId] as const));
  const blocks = entries.flatMap((e) => e.blocks.map((k) => [k, e.link.patientId] as const));
  await db.query(
    `with l as (
       insert into person_link (${NEW_LINK_COLUMNS})
       ${newLinksFromParams(1)}
       returning patient_id
     ), i as (
       insert into person_identifier (system, value, patient_id)
       select distinct s, v, p from unnest($15::text[], $16::text[], $17::text[]) as x(s, v, p) on conflict do nothing
     )
     insert into person_block (key, patient_id)
     select distinct k, p from unnest($18::text[], $19::text[]) as x(k, p) on conflict do nothing`,
    [
      ...newLinkArrays(
        entries.map((e) => e.link),
        now,
      ),
      ids.map((r) => r[0]),
      ids.map((r) => r[1]),
      ids.map((r) => r[2]),
      blocks.map((r) => r[0]),
      blocks.map((r) => r[1]),
    ],
  );
}

/** Source records holding any of these identifiers (`system|value`), with the identifier each was found by. */
export async function linksBySourceIdentifiers(
  db: Queryable,
  identifiers: ReadonlyArray<{ system: string; value: string }>,
): Promise<Array<LinkRow & { system: string; value: string }>> {
  if (identifiers.length === 0) return [];
  const res = await db.query<RawLink & { id_system: string; id_value: string }>(
    `select ${linkColumnsOf('l')}, i.system as id_system, i.value as id_value
       from person_identifier i
       join (select distinct s, v from unnest($1::text[], $2::text[]) as x(s, v)) as k
         on left(i.value, 200) = left(k.v, 200) and left(i.system, 200) = left(k.s, 200) and i.system = k.s and i.value = k.v
       join person_link l on l.patient_id = i.patient_id
      order by l.at, l.patient_id`,
    [identifiers.map((i) => i.system), identifiers.map((i) => i.value)],
  );
  return res.rows.map((r) => ({ ...fromRawLink(r), system: r.id_system, value: r.id_value }));
}

/** Source records holding any of these NHS numbers (index scan), oldest link first. */
export async function linksByNhsNumbers(db: Queryable, nhsNumbers: readonly string[]): Promise<LinkRow[]> {
  if (nhsNumbers.length === 0) return [];
  const res = await db.query<RawLink>(
    `select ${LINK_COLUMNS} from person_link where nhs_number = any($1::text[]) order by at, patient_id`,
    [nhsNumbers],
  );
  return res.rows.map(fromRawLink);
}

/**
 * Of these blocking keys, those held by more than `maxPerKey` records (too common to discriminate; by the
 * count kept in `person_block_count`, migration 0026). NHS number (`nhs:`) and source (`src:`) keys are
 * never common.
 */
export async function commonBlockKeys(db: Queryable, keys: readonly string[], maxPerKey: number): Promise<Set<string>> {
  const asked = [...new Set(keys)].filter((k) => !k.startsWith('nhs:') && !k.startsWith('src:'));
  if (asked.length === 0) return new Set();
  const res = await db.query<{ key: string }>(
    `select k.key from unnest($1::text[]) as k(key)
      where (select c.n from person_block_count c where c.key = k.key) > $2`,
    [asked, maxPerKey],
  );
  return new Set(res.rows.map((r) => r.key));
}

/**
 * The set form of `candidatesByBlocks` for records whose too-common keys are already left out (see
 * `commonBlockKeys`), or, given `maxPerKey`, left out here as there: for each request, up to `limit` source records sharing at least one of its keys, those
 * sharing most keys first (retired records dropped after the limit, as there), never the request's own
 * `patientId`. One statement; the result is indexed like `requests`.
 */
export async function candidatesByBlocksSet(
  db: Queryable,
  requests: ReadonlyArray<{ patientId: string; keys: readonly string[] }>,
  opts: { limit: number; maxPerKey?: number },
): Promise<Array<Array<LinkRow & { shared: number }>>> {
  const out = requests.map(() => [] as Array<LinkRow & { shared: number }>);
  const rows = requests.flatMap((r, n) => [...new Set(r.keys)].map((k) => [n, r.patientId, k] as const));
  if (rows.length === 0) return out;
  const res = await db.query<RawLink & { n: number; shared: number }>(
    `with req as (
       select n, p, k from unnest($1::int[], $2::text[], $3::text[]) as x(n, p, k)
        where $5::int is null or k like 'nhs:%' or k like 'src:%'
           or coalesce((select c.n from person_block_count c where c.key = x.k), 0) <= $5::int
     ), hits as (
       select r.n, b.patient_id, count(*)::int as shared
         from req r join person_block b on b.key = r.k
        where b.patient_id <> r.p
        group by r.n, b.patient_id
     ), ranked as (
       select n, patient_id, shared, row_number() over (partition by n order by shared desc, patient_id) as rank
         from hits
     )
     select h.n, h.shared, ${linkColumnsOf('l')}
       from ranked h join person_link l on l.patient_id = h.patient_id
      where h.rank <= $4 and l.retired_into is null
      order by h.n, h.shared desc, l.patient_id`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), opts.limit, opts.maxPerKey ?? null],
  );
  for (const r of res.rows) out[Number(r.n)]?.push({ ...fromRawLink(r), shared: Number(r.shared) });
  return out;
}

/** The set form of `updateLinkRecord`: refreshes the stored match records of many linked source records. */
export async function updateLinkRecords(
  db: Queryable,
  entries: ReadonlyArray<{ patientId: string; record: MatchRecord }>,
): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `update person_link l set record = x.rec::jsonb, nhs_number = x.nhs, nhs_verified = x.nv
       from unnest($1::text[], $2::text[], $3::text[], $4::bool[]) as x(p, rec, nhs, nv)
      where l.patient_id = x.p`,
    [
      entries.map((e) => e.patientId),
      entries.map((e) => JSON.stringify(e.record)),
      entries.map((e) => e.record.nhsNumber ?? null),
      entries.map((e) => e.record.nhsVerified === true),
    ],
  );
}

/** Every link, in pages ordered by patient id (`icr mpi evaluate --product` reads the whole scratch index). */
export async function linksPage(db: Queryable, after: string, limit: number): Promise<LinkRow[]> {
  const res = await db.query<RawLink>(
    `select ${LINK_COLUMNS} from person_link where patient_id > $1 order by patient_id limit $2`,
    [after, limit],
  );
  return res.rows.map(fromRawLink);
}

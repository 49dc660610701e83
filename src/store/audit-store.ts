/**
 * SQL of the audit trail (migration 0007, ADR 0019). Entries are inserted with their own content hash in
 * the caller's transaction; the sealer (src/audit/audit-sealer.ts) links committed entries into the hash
 * chain in short transactions of its own; the verifier and the privacy officer's searches read here.
 * Hashing is done by the audit layer: this file only moves rows.
 */
import type { Db } from './db.ts';
import { int4Array, textArray } from './sql-array.ts';

/** One audit entry as stored. `recordedAt` is an ISO instant with microseconds (`…T10:00:00.123000Z`). */
export interface AuditEntryRow {
  id: string;
  recordedAt: string;
  action: string;
  outcome: 'allowed' | 'refused';
  actorKind: 'user' | 'system';
  actorId: string;
  actorName: string | null;
  orgOds: string | null;
  role: string | null;
  channel: string | null;
  requestId: string | null;
  patientId: string | null;
  personId: string | null;
  what: string;
  returned: number | null;
  categories: string[] | null;
  basis: string | null;
  reason: string | null;
  errorCode: string | null;
  /** The SMART app or backend services client the entry was made under (migration 0020); null: none. */
  clientId?: string | null;
  contentHash: string;
}

/** A stored entry with its insertion sequence number. */
export interface StoredAuditEntry extends AuditEntryRow {
  seq: number;
}

/** ISO instant with microseconds, in UTC, exactly as the hash covers it. */
const RECORDED_AT_SQL = `to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const ENTRY_COLUMNS = `e.seq, e.id, ${RECORDED_AT_SQL} as recorded_at, e.action, e.outcome, e.actor_kind, e.actor_id,
  e.actor_name, e.org_ods, e.role, e.channel, e.request_id, e.patient_id, e.person_id, e.what, e.returned,
  e.categories, e.basis, e.reason, e.error_code, e.client_id, e.content_hash`;

interface EntrySqlRow {
  seq: number | string | bigint;
  id: string;
  recorded_at: string;
  action: string;
  outcome: 'allowed' | 'refused';
  actor_kind: 'user' | 'system';
  actor_id: string;
  actor_name: string | null;
  org_ods: string | null;
  role: string | null;
  channel: string | null;
  request_id: string | null;
  patient_id: string | null;
  person_id: string | null;
  what: string;
  returned: number | null;
  categories: string[] | null;
  basis: string | null;
  reason: string | null;
  error_code: string | null;
  client_id: string | null;
  content_hash: string;
}

function toEntry(r: EntrySqlRow): StoredAuditEntry {
  return {
    seq: Number(r.seq),
    id: r.id,
    recordedAt: r.recorded_at,
    action: r.action,
    outcome: r.outcome,
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    actorName: r.actor_name,
    orgOds: r.org_ods,
    role: r.role,
    channel: r.channel,
    requestId: r.request_id,
    patientId: r.patient_id,
    personId: r.person_id,
    what: r.what,
    returned: r.returned === null ? null : Number(r.returned),
    categories: r.categories,
    basis: r.basis,
    reason: r.reason,
    errorCode: r.error_code,
    clientId: r.client_id,
    contentHash: r.content_hash,
  };
}

const INSERT_SQL = `with e as (
  insert into audit_entry (id, recorded_at, action, outcome, actor_kind, actor_id, actor_name, org_ods, role,
    channel, request_id, patient_id, person_id, what, returned, categories, basis, reason, error_code, content_hash,
    client_id)
  values ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::text[], $17, $18, $19, $20,
    $21)
  returning seq)
insert into audit_pending (seq) select seq from e`;

/** Inserts one entry and its outbox marker in one statement (in `db`, which may be the caller's transaction). */
export async function insertAuditEntry(db: Db, e: AuditEntryRow): Promise<void> {
  await db.query(
    INSERT_SQL,
    [
      e.id,
      e.recordedAt,
      e.action,
      e.outcome,
      e.actorKind,
      e.actorId,
      e.actorName,
      e.orgOds,
      e.role,
      e.channel,
      e.requestId,
      e.patientId,
      e.personId,
      e.what,
      e.returned,
      e.categories === null ? null : textArray(e.categories),
      e.basis,
      e.reason,
      e.errorCode,
      e.contentHash,
      e.clientId ?? null,
    ],
    { prepare: true },
  );
}

// --- Asynchronous read commits (ADR 0049) ---

/**
 * Records the current PostgreSQL server start as an epoch of asynchronous read commits. Returns the epoch
 * recorded before it when this call recorded a new one after an earlier one (PostgreSQL restarted in
 * between), else null. Of two processes noting the same start, only one gets the answer.
 */
export async function noteAsyncEpoch(db: Db): Promise<{ previous: string; current: string } | null> {
  const res = await db.query<{ previous: string | null; current: string; inserted: boolean }>(
    `with prev as (select max(postmaster_start) as t from audit_async_epoch),
      ins as (insert into audit_async_epoch (postmaster_start) values (pg_postmaster_start_time())
              on conflict do nothing returning postmaster_start)
    select to_char((select t from prev) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as previous,
      to_char(pg_postmaster_start_time() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as current,
      exists (select 1 from ins) as inserted`,
  );
  const r = res.rows[0];
  if (!r?.inserted || r.previous === null) return null;
  return { previous: r.previous, current: r.current };
}

// --- The sealer's statements (run in one short transaction) ---

const SEALER_LOCK = 7_151_2576; // arbitrary, fixed: "ICR" audit sealer

/** Takes the sealer's transaction-scoped lock; false when another process is sealing right now. */
export async function tryLockSealer(tx: Db): Promise<boolean> {
  const res = await tx.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1) as locked', [SEALER_LOCK]);
  return res.rows[0]?.locked === true;
}

export interface ChainHead {
  position: number;
  chainHash: string;
}

export async function chainHead(db: Db): Promise<ChainHead | null> {
  const res = await db.query<{ position: number | string; chain_hash: string }>(
    'select position, chain_hash from audit_chain order by position desc limit 1',
  );
  const r = res.rows[0];
  return r ? { position: Number(r.position), chainHash: r.chain_hash } : null;
}

/** Committed entries waiting to be linked, oldest first. */
export async function pendingEntries(tx: Db, limit: number): Promise<Array<{ seq: number; contentHash: string }>> {
  const res = await tx.query<{ seq: number | string; content_hash: string }>(
    `select p.seq, e.content_hash from audit_pending p join audit_entry e on e.seq = p.seq
     order by p.seq limit $1`,
    [limit],
  );
  return res.rows.map((r) => ({ seq: Number(r.seq), contentHash: r.content_hash }));
}

export interface ChainLink {
  position: number;
  seq: number;
  contentHash: string;
  prevHash: string;
  chainHash: string;
}

/** Appends links to the chain and takes their entries out of the outbox. */
export async function appendChain(tx: Db, links: readonly ChainLink[]): Promise<void> {
  if (links.length === 0) return;
  await tx.query(
    `insert into audit_chain (position, seq, content_hash, prev_hash, chain_hash)
     select * from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])`,
    [
      links.map((l) => l.position),
      links.map((l) => l.seq),
      textArray(links.map((l) => l.contentHash)),
      textArray(links.map((l) => l.prevHash)),
      textArray(links.map((l) => l.chainHash)),
    ],
  );
  await tx.query('delete from audit_pending where seq = any($1::bigint[])', [links.map((l) => l.seq)]);
}

// --- The verifier's reads ---

/** One link of the chain with the entry it seals (`entry` null when that entry is gone). */
export interface ChainRow {
  position: number;
  seq: number;
  contentHash: string;
  prevHash: string;
  chainHash: string;
  entry: StoredAuditEntry | null;
}

/** Chain links after `afterPosition`, in order, with their entries. */
export async function chainPage(db: Db, afterPosition: number, limit: number): Promise<ChainRow[]> {
  const res = await db.query<
    EntrySqlRow & {
      c_position: number | string;
      c_seq: number | string;
      c_content_hash: string;
      c_prev_hash: string;
      c_chain_hash: string;
    }
  >(
    `select c.position as c_position, c.seq as c_seq, c.content_hash as c_content_hash, c.prev_hash as c_prev_hash,
       c.chain_hash as c_chain_hash, ${ENTRY_COLUMNS}
     from audit_chain c left join audit_entry e on e.seq = c.seq
     where c.position > $1 order by c.position limit $2`,
    [afterPosition, limit],
  );
  return res.rows.map((r) => ({
    position: Number(r.c_position),
    seq: Number(r.c_seq),
    contentHash: r.c_content_hash,
    prevHash: r.c_prev_hash,
    chainHash: r.c_chain_hash,
    entry: (r.id as string | null) === null ? null : toEntry(r), // left join: no entry when it was deleted
  }));
}

export async function chainLength(db: Db): Promise<number> {
  const res = await db.query<{ n: number | string }>('select count(*) as n from audit_chain');
  return Number(res.rows[0]?.n ?? 0);
}

/** The first entry that is neither in the chain nor waiting in the outbox (inserted around the trail). */
export async function firstUnchainedEntry(db: Db): Promise<StoredAuditEntry | null> {
  const res = await db.query<EntrySqlRow>(
    `select ${ENTRY_COLUMNS} from audit_entry e
     where not exists (select 1 from audit_chain c where c.seq = e.seq)
       and not exists (select 1 from audit_pending p where p.seq = e.seq)
     order by e.seq limit 1`,
  );
  const r = res.rows[0];
  return r ? toEntry(r) : null;
}

export async function pendingCount(db: Db): Promise<number> {
  const res = await db.query<{ n: number | string }>('select count(*) as n from audit_pending');
  return Number(res.rows[0]?.n ?? 0);
}

/** Chain positions whose content hash is `hash` (to tell a reordering from an edit). */
export async function positionsWithContentHash(db: Db, hash: string): Promise<number[]> {
  const res = await db.query<{ position: number | string }>(
    'select position from audit_chain where content_hash = $1 order by position',
    [hash],
  );
  return res.rows.map((r) => Number(r.position));
}

// --- The privacy officer's reads ---

export interface AuditEntryFilter {
  /** Entries about any of these patients or persons (either column matches). */
  patientIds?: readonly string[];
  personIds?: readonly string[];
  actorIds?: readonly string[];
  orgs?: readonly string[];
  actions?: readonly string[];
  /** Entries whose action is none of these. */
  excludeActions?: readonly string[];
  outcome?: 'allowed' | 'refused';
  /** Entries that arrived through any of these channels (fhir, api, viewer, cli, mllp, launch…). */
  channels?: readonly string[];
  /** Inclusive lower bound and exclusive upper bound, ISO instants. */
  from?: string;
  to?: string;
  actorKind?: 'user' | 'system';
  /** Newest first by default. */
  order?: 'asc' | 'desc';
  limit: number;
  offset?: number;
}

function whereOf(f: AuditEntryFilter): { sql: string; values: Array<string | number | ReturnType<typeof textArray>> } {
  const clauses: string[] = [];
  const values: Array<string | number | ReturnType<typeof textArray>> = [];
  const add = (clause: (n: number) => string, value: string | number | ReturnType<typeof textArray>) => {
    values.push(value);
    clauses.push(clause(values.length));
  };
  const subject: string[] = [];
  if (f.patientIds && f.patientIds.length > 0) {
    values.push(textArray(f.patientIds));
    subject.push(`e.patient_id = any($${values.length}::text[])`);
  }
  if (f.personIds && f.personIds.length > 0) {
    values.push(textArray(f.personIds));
    subject.push(`e.person_id = any($${values.length}::text[])`);
  }
  if (subject.length > 0) clauses.push(`(${subject.join(' or ')})`);
  if (f.actorIds && f.actorIds.length > 0) add((n) => `e.actor_id = any($${n}::text[])`, textArray(f.actorIds));
  if (f.orgs && f.orgs.length > 0) add((n) => `e.org_ods = any($${n}::text[])`, textArray(f.orgs));
  if (f.actions && f.actions.length > 0) add((n) => `e.action = any($${n}::text[])`, textArray(f.actions));
  if (f.excludeActions && f.excludeActions.length > 0) {
    add((n) => `e.action <> all($${n}::text[])`, textArray(f.excludeActions));
  }
  if (f.outcome) add((n) => `e.outcome = $${n}`, f.outcome);
  if (f.channels && f.channels.length > 0) add((n) => `e.channel = any($${n}::text[])`, textArray(f.channels));
  if (f.actorKind) add((n) => `e.actor_kind = $${n}`, f.actorKind);
  if (f.from) add((n) => `e.recorded_at >= $${n}::timestamptz`, f.from);
  if (f.to) add((n) => `e.recorded_at < $${n}::timestamptz`, f.to);
  return { sql: clauses.length > 0 ? `where ${clauses.join(' and ')}` : '', values };
}

/** Entries matching `f`, and how many match in all. */
export async function searchAuditEntries(
  db: Db,
  f: AuditEntryFilter,
): Promise<{ entries: StoredAuditEntry[]; total: number }> {
  const { sql, values } = whereOf(f);
  const order = f.order === 'asc' ? 'asc' : 'desc';
  const rows = await db.query<EntrySqlRow>(
    `select ${ENTRY_COLUMNS} from audit_entry e ${sql}
     order by e.recorded_at ${order}, e.seq ${order} limit $${values.length + 1} offset $${values.length + 2}`,
    [...values, f.limit, f.offset ?? 0],
  );
  const count = await db.query<{ n: number | string }>(`select count(*) as n from audit_entry e ${sql}`, values);
  return { entries: rows.rows.map(toEntry), total: Number(count.rows[0]?.n ?? 0) };
}

export async function auditEntryById(db: Db, id: string): Promise<StoredAuditEntry | null> {
  const res = await db.query<EntrySqlRow>(`select ${ENTRY_COLUMNS} from audit_entry e where e.id = $1`, [id]);
  const r = res.rows[0];
  return r ? toEntry(r) : null;
}

/** The first outbox marker whose entry is gone (deleted before it was sealed), or null. */
export async function pendingWithoutEntry(db: Db): Promise<number | null> {
  const res = await db.query<{ seq: number | string }>(
    `select p.seq from audit_pending p where not exists (select 1 from audit_entry e where e.seq = p.seq)
     order by p.seq limit 1`,
  );
  const r = res.rows[0];
  return r ? Number(r.seq) : null;
}

/** The chain hash at `position`, or null when there is no such link. */
export async function chainHashAt(db: Db, position: number): Promise<string | null> {
  const res = await db.query<{ chain_hash: string }>('select chain_hash from audit_chain where position = $1', [
    position,
  ]);
  return res.rows[0]?.chain_hash ?? null;
}

/** The current Patient resources (JSON text) of the given persons, for reports and signals. */
export async function patientsOfPersons(
  db: Db,
  personIds: readonly string[],
): Promise<Array<{ id: string; personId: string; json: string }>> {
  if (personIds.length === 0) return [];
  const res = await db.query<{ id: string; person_id: string; content: string }>(
    `select id, person_id, content from resource
     where person_id = any($1::text[]) and resource_type = 'Patient' and not deleted`,
    [textArray(personIds)],
  );
  return res.rows.map((r) => ({ id: r.id, personId: r.person_id, json: r.content }));
}

const INSERT_MANY_SQL = `with e as (
  insert into audit_entry (id, recorded_at, action, outcome, actor_kind, actor_id, actor_name, org_ods, role,
    channel, request_id, patient_id, person_id, what, returned, categories, basis, reason, error_code, content_hash,
    client_id)
  select x.id, x.at::timestamptz, x.action, x.outcome, x.kind, x.actor, x.name, x.org, x.role, x.channel, x.req,
    x.patient, x.person, x.what, x.returned,
    case when x.cats is null then null else array(select json_array_elements_text(x.cats::json)) end,
    x.basis, x.reason, x.err, x.hash, x.client
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::int[], $16::text[],
    $17::text[], $18::text[], $19::text[], $20::text[], $21::text[])
    as x(id, at, action, outcome, kind, actor, name, org, role, channel, req, patient, person, what, returned, cats,
      basis, reason, err, hash, client)
  returning seq)
insert into audit_pending (seq) select seq from e`;

/**
 * The same, committed asynchronously (`synchronous_commit` off for this statement's own transaction only,
 * set by the statement itself so that no pooled connection keeps it): the entries are committed and visible
 * when it returns, but their WAL may reach the disk up to 3 × `wal_writer_delay` later. Only for reads'
 * entries when the operator chose ICR_AUDIT_READ_COMMIT=async (ADR 0049).
 */
const INSERT_MANY_ASYNC_SQL = INSERT_MANY_SQL.replace(
  '      basis, reason, err, hash, client)\n  returning seq)',
  "      basis, reason, err, hash, client),\n    (select set_config('synchronous_commit', 'off', true)) as s\n  returning seq)",
);
if (INSERT_MANY_ASYNC_SQL === INSERT_MANY_SQL) throw new Error('audit-store: the asynchronous insert was not built');

/** Inserts several entries and their outbox markers in one statement (one commit for a group of requests). */
export async function insertAuditEntries(
  db: Db,
  rows: readonly AuditEntryRow[],
  opts: { asynchronousCommit?: boolean } = {},
): Promise<void> {
  if (rows.length === 0) return;
  const async = opts.asynchronousCommit === true && !db.inTransaction;
  if (rows.length === 1 && rows[0] && !async) return insertAuditEntry(db, rows[0]);
  const col = (f: (r: AuditEntryRow) => string | null) => textArray(rows.map(f));
  await db.query(
    async ? INSERT_MANY_ASYNC_SQL : INSERT_MANY_SQL,
    [
      col((r) => r.id),
      col((r) => r.recordedAt),
      col((r) => r.action),
      col((r) => r.outcome),
      col((r) => r.actorKind),
      col((r) => r.actorId),
      col((r) => r.actorName),
      col((r) => r.orgOds),
      col((r) => r.role),
      col((r) => r.channel),
      col((r) => r.requestId),
      col((r) => r.patientId),
      col((r) => r.personId),
      col((r) => r.what),
      int4Array(rows.map((r) => r.returned)),
      col((r) => (r.categories === null ? null : JSON.stringify(r.categories))),
      col((r) => r.basis),
      col((r) => r.reason),
      col((r) => r.errorCode),
      col((r) => r.contentHash),
      col((r) => r.clientId ?? null),
    ],
    { prepare: true },
  );
}

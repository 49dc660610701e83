/**
 * SQL of the organisation and feed registry and of the raw MLLP inbox (migration 0010). Messages are
 * inserted with their processing job in the caller's transaction (outbox): what is ACKed is committed
 * and will be processed.
 */
import type { Db } from './db.ts';

export const ORG_KINDS = [
  'gp',
  'acute',
  'community',
  'mental-health',
  'social-care',
  'ambulance',
  'out-of-hours',
  'voluntary',
  'spine',
] as const;
export type OrgKind = (typeof ORG_KINDS)[number];
export const FEED_PROTOCOLS = ['mllp', 'fhir', 'file'] as const;
export type FeedProtocol = (typeof FEED_PROTOCOLS)[number];
export type FeedStatus = 'testing' | 'live' | 'suspended';

export interface Organisation {
  ods: string;
  name: string;
  kind: OrgKind;
}

export interface Feed {
  id: string;
  orgOds: string;
  systemName: string | null;
  protocol: FeedProtocol;
  sendingApplication: string | null;
  sendingFacility: string | null;
  status: FeedStatus;
  approvedBy: string | null;
  approvedAt: string | null;
  suspendedReason: string | null;
  suspendedAt: string | null;
}

/** A feed's health: freshness and counts (no patient data). */
export interface FeedCounters {
  lastReceivedAt: string | null;
  /** Seconds the oldest unprocessed message has waited (0 when none waits). */
  lagSeconds: number;
  backlog: number;
  processed: number;
  /** Messages of a type with no mapping yet (kept in the inbox with the reason). */
  ignored: number;
  rejected: number;
  failed: number;
  excludedSensitive: number;
}

export type FeedWithCounters = Feed & { counters: FeedCounters };

/** The queue HL7 v2 inbox messages are processed on. */
export const HL7_QUEUE = 'hl7v2';

interface FeedRow {
  id: string;
  org_ods: string;
  system_name: string | null;
  protocol: FeedProtocol;
  sending_application: string | null;
  sending_facility: string | null;
  status: FeedStatus;
  approved_by: string | null;
  approved_at: Date | string | null;
  suspended_reason: string | null;
  suspended_at: Date | string | null;
}

const FEED_COLUMNS =
  'id, org_ods, system_name, protocol, sending_application, sending_facility, status, approved_by, approved_at, suspended_reason, suspended_at';

function iso(v: Date | string | null): string | null {
  if (v === null) return null;
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}

function toFeed(r: FeedRow): Feed {
  return {
    id: r.id,
    orgOds: r.org_ods,
    systemName: r.system_name,
    protocol: r.protocol,
    sendingApplication: r.sending_application,
    sendingFacility: r.sending_facility,
    status: r.status,
    approvedBy: r.approved_by,
    approvedAt: iso(r.approved_at),
    suspendedReason: r.suspended_reason,
    suspendedAt: iso(r.suspended_at),
  };
}

export async function insertOrganisation(db: Db, org: Organisation): Promise<boolean> {
  const res = await db.query(
    'insert into organisation (ods, name, kind) values ($1, $2, $3) on conflict (ods) do nothing',
    [org.ods, org.name, org.kind],
  );
  return res.rowCount > 0;
}

export async function getOrganisation(db: Db, ods: string): Promise<Organisation | null> {
  const res = await db.query<Organisation>('select ods, name, kind from organisation where ods = $1', [ods]);
  return res.rows[0] ?? null;
}

export async function listOrganisations(db: Db): Promise<Organisation[]> {
  return (await db.query<Organisation>('select ods, name, kind from organisation order by ods')).rows;
}

export async function insertFeed(
  db: Db,
  f: Pick<Feed, 'id' | 'orgOds' | 'systemName' | 'protocol' | 'sendingApplication' | 'sendingFacility'>,
): Promise<boolean> {
  const res = await db.query(
    `insert into feed (id, org_ods, system_name, protocol, sending_application, sending_facility)
     values ($1, $2, $3, $4, $5, $6) on conflict (id) do nothing`,
    [f.id, f.orgOds, f.systemName, f.protocol, f.sendingApplication, f.sendingFacility],
  );
  return res.rowCount > 0;
}

export async function getFeed(db: Db, id: string): Promise<Feed | null> {
  const res = await db.query<FeedRow>(`select ${FEED_COLUMNS} from feed where id = $1`, [id]);
  const row = res.rows[0];
  return row ? toFeed(row) : null;
}

export async function listFeeds(db: Db): Promise<Feed[]> {
  return (await db.query<FeedRow>(`select ${FEED_COLUMNS} from feed order by id`)).rows.map(toFeed);
}

/** All MLLP feeds (the sender registry, cached by the feed service). */
export async function listMllpFeeds(db: Db): Promise<Feed[]> {
  return (await db.query<FeedRow>(`select ${FEED_COLUMNS} from feed where protocol = 'mllp' order by id`)).rows.map(
    toFeed,
  );
}

/**
 * The same choice as `feedsForSender`, over a list already read: feeds naming MSH-4 and/or MSH-3 that match,
 * the most specific first, then by id.
 */
export function matchSender(feeds: readonly Feed[], application: string, facility: string): Feed[] {
  const spec = (f: Feed) => (f.sendingFacility !== null ? 1 : 0) + (f.sendingApplication !== null ? 1 : 0);
  return feeds
    .filter(
      (f) =>
        f.protocol === 'mllp' &&
        spec(f) > 0 &&
        (f.sendingFacility === null || f.sendingFacility === facility) &&
        (f.sendingApplication === null || f.sendingApplication === application),
    )
    .sort((a, b) => spec(b) - spec(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The MLLP feeds that may have sent a message from `application` at `facility`: a feed names MSH-4, MSH-3
 * or both; the most specific match comes first.
 */
export async function feedsForSender(db: Db, application: string, facility: string): Promise<Feed[]> {
  const res = await db.query<FeedRow>(
    `select ${FEED_COLUMNS} from feed
      where protocol = 'mllp'
        and (sending_facility is null or sending_facility = $2)
        and (sending_application is null or sending_application = $1)
        and (sending_facility is not null or sending_application is not null)
      order by (sending_facility is not null)::int + (sending_application is not null)::int desc, id`,
    [application, facility],
  );
  return res.rows.map(toFeed);
}

export async function approveFeed(db: Db, id: string, by: string): Promise<Feed | null> {
  const res = await db.query<FeedRow>(
    `update feed set status = 'live', approved_by = $2, approved_at = now(), suspended_reason = null, suspended_at = null
      where id = $1 returning ${FEED_COLUMNS}`,
    [id, by],
  );
  const row = res.rows[0];
  return row ? toFeed(row) : null;
}

export async function suspendFeed(db: Db, id: string, reason: string): Promise<Feed | null> {
  const res = await db.query<FeedRow>(
    `update feed set status = 'suspended', suspended_reason = $2, suspended_at = now()
      where id = $1 returning ${FEED_COLUMNS}`,
    [id, reason],
  );
  const row = res.rows[0];
  return row ? toFeed(row) : null;
}

export async function addFeedTester(db: Db, feedId: string, userId: string): Promise<void> {
  await db.query('insert into feed_tester (feed_id, user_id) values ($1, $2) on conflict do nothing', [feedId, userId]);
}

/** Feeds in testing that `userId` is not a tester of (all testing feeds when `userId` is null). */
export async function hiddenFeedIds(db: Db, userId: string | null): Promise<string[]> {
  const res = await db.query<{ id: string }>(
    `select f.id from feed f
      where f.status = 'testing'
        and ($1::text is null or not exists (select 1 from feed_tester t where t.feed_id = f.id and t.user_id = $1))
      order by f.id`,
    [userId],
    { prepare: true },
  );
  return res.rows.map((r) => r.id);
}

export async function countRejected(db: Db, feedId: string, n = 1): Promise<void> {
  await db.query('update feed set rejected_count = rejected_count + $2 where id = $1', [feedId, n]);
}

export async function countExcludedSensitive(db: Db, feedId: string, n: number): Promise<void> {
  if (n <= 0) return;
  await db.query('update feed set excluded_sensitive = excluded_sensitive + $2 where id = $1', [feedId, n]);
}

/** Counters of every feed (or one), from the inbox and the feed row. */
export async function feedCounters(db: Db, feedId?: string): Promise<Map<string, FeedCounters>> {
  const res = await db.query<{
    id: string;
    last_received_at: Date | string | null;
    oldest_waiting: Date | string | null;
    backlog: number;
    processed: number;
    ignored: number;
    failed: number;
    rejected_count: number | string;
    excluded_sensitive: number | string;
    now: Date | string;
  }>(
    `select f.id, f.rejected_count, f.excluded_sensitive, now() as now,
            (select max(m.received_at) from feed_message m where m.feed_id = f.id) as last_received_at,
            (select min(m.received_at) from feed_message m where m.feed_id = f.id and m.status = 'received') as oldest_waiting,
            (select count(*)::int from feed_message m where m.feed_id = f.id and m.status = 'received') as backlog,
            (select count(*)::int from feed_message m where m.feed_id = f.id and m.status = 'processed' and m.error is null) as processed,
            (select count(*)::int from feed_message m where m.feed_id = f.id and m.status = 'processed' and m.error is not null) as ignored,
            (select count(*)::int from feed_message m where m.feed_id = f.id and m.status = 'failed') as failed
       from feed f where ($1::text is null or f.id = $1)`,
    [feedId ?? null],
  );
  const out = new Map<string, FeedCounters>();
  for (const r of res.rows) {
    const now = new Date(r.now).getTime();
    out.set(r.id, {
      lastReceivedAt: iso(r.last_received_at),
      lagSeconds: r.oldest_waiting ? Math.max(0, (now - new Date(r.oldest_waiting).getTime()) / 1000) : 0,
      backlog: Number(r.backlog),
      processed: Number(r.processed),
      ignored: Number(r.ignored),
      rejected: Number(r.rejected_count),
      failed: Number(r.failed),
      excludedSensitive: Number(r.excluded_sensitive),
    });
  }
  return out;
}

// --- The inbox ---

export interface InboxMessage {
  feedId: string;
  sendingApplication: string;
  sendingFacility: string;
  controlId: string;
  messageType: string;
  raw: string;
  remoteAddress?: string | null;
  connectionId?: string | null;
  /** Queue ordering key (the person the message is about, as the sender identifies them). */
  orderingKey: string | null;
}

/**
 * Inserts messages and their processing jobs in one statement (so one round trip and one commit for a whole
 * group commit): each message's job id is drawn from the job sequence as its inbox row is inserted, and
 * the jobs are inserted for the rows that were new, in arrival order (the queue's order per person).
 * Returns, per message, its inbox id and whether it was a repeat of one already held (then no job is
 * added: it is not applied twice). A repeat within the same call is answered with the first one's id.
 */
export async function insertInbox(
  db: Db,
  messages: readonly InboxMessage[],
): Promise<Array<{ id: number; duplicate: boolean }>> {
  if (messages.length === 0) return [];
  // Repeats inside this group are resolved here (ON CONFLICT cannot report which row of one statement won).
  const keyOf = (m: InboxMessage) => JSON.stringify([m.feedId, m.sendingApplication, m.sendingFacility, m.controlId]);
  const firstOf = new Map<string, number>();
  const unique: InboxMessage[] = [];
  const slot: number[] = [];
  for (const m of messages) {
    const k = keyOf(m);
    const seen = firstOf.get(k);
    if (seen === undefined) {
      firstOf.set(k, unique.length);
      slot.push(unique.length);
      unique.push(m);
    } else slot.push(-1 - seen);
  }
  const res = await db.query<{ n: number; id: number | string; fresh: boolean }>(
    `with m as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                            $8::text[], $9::text[])
                with ordinality as x(feed_id, app, fac, control_id, message_type, raw, remote_address,
                                     connection_id, ordering_key, n)),
     ins as (
       insert into feed_message (feed_id, sending_application, sending_facility, control_id, message_type, raw,
                                 remote_address, connection_id, job_id)
       select feed_id, app, fac, control_id, message_type, raw, remote_address, connection_id,
              nextval('job_id_seq')
         from m order by n
       on conflict (feed_id, sending_application, sending_facility, control_id) do nothing
       returning id, job_id, feed_id, sending_application, sending_facility, control_id),
     -- (a data-modifying CTE runs to completion whether or not it is read)
     jobs as (
       insert into job (id, queue, ordering_key, payload)
       select ins.job_id, $10, m.ordering_key, json_build_object('messageId', ins.id)::text
         from ins join m on m.feed_id = ins.feed_id and m.app = ins.sending_application
                        and m.fac = ins.sending_facility and m.control_id = ins.control_id
        order by ins.job_id
       returning id)
     select m.n::int as n, coalesce(ins.id, old.id) as id, ins.id is not null as fresh
       from m
       left join ins on m.feed_id = ins.feed_id and m.app = ins.sending_application
                    and m.fac = ins.sending_facility and m.control_id = ins.control_id
       left join feed_message old on ins.id is null and old.feed_id = m.feed_id
                    and old.sending_application = m.app and old.sending_facility = m.fac
                    and old.control_id = m.control_id
      order by m.n`,
    [
      unique.map((m) => m.feedId),
      unique.map((m) => m.sendingApplication),
      unique.map((m) => m.sendingFacility),
      unique.map((m) => m.controlId),
      unique.map((m) => m.messageType),
      unique.map((m) => m.raw),
      unique.map((m) => m.remoteAddress ?? null),
      unique.map((m) => m.connectionId ?? null),
      unique.map((m) => m.orderingKey),
      HL7_QUEUE,
    ],
  );
  const rows = res.rows.map((r) => ({ id: Number(r.id), duplicate: !r.fresh }));
  if (rows.length !== unique.length) throw new Error('inbox insert returned an unexpected number of rows');
  return slot.map((s) => {
    if (s >= 0) return rows[s] ?? { id: 0, duplicate: true };
    return { id: rows[-1 - s]?.id ?? 0, duplicate: true };
  });
}

export interface InboxRow {
  id: number;
  feedId: string;
  raw: string;
  receivedAt: string;
  /** `processed` with an `error`: ignored (a message type with no mapping yet). */
  status: 'received' | 'processed' | 'failed';
  error: string | null;
  jobId: number | null;
}

export async function getInboxMessage(db: Db, id: number): Promise<InboxRow | null> {
  const res = await db.query<{
    id: number;
    feed_id: string;
    raw: string;
    received_at: Date | string;
    status: InboxRow['status'];
    error: string | null;
    job_id: number | null;
  }>('select id, feed_id, raw, received_at, status, error, job_id from feed_message where id = $1', [id]);
  const r = res.rows[0];
  if (!r) return null;
  return {
    id: Number(r.id),
    feedId: r.feed_id,
    raw: r.raw,
    receivedAt: iso(r.received_at) ?? '',
    status: r.status,
    error: r.error,
    jobId: r.job_id === null ? null : Number(r.job_id),
  };
}

/** Several inbox messages at once (those that exist). */
export async function getInboxMessages(db: Db, ids: readonly number[]): Promise<InboxRow[]> {
  if (ids.length === 0) return [];
  const res = await db.query<{
    id: number;
    feed_id: string;
    raw: string;
    received_at: Date | string;
    status: InboxRow['status'];
    error: string | null;
    job_id: number | null;
  }>('select id, feed_id, raw, received_at, status, error, job_id from feed_message where id = any($1::bigint[])', [
    ids.map(String),
  ]);
  return res.rows.map((r) => ({
    id: Number(r.id),
    feedId: r.feed_id,
    raw: r.raw,
    receivedAt: iso(r.received_at) ?? '',
    status: r.status,
    error: r.error,
    jobId: r.job_id === null ? null : Number(r.job_id),
  }));
}

/** Marks several messages processed in one statement. */
export async function markInboxProcessed(db: Db, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `update feed_message set status = 'processed', error = null, processed_at = now() where id = any($1::bigint[])`,
    [ids.map(String)],
  );
}

export async function markInbox(
  db: Db,
  id: number,
  status: 'processed' | 'ignored' | 'failed',
  error: string | null,
): Promise<void> {
  // `ignored` (a type with no mapping yet) is stored as processed with the reason: migration 0010 has
  // landed with three statuses, and an ignored message is done with as far as the queue is concerned.
  await db.query('update feed_message set status = $2, error = $3, processed_at = now() where id = $1', [
    id,
    status === 'ignored' ? 'processed' : status,
    error,
  ]);
}

/** Failed messages of a feed (ids and reasons), oldest first. */
export async function failedInbox(
  db: Db,
  feedId: string,
  limit = 1000,
): Promise<Array<{ id: number; error: string | null; jobId: number | null }>> {
  const res = await db.query<{ id: number; error: string | null; job_id: number | null }>(
    `select id, error, job_id from feed_message where feed_id = $1 and status = 'failed' order by id limit $2`,
    [feedId, limit],
  );
  return res.rows.map((r) => ({
    id: Number(r.id),
    error: r.error,
    jobId: r.job_id === null ? null : Number(r.job_id),
  }));
}

/** Puts a failed message back to `received` (its job is replayed by the caller). */
export async function resetInbox(db: Db, id: number): Promise<void> {
  await db.query(`update feed_message set status = 'received', error = null, processed_at = null where id = $1`, [id]);
}

/** A failed message as the feed page lists it: identifiers and the reason, never the message itself. */
export interface FailedMessage {
  id: number;
  messageType: string;
  controlId: string;
  receivedAt: string;
  error: string | null;
}

/** The feed's failed messages, oldest first (at most `limit`). */
export async function failedMessages(db: Db, feedId: string, limit = 100): Promise<FailedMessage[]> {
  const res = await db.query<{
    id: number | string;
    message_type: string;
    control_id: string;
    received_at: Date | string;
    error: string | null;
  }>(
    `select id, message_type, control_id, received_at, error from feed_message
      where feed_id = $1 and status = 'failed' order by id limit $2`,
    [feedId, limit],
  );
  return res.rows.map((r) => ({
    id: Number(r.id),
    messageType: r.message_type,
    controlId: r.control_id,
    receivedAt: iso(r.received_at) ?? '',
    error: r.error,
  }));
}

/** Messages received per hour and how they stand now, for the last `hours` hours (oldest hour first). */
export interface HourActivity {
  /** Start of the hour, ISO instant (UTC). */
  hour: string;
  received: number;
  failed: number;
  waiting: number;
}

export async function feedActivity(db: Db, feedId: string, hours = 24): Promise<HourActivity[]> {
  const res = await db.query<{
    hour: Date | string;
    received: number;
    failed: number;
    waiting: number;
  }>(
    `select date_trunc('hour', received_at at time zone 'UTC') at time zone 'UTC' as hour,
            count(*)::int as received,
            (count(*) filter (where status = 'failed'))::int as failed,
            (count(*) filter (where status = 'received'))::int as waiting
       from feed_message
      where feed_id = $1 and received_at >= date_trunc('hour', now() at time zone 'UTC') at time zone 'UTC' - make_interval(hours => $2::int - 1)
      group by 1`,
    [feedId, hours],
  );
  const clock = await db.query<{ now_hour: Date | string }>(
    `select date_trunc('hour', now() at time zone 'UTC') at time zone 'UTC' as now_hour`,
  );
  const end = new Date(clock.rows[0]?.now_hour ?? Date.now()).getTime();
  const byHour = new Map(res.rows.map((r) => [new Date(r.hour).getTime(), r]));
  const out: HourActivity[] = [];
  for (let i = hours - 1; i >= 0; i--) {
    const t = end - i * 3600_000;
    const r = byHour.get(t);
    out.push({
      hour: new Date(t).toISOString(),
      received: Number(r?.received ?? 0),
      failed: Number(r?.failed ?? 0),
      waiting: Number(r?.waiting ?? 0),
    });
  }
  return out;
}

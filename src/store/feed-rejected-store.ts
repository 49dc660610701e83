/**
 * SQL of the rejected-message store (migration 0022, ADR 0046): HL7 v2 messages answered AR or AE at intake,
 * kept as received for integration engineers to read and replay. Inserting one also counts it on its feed
 * and prunes what is past the retention period or beyond the row limit, in the same statement.
 */
import type { Db } from './db.ts';

export interface NewRejected {
  feedId: string | null;
  sendingApplication: string;
  sendingFacility: string;
  controlId: string;
  messageType: string;
  raw: Buffer;
  ackCode: 'AE' | 'AR';
  reason: string;
  errorCode?: string | undefined;
  errorLocation?: string | undefined;
  remoteAddress?: string | null | undefined;
  connectionId?: string | null | undefined;
}

/** How long rejected messages are kept, and how many at most. */
export interface RejectedBounds {
  retentionDays: number;
  maxRows: number;
}

/** A rejected message as listed: identifiers, the reason and the replay outcome; never the message. */
export interface RejectedSummary {
  id: number;
  feedId: string | null;
  sendingApplication: string;
  sendingFacility: string;
  controlId: string;
  messageType: string;
  ackCode: 'AE' | 'AR';
  reason: string;
  errorCode: string | null;
  errorLocation: string | null;
  receivedAt: string;
  bytes: number;
  replayCount: number;
  replayedAt: string | null;
  replayedBy: string | null;
  replayAck: 'AA' | 'AE' | 'AR' | null;
  replayReason: string | null;
  inboxMessageId: number | null;
}

/** One rejected message with what was received (and, after an edited replay, what was replayed). */
export interface RejectedMessage extends RejectedSummary {
  raw: Buffer;
  remoteAddress: string | null;
  connectionId: string | null;
  replayedRaw: Buffer | null;
}

export interface ReplayOutcome {
  ack: 'AA' | 'AE' | 'AR';
  reason: string | null;
  by: string;
  /** The text replayed when it was edited (null: replayed as received). */
  editedRaw: Buffer | null;
  inboxMessageId: number | null;
}

/** Text PostgreSQL can hold: NUL and lone surrogates replaced (what was read of a hostile MSH). */
function holdable(text: string, max = 200): string {
  return text.replaceAll('\u0000', '\ufffd').toWellFormed().slice(0, max);
}

const SUMMARY_COLUMNS = `id, feed_id, sending_application, sending_facility, control_id, message_type, ack_code,
  reason, error_code, error_location, received_at, octet_length(raw) as bytes, replay_count, replayed_at,
  replayed_by, replay_ack, replay_reason, inbox_message_id`;

interface SummaryRow {
  id: number | string;
  feed_id: string | null;
  sending_application: string;
  sending_facility: string;
  control_id: string;
  message_type: string;
  ack_code: 'AE' | 'AR';
  reason: string;
  error_code: string | null;
  error_location: string | null;
  received_at: Date | string;
  bytes: number | string;
  replay_count: number;
  replayed_at: Date | string | null;
  replayed_by: string | null;
  replay_ack: 'AA' | 'AE' | 'AR' | null;
  replay_reason: string | null;
  inbox_message_id: number | string | null;
}

const iso = (v: Date | string | null): string | null =>
  v === null ? null : (v instanceof Date ? v : new Date(v)).toISOString();

/** bytea as read by pg (Buffer) or PGlite (Uint8Array). */
const bytes = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array));

function toSummary(r: SummaryRow): RejectedSummary {
  return {
    id: Number(r.id),
    feedId: r.feed_id,
    sendingApplication: r.sending_application,
    sendingFacility: r.sending_facility,
    controlId: r.control_id,
    messageType: r.message_type,
    ackCode: r.ack_code,
    reason: r.reason,
    errorCode: r.error_code,
    errorLocation: r.error_location,
    receivedAt: iso(r.received_at) ?? '',
    bytes: Number(r.bytes),
    replayCount: Number(r.replay_count),
    replayedAt: iso(r.replayed_at),
    replayedBy: r.replayed_by,
    replayAck: r.replay_ack,
    replayReason: r.replay_reason,
    inboxMessageId: r.inbox_message_id === null ? null : Number(r.inbox_message_id),
  };
}

/**
 * Keeps a rejected message, counts it on its feed, and deletes rows past the retention period or beyond
 * the newest `maxRows`, in one statement. Returns the new row's id.
 */
export async function insertRejected(db: Db, m: NewRejected, bounds: RejectedBounds): Promise<number> {
  const res = await db.query<{ id: number | string }>(
    `with ins as (
       insert into feed_rejected (feed_id, sending_application, sending_facility, control_id, message_type, raw,
                                  ack_code, reason, error_code, error_location, remote_address, connection_id)
       values ((select id from feed where id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       returning id),
     counted as (update feed set rejected_count = rejected_count + 1 where id = $1 returning id),
     -- Two deletes, each an index range (received_at; the primary key), not one OR over the whole table.
     expired as (
       delete from feed_rejected where received_at < now() - make_interval(days => $13::int) returning id),
     -- Ids only grow: the newest maxRows are those above the new row's id minus maxRows (fewer when an
     -- insert was rolled back), found without counting the table.
     beyond as (delete from feed_rejected where id <= (select id from ins) - $14::int returning id)
     select id from ins`,
    [
      m.feedId,
      holdable(m.sendingApplication),
      holdable(m.sendingFacility),
      holdable(m.controlId),
      holdable(m.messageType, 20),
      m.raw,
      m.ackCode,
      holdable(m.reason, 1000),
      m.errorCode ?? null,
      m.errorLocation ?? null,
      m.remoteAddress ?? null,
      m.connectionId ?? null,
      bounds.retentionDays,
      Math.max(1, bounds.maxRows),
    ],
    { prepare: true },
  );
  return Number(res.rows[0]?.id ?? 0);
}

/** Rejected messages, newest first: of one feed, of senders no feed matched (`feedId` null), or all. */
export async function listRejected(
  db: Db,
  which: { feedId: string } | { unknownSender: true } | { all: true },
  limit = 100,
): Promise<RejectedSummary[]> {
  const where =
    'feedId' in which
      ? 'feed_id = $1'
      : 'unknownSender' in which
        ? 'feed_id is null and $1::text is null'
        : '$1::text is null';
  const res = await db.query<SummaryRow>(
    `select ${SUMMARY_COLUMNS} from feed_rejected where ${where} order by id desc limit $2`,
    ['feedId' in which ? which.feedId : null, limit],
  );
  return res.rows.map(toSummary);
}

export async function getRejected(db: Db, id: number): Promise<RejectedMessage | null> {
  const res = await db.query<
    SummaryRow & { raw: unknown; remote_address: string | null; connection_id: string | null; replayed_raw: unknown }
  >(`select ${SUMMARY_COLUMNS}, raw, remote_address, connection_id, replayed_raw from feed_rejected where id = $1`, [
    id,
  ]);
  const r = res.rows[0];
  if (!r) return null;
  return {
    ...toSummary(r),
    raw: bytes(r.raw),
    remoteAddress: r.remote_address,
    connectionId: r.connection_id,
    replayedRaw: r.replayed_raw === null || r.replayed_raw === undefined ? null : bytes(r.replayed_raw),
  };
}

/**
 * Records a replay's outcome on the rejected message, unless it was already accepted by an earlier replay
 * (then nothing changes: returns false). The feed is filled in when the replay recognised one.
 */
export async function recordReplay(db: Db, id: number, o: ReplayOutcome, feedId: string | null): Promise<boolean> {
  const res = await db.query(
    `update feed_rejected
        set replay_count = replay_count + 1, replayed_at = now(), replayed_by = $2, replayed_raw = $3,
            replay_ack = $4, replay_reason = $5, inbox_message_id = $6,
            feed_id = coalesce(feed_id, (select f.id from feed f where f.id = $7))
      where id = $1 and inbox_message_id is null`,
    [
      id,
      holdable(o.by),
      o.editedRaw,
      o.ack,
      o.reason === null ? null : holdable(o.reason, 1000),
      o.inboxMessageId,
      feedId,
    ],
  );
  return res.rowCount > 0;
}

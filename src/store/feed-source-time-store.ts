/**
 * `feed_source_time`: the source event time each feed-written resource last reflects (migration 0014).
 * Read with the current resources before a message is applied; written in the same transaction as them.
 */
import type { Db } from './db.ts';
import { textArray } from './sql-array.ts';
import { toInstant } from './resource-store.ts';

export interface CurrentWithTime {
  resourceType: string;
  id: string;
  json: string;
  sourceTime: string | undefined;
}

/** The current (not deleted) resources among `keys`, with their source times, locked for the write. */
export async function currentWithSourceTimes(
  db: Db,
  keys: ReadonlyArray<readonly [string, string]>,
): Promise<Map<string, CurrentWithTime>> {
  const out = new Map<string, CurrentWithTime>();
  if (keys.length === 0) return out;
  const r = await db.query<{ resource_type: string; id: string; content: string; source_time: string | Date | null }>(
    `select r.resource_type, r.id, r.content, t.source_time
       from resource r
       join unnest($1::text[], $2::text[]) as k(resource_type, id) on r.resource_type = k.resource_type and r.id = k.id
       left join feed_source_time t on t.resource_type = r.resource_type and t.id = r.id
      where not r.deleted
      for update of r`,
    [textArray(keys.map((k) => k[0])), textArray(keys.map((k) => k[1]))],
  );
  for (const row of r.rows) {
    const t = row.source_time;
    out.set(`${row.resource_type}/${row.id}`, {
      resourceType: row.resource_type,
      id: row.id,
      json: row.content,
      sourceTime: t === null ? undefined : t instanceof Date ? t.toISOString() : toInstant(t),
    });
  }
  return out;
}

/** Records the source time of resources just written from a feed message. */
export async function putSourceTimes(
  db: Db,
  feedId: string,
  messageId: number | undefined,
  rows: ReadonlyArray<{ resourceType: string; id: string; sourceTime: string }>,
): Promise<void> {
  await putSourceTimesMany(
    db,
    rows.map((r) => ({ ...r, feedId, messageId })),
  );
}

/**
 * The same for the resources of several messages (possibly of several feeds) written in one set: one
 * statement. A resource appears at most once in `rows`.
 */
export async function putSourceTimesMany(
  db: Db,
  rows: ReadonlyArray<{
    resourceType: string;
    id: string;
    sourceTime: string;
    feedId: string;
    messageId?: number | undefined;
  }>,
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `insert into feed_source_time (resource_type, id, source_time, feed_id, message_id)
     select k.resource_type, k.id, k.source_time, k.feed_id, k.message_id
       from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::bigint[])
         as k(resource_type, id, source_time, feed_id, message_id)
     on conflict (resource_type, id) do update
       set source_time = excluded.source_time, feed_id = excluded.feed_id, message_id = excluded.message_id`,
    [
      textArray(rows.map((r) => r.resourceType)),
      textArray(rows.map((r) => r.id)),
      rows.map((r) => r.sourceTime),
      textArray(rows.map((r) => r.feedId)),
      rows.map((r) => r.messageId ?? null),
    ],
  );
}

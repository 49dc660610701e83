/**
 * Counts of current (not deleted) stored resources, by type and by feed, for operators. No patient data:
 * only types, feed ids and counts.
 */
import type { Db } from './db.ts';

export interface ResourceCountRow {
  resourceType: string;
  /** null for resources written without a feed (e.g. through the API before provenance was required). */
  feedId: string | null;
  count: number;
}

/** One row per (type, feed) with current resources. Uses resource_feed_idx / a sequential scan of `resource`. */
export async function countResources(db: Db): Promise<ResourceCountRow[]> {
  const res = await db.query<{ resource_type: string; feed_id: string | null; n: number }>(
    `select resource_type, feed_id, count(*)::int as n
       from resource
      where not deleted
      group by resource_type, feed_id
      order by resource_type, feed_id`,
  );
  return res.rows.map((r) => ({ resourceType: r.resource_type, feedId: r.feed_id, count: Number(r.n) }));
}

/** True when at least one current resource of `resourceType` is stored. */
export async function hasAnyResource(db: Db, resourceType: string): Promise<boolean> {
  const res = await db.query<{ one: number }>(
    'select 1 as one from resource where resource_type = $1 and not deleted limit 1',
    [resourceType],
  );
  return res.rows.length > 0;
}

/**
 * Operator statistics through the records layer: counts of current resources by type and by feed. It
 * returns counts only (no patient data), so it needs no per-person access decision.
 */
import type { Db } from '../store/db.ts';
import { countResources, hasAnyResource } from '../store/stats.ts';

export interface ResourceStats {
  total: number;
  byType: Record<string, number>;
  byFeed: Record<string, number>;
  /** Counts per feed, then per type. */
  byFeedAndType: Record<string, Record<string, number>>;
}

/** The feed key used for resources stored without a feed id. */
export const NO_FEED = '(none)';

export async function resourceStats(records: { readonly db: Db }): Promise<ResourceStats> {
  const rows = await countResources(records.db);
  const stats: ResourceStats = { total: 0, byType: {}, byFeed: {}, byFeedAndType: {} };
  for (const r of rows) {
    const feed = r.feedId ?? NO_FEED;
    stats.total += r.count;
    stats.byType[r.resourceType] = (stats.byType[r.resourceType] ?? 0) + r.count;
    stats.byFeed[feed] = (stats.byFeed[feed] ?? 0) + r.count;
    (stats.byFeedAndType[feed] ??= {})[r.resourceType] = r.count;
  }
  return stats;
}

/** True when any current Patient is stored (the demo load runs only on an empty record). */
export async function hasPatients(records: { readonly db: Db }): Promise<boolean> {
  return hasAnyResource(records.db, 'Patient');
}

/**
 * Rebuilds the search index from `resource` (current, not deleted versions), in batches, each batch in its
 * own transaction so searches keep working while it runs. Used by `icr reindex`, and after a change to
 * the search-parameter registry or the extraction rules.
 */
import type { FhirResource } from '../../fhir/types.ts';
import type { Db } from '../db.ts';
import { indexResources, INDEX_TABLES } from './index-resources.ts';

export interface ReindexProgress {
  /** Resources indexed so far. */
  done: number;
  /** Current (not deleted) resources when the run started. */
  total: number;
  /** Index rows removed because their resource is gone or deleted (set at the end). */
  orphansRemoved?: number;
}

export interface ReindexSummary {
  resources: number;
  orphansRemoved: number;
  ms: number;
}

export const REINDEX_BATCH_SIZE = 500;

interface Row {
  resource_type: string;
  id: string;
  content: string;
  person_id: string | null;
}

export async function reindexAll(
  db: Db,
  onProgress?: (p: ReindexProgress) => void,
  batchSize: number = REINDEX_BATCH_SIZE,
): Promise<ReindexSummary> {
  const started = performance.now();
  const totalRes = await db.query<{ n: number }>('select count(*)::int as n from resource where not deleted');
  const total = totalRes.rows[0]?.n ?? 0;
  let done = 0;
  let after: [string, string] = ['', ''];
  for (;;) {
    const batch = await db.query<Row>(
      `select resource_type, id, content, person_id from resource
        where not deleted and (resource_type, id) > ($1, $2)
        order by resource_type, id limit $3`,
      [after[0], after[1], batchSize],
    );
    if (batch.rows.length === 0) break;
    const items = batch.rows.map((r) => ({
      resourceType: r.resource_type,
      id: r.id,
      resource: JSON.parse(r.content) as FhirResource,
      personId: r.person_id,
    }));
    await db.transaction((tx) => indexResources(tx, items));
    done += items.length;
    const last = batch.rows[batch.rows.length - 1] as Row;
    after = [last.resource_type, last.id];
    onProgress?.({ done, total });
    if (batch.rows.length < batchSize) break;
  }
  let orphansRemoved = 0;
  for (const table of INDEX_TABLES) {
    const res = await db.query(
      `delete from ${table} s where not exists (
         select 1 from resource r where r.resource_type = s.resource_type and r.id = s.resource_id and not r.deleted)`,
    );
    orphansRemoved += res.rowCount;
  }
  onProgress?.({ done, total, orphansRemoved });
  return { resources: done, orphansRemoved, ms: Math.round(performance.now() - started) };
}

/** The entry point for `icr reindex`. */
export const runReindex = reindexAll;

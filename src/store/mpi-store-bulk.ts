/**
 * Reads for a bulk link's in-memory index (ADR 0054): every link, every blocking key and every not-same
 * decision, in pages by primary key (keyset pagination, so memory holds one page of rows at a time and
 * every page is an index range scan), and the blocking keys some records hold now.
 */
import type { MatchRecord } from '../mpi/types.ts';
import type { Queryable } from './db.ts';

/** Every link in pages of `page` (patient id order): what the index keeps of each. */
export async function streamLinks(
  db: Queryable,
  page: number,
  each: (l: { patientId: string; personId: string; record: MatchRecord; retired: boolean }) => void,
): Promise<number> {
  let after = '';
  let total = 0;
  for (;;) {
    const res = await db.query<{ patient_id: string; person_id: string; record: string; retired: boolean }>(
      `select patient_id, person_id, record::text as record, retired_into is not null as retired
         from person_link where patient_id > $1 order by patient_id limit $2`,
      [after, page],
      { prepare: true },
    );
    for (const r of res.rows)
      each({
        patientId: r.patient_id,
        personId: r.person_id,
        record: JSON.parse(r.record) as MatchRecord,
        retired: r.retired,
      });
    total += res.rows.length;
    const last = res.rows[res.rows.length - 1];
    if (!last || res.rows.length < page) return total;
    after = last.patient_id;
  }
}

/** Every blocking key row in pages of `page` (key, patient id order). */
export async function streamBlocks(
  db: Queryable,
  page: number,
  each: (key: string, patientId: string) => void,
): Promise<number> {
  let afterKey = '';
  let afterPatient = '';
  let total = 0;
  for (;;) {
    const res = await db.query<{ key: string; patient_id: string }>(
      `select key, patient_id from person_block where (key, patient_id) > ($1, $2)
        order by key, patient_id limit $3`,
      [afterKey, afterPatient, page],
      { prepare: true },
    );
    for (const r of res.rows) each(r.key, r.patient_id);
    total += res.rows.length;
    const last = res.rows[res.rows.length - 1];
    if (!last || res.rows.length < page) return total;
    afterKey = last.key;
    afterPatient = last.patient_id;
  }
}

/** Every not-same decision (a steward's; few). */
export async function notSameDecisions(db: Queryable): Promise<Array<[string, string]>> {
  const res = await db.query<{ patient_a: string; patient_b: string }>(
    "select patient_a, patient_b from mpi_decision where decision = 'not-same'",
  );
  return res.rows.map((r) => [r.patient_a, r.patient_b]);
}

/** The blocking keys these records hold now (before an assignment refreshes them). */
export async function blocksOf(
  db: Queryable,
  patientIds: readonly string[],
): Promise<Array<{ patientId: string; key: string }>> {
  if (patientIds.length === 0) return [];
  const res = await db.query<{ patient_id: string; key: string }>(
    'select patient_id, key from person_block where patient_id = any($1::text[])',
    [[...new Set(patientIds)]],
  );
  return res.rows.map((r) => ({ patientId: r.patient_id, key: r.key }));
}

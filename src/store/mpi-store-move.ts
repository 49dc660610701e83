/**
 * Moving clinical data with its source records: when source records change person (link, unlink, merge),
 * every row about them — `resource`, `resource_version` and each search index table that carries a
 * `person_id` column — is re-keyed with set-based UPDATEs (no per-resource work).
 */
import type { Queryable } from './db.ts';

/** Tables that are not search index tables although they have a person_id column. */
const NOT_INDEX_TABLES = new Set(['resource', 'resource_version', 'person_link', 'mpi_event']);

interface IndexTable {
  name: string;
  /** How the table names the resource it indexes. */
  by: 'patient' | 'resource-id' | 'id';
}

/**
 * Search index tables with a person_id column in the current schema, and how each names its resource:
 * a `patient_id` column, or (`resource_type`, `resource_id`), or (`resource_type`, `id`).
 */
export async function indexTablesWithPerson(db: Queryable): Promise<IndexTable[]> {
  const res = await db.query<{ table_name: string; columns: string[] }>(
    `select table_name, array_agg(column_name::text) as columns from information_schema.columns
      where table_schema = current_schema()
      group by table_name
     having bool_or(column_name = 'person_id')`,
  );
  const out: IndexTable[] = [];
  for (const r of res.rows) {
    if (NOT_INDEX_TABLES.has(r.table_name)) continue;
    const cols = new Set(r.columns);
    if (cols.has('patient_id')) out.push({ name: r.table_name, by: 'patient' });
    else if (cols.has('resource_type') && cols.has('resource_id')) out.push({ name: r.table_name, by: 'resource-id' });
    else if (cols.has('resource_type') && cols.has('id')) out.push({ name: r.table_name, by: 'id' });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Re-keys every row about these source records to `personId`. Returns how many current resources moved.
 * Must run in the transaction that changes the links.
 */
export async function moveClinicalRows(
  db: Queryable,
  patientIds: readonly string[],
  personId: string,
): Promise<number> {
  if (patientIds.length === 0) return 0;
  const moved = await db.query<{ resource_type: string; id: string }>(
    `with v as (
       update resource_version set person_id = $2 where patient_id = any($1::text[]) and person_id is distinct from $2
     )
     update resource set person_id = $2
      where patient_id = any($1::text[]) and person_id is distinct from $2
      returning resource_type, id`,
    [patientIds, personId],
  );
  if (moved.rows.length === 0) return 0;
  const types = moved.rows.map((r) => r.resource_type);
  const ids = moved.rows.map((r) => r.id);
  for (const t of await indexTablesWithPerson(db)) {
    const name = quoteIdent(t.name);
    if (t.by === 'patient') {
      await db.query(
        `update ${name} set person_id = $2 where patient_id = any($1::text[]) and person_id is distinct from $2`,
        [patientIds, personId],
      );
    } else {
      const idCol = t.by === 'resource-id' ? 'resource_id' : 'id';
      await db.query(
        `update ${name} as t set person_id = $3
           from unnest($1::text[], $2::text[]) as k(rt, rid)
          where t.resource_type = k.rt and t.${idCol} = k.rid and t.person_id is distinct from $3`,
        [types, ids, personId],
      );
    }
  }
  return moved.rows.length;
}

/**
 * The set form of `moveClinicalRows`: re-keys every row about each source record to its own target person,
 * in one statement per table for the whole set. Returns how many current resources moved.
 */
export async function moveClinicalRowsMany(
  db: Queryable,
  moves: ReadonlyArray<{ patientId: string; personId: string }>,
): Promise<number> {
  if (moves.length === 0) return 0;
  const patients = moves.map((m) => m.patientId);
  const persons = moves.map((m) => m.personId);
  const moved = await db.query<{ resource_type: string; id: string; person_id: string }>(
    `with m as (select p, pe from unnest($1::text[], $2::text[]) as x(p, pe)), v as (
       update resource_version rv set person_id = m.pe from m
        where rv.patient_id = m.p and rv.person_id is distinct from m.pe
     )
     update resource r set person_id = m.pe from m
      where r.patient_id = m.p and r.person_id is distinct from m.pe
      returning r.resource_type, r.id, r.person_id`,
    [patients, persons],
  );
  await moveIndexRows(
    db,
    moves,
    moved.rows.map((r) => ({ resourceType: r.resource_type, id: r.id, personId: r.person_id })),
  );
  return moved.rows.length;
}

/**
 * The search-index part of `moveClinicalRowsMany`, once `resource` and `resource_version` are moved (`moved`:
 * the current resources that changed person). Nothing to do, and no statement, when none moved.
 */
export async function moveIndexRows(
  db: Queryable,
  moves: ReadonlyArray<{ patientId: string; personId: string }>,
  moved: ReadonlyArray<{ resourceType: string; id: string; personId: string }>,
): Promise<void> {
  if (moved.length === 0) return;
  const patients = moves.map((m) => m.patientId);
  const persons = moves.map((m) => m.personId);
  const types = moved.map((r) => r.resourceType);
  const ids = moved.map((r) => r.id);
  const to = moved.map((r) => r.personId);
  for (const t of await indexTablesWithPerson(db)) {
    const name = quoteIdent(t.name);
    if (t.by === 'patient') {
      await db.query(
        `update ${name} as t set person_id = m.pe from unnest($1::text[], $2::text[]) as m(p, pe)
          where t.patient_id = m.p and t.person_id is distinct from m.pe`,
        [patients, persons],
      );
    } else {
      const idCol = t.by === 'resource-id' ? 'resource_id' : 'id';
      await db.query(
        `update ${name} as t set person_id = k.pe
           from unnest($1::text[], $2::text[], $3::text[]) as k(rt, rid, pe)
          where t.resource_type = k.rt and t.${idCol} = k.rid and t.person_id is distinct from k.pe`,
        [types, ids, to],
      );
    }
  }
}

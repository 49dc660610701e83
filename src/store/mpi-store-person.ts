/**
 * MPI persistence: persons (golden demographics, conflicts, restricted flag, merges). Only SQL here.
 */
import type { Queryable } from './db.ts';

function json<T>(v: T | string): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : v;
}

function iso(v: string | Date): string {
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}

export interface PersonRow {
  id: string;
  golden: Record<string, unknown>;
  conflicts: unknown[];
  restricted: boolean;
  mergedInto: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Creates a person with `preferredId`, or with `fallbackId` when that id is taken. Returns the id used. */
export async function createPerson(
  db: Queryable,
  preferredId: string,
  fallbackId: () => string,
  now: string,
): Promise<string> {
  for (const id of [preferredId, fallbackId(), fallbackId()]) {
    const res = await db.query<{ id: string }>(
      `insert into person (id, created_at, updated_at) values ($1, $2, $2) on conflict (id) do nothing returning id`,
      [id, now],
    );
    if (res.rows.length > 0) return id;
  }
  throw new Error('could not allocate a person id');
}

/**
 * The set form of `createPerson`: creates one person per preferred id, each with its preferred id when free,
 * else with a `fallbackId()` (tried twice), and with its golden demographics when given (same order). Returns
 * the ids used, in the order given.
 */
export async function createPersons(
  db: Queryable,
  preferredIds: readonly string[],
  fallbackId: () => string,
  now: string,
  goldens?: ReadonlyArray<Omit<GoldenRow, 'id'>>,
): Promise<string[]> {
  const out: string[] = preferredIds.map(() => '');
  let want = preferredIds.map((id, n) => ({ n, id }));
  for (let round = 0; round < 3 && want.length > 0; round++) {
    if (round > 0) want = want.map((w) => ({ n: w.n, id: fallbackId() }));
    // The same id asked twice: its first asker tries it now, the other a fallback id in the next round.
    const seen = new Set<string>();
    const ask = want.filter((w) => !seen.has(w.id) && seen.add(w.id));
    const res = await db.query<{ id: string }>(
      `insert into person (id, golden, conflicts, has_conflicts, restricted, created_at, updated_at)
       select x.id, coalesce(x.g::jsonb, '{}'::jsonb), coalesce(x.c::jsonb, '[]'::jsonb),
              coalesce(jsonb_array_length(x.c::jsonb) > 0, false), coalesce(x.r, false), $5, $5
         from unnest($1::text[], $2::text[], $3::text[], $4::bool[]) as x(id, g, c, r)
       on conflict (id) do nothing returning id`,
      [
        ask.map((w) => w.id),
        ask.map((w) => (goldens?.[w.n] ? JSON.stringify(goldens[w.n]?.golden) : null)),
        ask.map((w) => (goldens?.[w.n] ? JSON.stringify(goldens[w.n]?.conflicts) : null)),
        ask.map((w) => goldens?.[w.n]?.restricted ?? null),
        now,
      ],
    );
    const made = new Set(res.rows.map((r) => r.id));
    for (const w of ask) if (made.has(w.id)) out[w.n] = w.id;
    want = want.filter((w) => out[w.n] === '');
  }
  if (want.length > 0) throw new Error('could not allocate a person id');
  return out;
}

interface RawPerson {
  id: string;
  golden: Record<string, unknown> | string;
  conflicts: unknown[] | string;
  restricted: boolean;
  merged_into: string | null;
  created_at: string | Date;
  updated_at: string | Date;
}

function fromRawPerson(r: RawPerson): PersonRow {
  return {
    id: r.id,
    golden: json(r.golden),
    conflicts: json(r.conflicts),
    restricted: r.restricted,
    mergedInto: r.merged_into,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export async function getPerson(db: Queryable, id: string): Promise<PersonRow | null> {
  return (await getPersons(db, [id])).get(id) ?? null;
}

export async function getPersons(db: Queryable, ids: readonly string[]): Promise<Map<string, PersonRow>> {
  if (ids.length === 0) return new Map();
  const res = await db.query<RawPerson>(
    'select id, golden, conflicts, restricted, merged_into, created_at, updated_at from person where id = any($1::text[])',
    [ids],
  );
  return new Map(res.rows.map((r) => [r.id, fromRawPerson(r)]));
}

/** Persons whose linked records disagree, most recently changed first (partial index). */
export async function personsWithConflicts(db: Queryable, limit: number): Promise<PersonRow[]> {
  const res = await db.query<RawPerson>(
    `select id, golden, conflicts, restricted, merged_into, created_at, updated_at from person
      where has_conflicts order by updated_at desc limit $1`,
    [limit],
  );
  return res.rows.map(fromRawPerson);
}

export interface GoldenRow {
  id: string;
  golden: Record<string, unknown>;
  conflicts: unknown[];
  restricted: boolean;
}

/** Saves golden demographics of many persons in one statement. */
export async function saveGoldens(db: Queryable, rows: readonly GoldenRow[], now: string): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `update person p set golden = x.g::jsonb, conflicts = x.c::jsonb, has_conflicts = jsonb_array_length(x.c::jsonb) > 0,
            restricted = x.r, updated_at = $5
       from unnest($1::text[], $2::text[], $3::text[], $4::bool[]) as x(id, g, c, r)
      where p.id = x.id`,
    [
      rows.map((r) => r.id),
      rows.map((r) => JSON.stringify(r.golden)),
      rows.map((r) => JSON.stringify(r.conflicts)),
      rows.map((r) => r.restricted),
      now,
    ],
  );
}

/** Creates many persons with their golden demographics in one statement (bulk loads; ids must be free). */
export async function insertPersons(db: Queryable, rows: readonly GoldenRow[], now: string): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `insert into person (id, golden, conflicts, has_conflicts, restricted, created_at, updated_at)
     select x.id, x.g::jsonb, x.c::jsonb, jsonb_array_length(x.c::jsonb) > 0, x.r, $5, $5
       from unnest($1::text[], $2::text[], $3::text[], $4::bool[]) as x(id, g, c, r)`,
    [
      rows.map((r) => r.id),
      rows.map((r) => JSON.stringify(r.golden)),
      rows.map((r) => JSON.stringify(r.conflicts)),
      rows.map((r) => r.restricted),
      now,
    ],
  );
}

export async function markPersonMerged(db: Queryable, id: string, into: string, now: string): Promise<void> {
  await db.query('update person set merged_into = $2, updated_at = $3 where id = $1', [id, into, now]);
}

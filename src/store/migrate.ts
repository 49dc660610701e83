import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IcrError } from '../shared/errors.ts';
import type { Db } from './db.ts';

/**
 * Numbered, forward-only SQL migrations in `src/store/migrations/NNNN_name.sql`.
 * They run under an advisory lock, and refuse to run when the list already applied is not a prefix
 * of the files on disk (a file renamed, removed or edited after it was applied).
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const LOCK_KEY = 7_151_2575; // arbitrary, fixed: "ICR" migrations

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  return files.map((file) => {
    const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!m) throw new IcrError('ICR_MIGRATION_MISMATCH', `Migration file name "${file}" is not NNNN_name.sql`);
    const sql = readFileSync(`${dir}/${file}`, 'utf8');
    return {
      version: Number(m[1]),
      name: m[2] as string,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    };
  });
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

async function ensureTable(db: Db): Promise<void> {
  await db.exec(`create table if not exists icr_migration (
    version integer primary key,
    name text not null,
    checksum text not null,
    applied_at timestamptz not null default now()
  )`);
}

async function applied(db: Db): Promise<AppliedRow[]> {
  const res = await db.query<AppliedRow>('select version, name, checksum from icr_migration order by version');
  return res.rows;
}

function checkPrefix(done: AppliedRow[], files: Migration[]): void {
  done.forEach((row, i) => {
    const file = files[i];
    if (!file || file.version !== row.version || file.name !== row.name) {
      throw new IcrError(
        'ICR_MIGRATION_MISMATCH',
        `Applied migration ${row.version}_${row.name} has no matching file at position ${i + 1}; refusing to migrate`,
      );
    }
    if (file.checksum !== row.checksum) {
      throw new IcrError(
        'ICR_MIGRATION_MISMATCH',
        `Migration ${row.version}_${row.name} was edited after it was applied; migrations are forward only`,
      );
    }
  });
}

/** Migrations not yet applied (after checking the applied list is a prefix of the files). */
export async function pendingMigrations(db: Db, files: Migration[] = loadMigrations()): Promise<Migration[]> {
  await ensureTable(db);
  const done = await applied(db);
  checkPrefix(done, files);
  return files.slice(done.length);
}

/** Applies pending migrations, each in its own transaction, under a session advisory lock. */
export async function migrate(db: Db, files: Migration[] = loadMigrations()): Promise<Migration[]> {
  return db.transaction(async (tx) => {
    // A transaction-scoped lock: held until this transaction ends, works on both drivers.
    await tx.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
    // A migration may take longer than a request's time budget (ICR_STATEMENT_TIMEOUT_MS).
    await tx.query('set local statement_timeout = 0');
    const todo = await pendingMigrations(tx, files);
    for (const m of todo) {
      await tx.exec(m.sql);
      await tx.query('insert into icr_migration (version, name, checksum) values ($1, $2, $3)', [
        m.version,
        m.name,
        m.checksum,
      ]);
    }
    return todo;
  });
}

/** True when every migration file has been applied (for /readyz). */
export async function migrationsUpToDate(db: Db): Promise<boolean> {
  const files = loadMigrations();
  const res = await db.query<{ n: number }>('select count(*)::int as n from icr_migration');
  return res.rows[0]?.n === files.length;
}

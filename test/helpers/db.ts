/**
 * A fresh, migrated database for one test: in-memory PGlite by default; with ICR_TEST_DATABASE_URL set,
 * a new schema in that PostgreSQL database (dropped on close).
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { openPostgres } from '../../src/store/pg-db.ts';
import { openPglite } from '../../src/store/pglite-db.ts';

export const testDatabaseUrl = process.env.ICR_TEST_DATABASE_URL;

export interface TestDb {
  db: Db;
  kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

export async function openTestDb(
  which: 'pglite' | 'postgres' = 'pglite',
  opts: { migrate?: boolean } = {},
): Promise<TestDb> {
  let db: Db;
  let drop: (() => Promise<void>) | undefined;
  if (which === 'postgres') {
    if (!testDatabaseUrl) throw new Error('ICR_TEST_DATABASE_URL is not set');
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = await openPostgres({ connectionString: testDatabaseUrl, max: 1 });
    await admin.exec(`create schema ${schema}`);
    await admin.close();
    db = await openPostgres({ connectionString: testDatabaseUrl, schema, max: 4 });
    drop = async () => {
      const a = await openPostgres({ connectionString: testDatabaseUrl, max: 1 });
      await a.exec(`drop schema ${schema} cascade`);
      await a.close();
    };
  } else {
    db = await openPglite();
  }
  if (opts.migrate !== false) await migrate(db);
  return {
    db,
    kind: which,
    async close() {
      await db.close();
      if (drop) await drop();
    },
  };
}

/** The databases storage tests run against: always PGlite, and PostgreSQL when configured. */
export const testDatabases: Array<'pglite' | 'postgres'> = testDatabaseUrl ? ['pglite', 'postgres'] : ['pglite'];

/**
 * The same database for a command under test that closes what it opens: `close()` does nothing, so the
 * test database stays open for the next command.
 */
export function borrowed(db: Db): Db {
  return {
    kind: db.kind,
    query: (text, values) => db.query(text, values),
    exec: (text) => db.exec(text),
    transaction: (fn) => db.transaction(fn),
    get inTransaction() {
      return db.inTransaction;
    },
    close: async () => {},
  };
}

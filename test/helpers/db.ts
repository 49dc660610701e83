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

/**
 * The databases storage tests run against: PGlite, and PostgreSQL when ICR_TEST_DATABASE_URL is set. CI runs
 * the suite twice (plain `npm test`, then against PostgreSQL) and sets ICR_TEST_DATABASES=postgres for the
 * second run, so that no test runs twice on PGlite.
 */
export const testDatabases: Array<'pglite' | 'postgres'> = chooseTestDatabases(process.env.ICR_TEST_DATABASES);

function chooseTestDatabases(wanted: string | undefined): Array<'pglite' | 'postgres'> {
  if (wanted === undefined || wanted.trim() === '') return testDatabaseUrl ? ['pglite', 'postgres'] : ['pglite'];
  const kinds = wanted.split(',').map((k) => k.trim());
  const chosen: Array<'pglite' | 'postgres'> = [];
  for (const k of kinds) {
    if (k !== 'pglite' && k !== 'postgres') {
      throw new Error(`ICR_TEST_DATABASES: "${k}" is neither pglite nor postgres (got "${wanted}")`);
    }
    if (k === 'postgres' && !testDatabaseUrl) {
      throw new Error('ICR_TEST_DATABASES names postgres, but ICR_TEST_DATABASE_URL is not set');
    }
    if (!chosen.includes(k)) chosen.push(k);
  }
  return chosen;
}

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

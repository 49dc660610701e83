import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { IcrError } from '../shared/errors.ts';
import type { Db } from './db.ts';
import { openPostgres } from './pg-db.ts';
import { openPglite } from './pglite-db.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite is an in-process database: two processes opening the same data directory would corrupt it.
 * A lock file holding the owner's pid makes a second opener fail with a clear message instead.
 */
function lockDataDir(dir: string): () => void {
  const lockFile = path.join(dir, 'openicr.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lockFile, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new IcrError(
          'ICR_DATABASE_UNAVAILABLE',
          `The embedded database in ${dir} is in use by process ${owner}. Stop that process first, or set DATABASE_URL to use PostgreSQL, which many processes can share.`,
        );
      }
      rmSync(lockFile, { force: true }); // stale lock from a process that is gone
    }
  }
  throw new IcrError('ICR_DATABASE_UNAVAILABLE', `Could not lock the embedded database in ${dir}`);
}

/**
 * Opens the configured database: PostgreSQL when DATABASE_URL is set, else PGlite in dataDir/pglite.
 * `statementTimeoutMs` (the server's, from ICR_STATEMENT_TIMEOUT_MS) bounds every statement on PostgreSQL;
 * PGlite runs on the server's own thread and cannot interrupt a statement (docs/limits.md).
 */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  opts: { statementTimeoutMs?: number } = {},
): Promise<Db> {
  if (config.databaseUrl) {
    return openPostgres({
      connectionString: config.databaseUrl,
      ...(opts.statementTimeoutMs ? { statementTimeoutMs: opts.statementTimeoutMs } : {}),
    });
  }
  const dir = path.join(config.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const unlock = lockDataDir(config.dataDir);
  let db: Db;
  try {
    db = await openPglite(dir);
  } catch (err) {
    unlock();
    throw err;
  }
  const close = db.close.bind(db);
  return Object.assign(db, {
    close: async () => {
      try {
        await close();
      } finally {
        unlock();
      }
    },
  });
}

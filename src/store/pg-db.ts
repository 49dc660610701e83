import pg from 'pg';
import { createHash } from 'node:crypto';
import { IcrError } from '../shared/errors.ts';
import type { Db, QueryOptions, QueryResult, SqlValue } from './db.ts';
import { encodeSqlArray, SqlArray } from './sql-array.ts';

// Return timestamps and numerics as text: the store formats FHIR instants itself, and PGlite and
// PostgreSQL then agree byte for byte.
// pg's own parser table; its TypeScript signature wants a TypeId enum, a plain OID is what it really takes.
const defaultParser = pg.types.getTypeParser as unknown as (oid: number, format: string) => (value: string) => unknown;

const types = {
  getTypeParser: (oid: number, format?: string): ((value: string) => unknown) => {
    // 1114 timestamp, 1184 timestamptz, 1700 numeric, 20 int8
    if (oid === 1114 || oid === 1184 || oid === 1700) return (v: string) => v;
    if (oid === 20) return (v: string) => Number(v);
    return defaultParser(oid, format ?? 'text');
  },
};

type PgConn = pg.Pool | pg.PoolClient;

const names = new Map<string, string>();

/** The prepared statement name of a fixed statement text (pg prepares it once per connection). */
function statementName(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `icr_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
    names.set(text, name);
  }
  return name;
}

class PgHandle implements Db {
  readonly kind = 'postgres' as const;
  readonly inTransaction: boolean;
  readonly #pool: pg.Pool;
  readonly #conn: PgConn;

  constructor(pool: pg.Pool, conn: PgConn, inTransaction: boolean) {
    this.#pool = pool;
    this.#conn = conn;
    this.inTransaction = inTransaction;
  }

  async query<R = Record<string, unknown>>(
    text: string,
    values?: readonly SqlValue[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>> {
    const params = values?.map((v) => (v instanceof SqlArray ? encodeSqlArray(v) : v));
    try {
      const res = await this.#conn.query({
        text,
        values: params as unknown[] | undefined,
        types,
        ...(options?.prepare ? { name: statementName(text) } : {}),
      });
      return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
    } catch (err) {
      throw timedOut(err);
    }
  }

  async exec(text: string): Promise<void> {
    try {
      await this.#conn.query(text);
    } catch (err) {
      throw timedOut(err);
    }
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(new PgHandle(this.#pool, client, true));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (!this.inTransaction) await this.#pool.end();
  }
}

/** PostgreSQL's query_canceled, raised when `statement_timeout` cuts a statement short. */
const QUERY_CANCELED = '57014';

/** A statement cut short by `statement_timeout` is the request's time budget running out (503), not a fault. */
function timedOut(err: unknown): unknown {
  if ((err as { code?: unknown } | null)?.code !== QUERY_CANCELED) return err;
  return new IcrError('ICR_REQUEST_TIMEOUT', 'The database did not answer within the time budget', { cause: err });
}

export interface PgOptions {
  connectionString: string;
  /** Schema to put first on the search_path (tests use one schema each). */
  schema?: string;
  max?: number;
  /** `statement_timeout` of every connection, in milliseconds; 0 or absent: none. */
  statementTimeoutMs?: number;
}

export async function openPostgres(opts: PgOptions): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // Idle clients can error when the server restarts; the pool replaces them. Without a listener the
  // process would crash.
  pool.on('error', () => undefined);
  const handle = new PgHandle(pool, pool, false);
  await handle.query('select 1');
  return handle;
}

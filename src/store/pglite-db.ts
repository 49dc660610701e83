import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, QueryResult, SqlValue } from './db.ts';
import { SqlArray } from './sql-array.ts';

type PgliteLike = Pick<PGlite, 'query' | 'exec'> | Transaction;

class PgliteHandle implements Db {
  readonly kind = 'pglite' as const;
  readonly inTransaction: boolean;
  readonly #root: PGlite;
  readonly #conn: PgliteLike;

  constructor(root: PGlite, conn: PgliteLike, inTransaction: boolean) {
    this.#root = root;
    this.#conn = conn;
    this.inTransaction = inTransaction;
  }

  async query<R = Record<string, unknown>>(text: string, values?: readonly SqlValue[]): Promise<QueryResult<R>> {
    const params = values?.map((v) => (v instanceof SqlArray ? v.values : v));
    const res = await this.#conn.query<R>(text, params as unknown[] | undefined);
    return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
  }

  async exec(text: string): Promise<void> {
    await this.#conn.exec(text);
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    return this.#root.transaction((tx) => fn(new PgliteHandle(this.#root, tx, true)));
  }

  async close(): Promise<void> {
    if (!this.inTransaction && !this.#root.closed) await this.#root.close();
  }
}

/** Opens PGlite on disk at `dataDir`, or in memory when `dataDir` is undefined. */
export async function openPglite(dataDir?: string): Promise<Db> {
  // Same text forms as the pg driver (see pg-db.ts): timestamps and numerics as text, int8 as number.
  const asText = (v: string) => v;
  const pg = await PGlite.create(dataDir, {
    parsers: { 1114: asText, 1184: asText, 1700: asText, 20: (v: string) => Number(v) },
  });
  return new PgliteHandle(pg, pg, false);
}

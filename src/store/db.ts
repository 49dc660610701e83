/**
 * The one small database interface. Two drivers implement it (PGlite embedded, PostgreSQL via `pg`);
 * the SQL is the same on both. Only code under `src/store/` (and the MPI/queue stores it hands a Db to)
 * writes SQL.
 */
import type { SqlArray } from './sql-array.ts';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export type SqlValue = string | number | boolean | null | Date | bigint | readonly unknown[] | Uint8Array | SqlArray;

export interface QueryOptions {
  /**
   * The text is one of a few fixed statements run again and again (the set writes): PostgreSQL parses
   * and plans it once per connection (a named prepared statement). Never for text built per request.
   */
  prepare?: boolean;
}

export interface Queryable {
  query<R = Record<string, unknown>>(
    text: string,
    values?: readonly SqlValue[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>>;
  /** Runs several `;`-separated statements with no parameters (migrations). */
  exec(text: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs `fn` in one transaction: commit when it resolves, roll back when it throws.
   * Called inside a transaction it joins the outer one (no nested transaction).
   */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /** True when this handle is already inside a transaction. */
  readonly inTransaction: boolean;
  close(): Promise<void>;
}

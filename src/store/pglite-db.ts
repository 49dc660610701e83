import { parse, PGlite, protocol, type Transaction } from '@electric-sql/pglite';
import type { Db, QueryOptions, QueryResult, SqlValue } from './db.ts';
import { SqlArray } from './sql-array.ts';

type PgliteLike = Pick<PGlite, 'query' | 'exec'> | Transaction;

/** A named prepared statement of one PGlite: its name and its parameters' type OIDs. */
interface Statement {
  name: string;
  types: number[];
}

/**
 * The named statements of each PGlite (by statement text). PGlite's `query` parses, analyses and plans
 * every statement afresh, unnamed; in WebAssembly on the server's thread, planning the set writes' and the
 * MPI's longer statements costs several milliseconds each time (ADR 0053). A `{ prepare: true }` statement
 * is parsed once and kept, as the `pg` driver does on PostgreSQL; PostgreSQL's plan cache then decides
 * between custom and generic plans as it does there.
 */
const statements = new WeakMap<PGlite, Map<string, Statement>>();

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

  async query<R = Record<string, unknown>>(
    text: string,
    values?: readonly SqlValue[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>> {
    const params = values?.map((v) => (v instanceof SqlArray ? v.values : v));
    if (options?.prepare) return this.#prepared<R>(text, params ?? []);
    const res = await this.#conn.query<R>(text, params as unknown[] | undefined);
    return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
  }

  /**
   * A fixed statement through the extended protocol with a named statement (parsed once per PGlite):
   * bind, describe, execute, sync — what `PGlite.query` does after its own parse, under the same locks.
   */
  async #prepared<R>(text: string, params: readonly unknown[]): Promise<QueryResult<R>> {
    const root = this.#root;
    const send = (message: Uint8Array) => root.execProtocolStream(message, { syncToFs: false });
    const run = () =>
      root._runExclusiveQuery(async () => {
        let known = statements.get(root);
        if (!known) statements.set(root, (known = new Map<string, Statement>()));
        const messages: Awaited<ReturnType<typeof send>> = [];
        try {
          let st = known.get(text);
          if (!st) {
            const name = `icr_${known.size + 1}`;
            await send(protocol.serialize.parse({ name, text }));
            const types = parse.parseDescribeStatementResults(
              await send(protocol.serialize.describe({ type: 'S', name })),
            );
            st = { name, types };
            known.set(text, st);
          }
          const { types } = st;
          const bound = params.map((v, i) => {
            if (v === null || v === undefined) return null;
            const serialise = root.serializers[types[i] ?? 0];
            // As PGlite's own query: its serialiser for the parameter's type, else the value's text.
            return serialise ? serialise(v) : (v as { toString(): string }).toString();
          });
          messages.push(...(await send(protocol.serialize.bind({ statement: st.name, values: bound }))));
          messages.push(...(await send(protocol.serialize.describe({ type: 'P' }))));
          messages.push(...(await send(protocol.serialize.execute({}))));
        } finally {
          messages.push(...(await send(protocol.serialize.sync())));
        }
        const res = parse.parseResults(messages, root.parsers)[0];
        const rows = (res?.rows ?? []) as R[];
        return { rows, rowCount: res?.affectedRows ?? rows.length };
      });
    if (this.inTransaction) return run();
    // Outside a transaction, as `PGlite.query`: not inside another caller's transaction, and synced to disk.
    const out = await root._runExclusiveTransaction(run);
    await root.syncToFs();
    return out;
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

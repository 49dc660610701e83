/**
 * Bulk linking for a county's first load (issue 13, ADR 0054). Per record, the normal write path reads the
 * candidates from PostgreSQL (`readCandidates`: about 110 `person_block` rows and 56 `person_link` records at
 * 1,000,000 persons) under advisory locks on every key. A bulk link instead:
 *
 * 1. holds the MPI exclusively for the whole load (`lockMpiExclusive`, in a transaction of its own on
 *    PostgreSQL: every other MPI writer — assignment, steward decisions, merges, PDS — takes the same lock
 *    shared, so in-flight writers finish first and new ones wait until the load ends);
 * 2. reads every link, blocking key and not-same decision once into a `BulkIndex`;
 * 3. assigns each set with the SAME `assignPatients` (the same rules, guards, NHS-number semantics, reviews
 *    and set-based writes), its candidate reads answered from the index, without the per-key locks; each set
 *    commits on its own (all of it or nothing), and the index learns each link and key as it is written.
 *
 * A set that fails leaves nothing of itself in the database; the index may then hold rows that were rolled
 * back, so it is read again (in the next set's transaction) before that set reads it. Sets are assigned one
 * at a time: the index holds the writes of the set in flight, which no other transaction could see.
 */
import type { FhirResource } from '../../fhir/types.ts';
import type { Db, Queryable } from '../../store/db.ts';
import { lockMpiExclusive } from '../../store/mpi-store.ts';
import { blocksOf, notSameDecisions, streamBlocks, streamLinks } from '../../store/mpi-store-bulk.ts';
import { type Assignment, assignPatients, type MpiContext } from './assign.ts';
import { BulkIndex } from './bulk-index.ts';

type Patient = FhirResource & { id: string };

export interface BulkLinkStats {
  /** Links and blocking-key rows read into the index, and the seconds it took. */
  links: number;
  keys: number;
  buildSeconds: number;
  /** Sets assigned and records in them. */
  sets: number;
  records: number;
}

export interface BulkLinker {
  /** Assigns one set of source Patients in its own transaction (all of it or nothing). */
  link(patients: readonly Patient[], by?: string): Promise<Map<string, Assignment>>;
  /**
   * The context for `assignPatients` inside a transaction the caller owns (a set write of the records
   * service, `createServices(db, { mpiContext: () => linker.ctx })`): one transaction at a time, and
   * `committed()` once it has committed. (Without it the index is read again before the next transaction.)
   */
  readonly ctx: MpiContext;
  committed(): void;
  readonly stats: BulkLinkStats;
}

/**
 * Runs `fn` with a bulk linker holding the MPI exclusively; the lock is released when `fn` ends. On PGlite
 * (embedded: one process, one connection) no other process can write, and the lock is not taken.
 */
export async function withBulkLink<T>(
  db: Db,
  ctx: MpiContext,
  fn: (linker: BulkLinker) => Promise<T>,
  opts: { page?: number } = {},
): Promise<T> {
  if (db.inTransaction) throw new Error('A bulk link runs its own transactions: call it outside a transaction');
  const run = async () => fn(await openBulkLinker(db, ctx, opts.page ?? 50_000));
  if (db.kind !== 'postgres') return run();
  return db.transaction(async (hold) => {
    await lockMpiExclusive(hold);
    return run();
  });
}

async function openBulkLinker(db: Db, base: MpiContext, page: number): Promise<BulkLinker> {
  const stats: BulkLinkStats = { links: 0, keys: 0, buildSeconds: 0, sets: 0, records: 0 };
  let index = new BulkIndex();
  const build = async (q: Queryable) => {
    const t = performance.now();
    index = new BulkIndex();
    stats.links = await streamLinks(q, page, (l) => index.addLink(l));
    index.markOrdered();
    stats.keys = await streamBlocks(q, page * 4, (k, p) => index.addKey(k, p));
    for (const [a, b] of await notSameDecisions(q)) index.addNotSame(a, b);
    stats.buildSeconds += (performance.now() - t) / 1000;
  };
  await build(db);

  /** The keys the records of the set in flight held before it (a refreshed record's lost keys leave the index). */
  let before = new Map<string, string[]>();
  /** The transaction whose writes the index holds but that has not been reported committed. */
  let uncommitted: Queryable | undefined;
  // The index learns each write as the assignment makes it, as a later statement of the same transaction would
  // see it. A transaction not reported committed before another one assigns (it failed, or was retried after a
  // deadlock) may have been rolled back: the index is then read again, in the new transaction, before it reads.
  const ctx: MpiContext = {
    ...base,
    reads: {
      candidates: async (_tx, q) => index.candidates(q),
      nhsOfPersons: async (_tx, ids) => index.nhsOfPersons(ids),
      nhsOfPersonsNow: (ids) => index.nhsOfPersons(ids),
    },
    exclusive: {
      async before(tx, ids) {
        if (uncommitted !== undefined && uncommitted !== tx) await build(tx);
        uncommitted = tx;
        before = new Map();
        for (const b of await blocksOf(tx, ids)) before.set(b.patientId, [...(before.get(b.patientId) ?? []), b.key]);
      },
      refreshed(rows) {
        for (const c of rows) {
          index.updateRecord(c.patientId, c.record);
          for (const k of before.get(c.patientId) ?? []) index.removeKey(k, c.patientId);
          for (const k of c.blocks) index.addKey(k, c.patientId);
        }
      },
      linked(rows) {
        for (const l of rows) {
          index.addLink({ patientId: l.patientId, personId: l.personId, record: l.record, retired: false });
          for (const k of l.blocks) index.addKey(k, l.patientId);
        }
      },
    },
  };
  const linker: BulkLinker = {
    ctx,
    stats,
    committed() {
      uncommitted = undefined;
    },
    async link(patients, by = 'system:mpi') {
      const out = await db.transaction((tx) => assignPatients(tx, ctx, patients, by));
      linker.committed();
      stats.sets++;
      stats.records += patients.length;
      return out;
    },
  };
  return linker;
}

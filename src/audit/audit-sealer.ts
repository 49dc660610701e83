/**
 * The sealer links committed audit entries into the hash chain, in order of their sequence numbers as
 * they commit, in short transactions of its own (ADR 0019). One sealer runs at a time across processes
 * (a transaction-scoped advisory lock; a second one skips); the server runs it every
 * ICR_AUDIT_SEAL_INTERVAL_MS and `icr audit verify` runs it before checking.
 */
import type { Db } from '../store/db.ts';
import { SYSTEM_ACTOR } from '../shared/actor.ts';
import {
  appendChain,
  chainHead,
  type ChainLink,
  noteAsyncEpoch,
  pendingEntries,
  tryLockSealer,
} from '../store/audit-store.ts';
import { chainHash, GENESIS_HASH } from './audit-chain.ts';
import { createAuditLog } from './audit-log.ts';

const BATCH = 5000;

/** Seals one batch; returns how many entries it linked (0 when none waited or another sealer holds the lock). */
export async function sealBatch(db: Db, batch = BATCH): Promise<number> {
  return db.transaction(async (tx) => {
    if (!(await tryLockSealer(tx))) return 0;
    const pending = await pendingEntries(tx, batch);
    if (pending.length === 0) return 0;
    const head = await chainHead(tx);
    let prev = head?.chainHash ?? GENESIS_HASH;
    let position = head?.position ?? 0;
    const links: ChainLink[] = pending.map((p) => {
      position += 1;
      const link = { position, seq: p.seq, contentHash: p.contentHash, prevHash: prev, chainHash: '' };
      link.chainHash = chainHash(prev, position, p.seq, p.contentHash);
      prev = link.chainHash;
      return link;
    });
    await appendChain(tx, links);
    return links.length;
  });
}

/** Seals until nothing waits; returns how many entries were linked. */
export async function sealAll(db: Db): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await sealBatch(db);
    total += n;
    if (n < BATCH) return total;
  }
}

/**
 * With reads' entries committed asynchronously (ADR 0049): notes this PostgreSQL server start, and when
 * PostgreSQL has restarted since the last one noted, writes a durable entry saying that entries of reads
 * answered just before that restart may be missing (a crash loses at most 3 × wal_writer_delay of them; a
 * clean shutdown none). Returns whether it wrote one.
 */
export async function checkAsyncEpoch(db: Db): Promise<boolean> {
  const restart = await noteAsyncEpoch(db);
  if (!restart) return false;
  await createAuditLog().record(db, {
    action: 'audit-async-restart',
    outcome: 'allowed',
    actor: SYSTEM_ACTOR,
    what: `PostgreSQL started at ${restart.current}; entries of reads answered up to 3 × wal_writer_delay before it stopped (it had started at ${restart.previous}) may be missing: reads' entries were committed asynchronously (ICR_AUDIT_READ_COMMIT=async)`,
  });
  return true;
}

/**
 * Runs the sealer every `intervalMs` until stopped; errors are reported and the next run tries again.
 * `asyncReads`: reads' entries are committed asynchronously; each run first checks for a PostgreSQL restart.
 */
export function startSealer(
  db: Db,
  intervalMs: number,
  onError: (err: unknown) => void,
  opts: { asyncReads?: boolean } = {},
): { stop(): Promise<void> } {
  let running: Promise<unknown> = opts.asyncReads ? checkAsyncEpoch(db).catch(onError) : Promise.resolve();
  let stopped = false;
  const timer = setInterval(() => {
    running = running.then(async () => {
      if (stopped) return;
      if (opts.asyncReads) await checkAsyncEpoch(db).catch(onError);
      await sealAll(db).catch(onError);
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

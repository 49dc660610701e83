/**
 * The sealer links committed audit entries into the hash chain, in order of their sequence numbers as
 * they commit, in short transactions of its own (ADR 0019). One sealer runs at a time across processes
 * (a transaction-scoped advisory lock; a second one skips); the server runs it every
 * ICR_AUDIT_SEAL_INTERVAL_MS and `icr audit verify` runs it before checking.
 */
import type { Db } from '../store/db.ts';
import { appendChain, chainHead, type ChainLink, pendingEntries, tryLockSealer } from '../store/audit-store.ts';
import { chainHash, GENESIS_HASH } from './audit-chain.ts';

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

/** Runs the sealer every `intervalMs` until stopped; errors are reported and the next run tries again. */
export function startSealer(db: Db, intervalMs: number, onError: (err: unknown) => void): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const timer = setInterval(() => {
    running = running.then(() => (stopped ? 0 : sealAll(db).catch(onError)));
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

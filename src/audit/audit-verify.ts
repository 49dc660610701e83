/**
 * `icr audit verify`: walks the chain in order and recomputes every hash, so an edited, deleted,
 * reordered or inserted entry is found and the first one named (ADR 0019). Read-only apart from
 * sealing what waits first (`sealFirst`).
 */
import type { Db } from '../store/db.ts';
import {
  chainHashAt,
  chainLength,
  chainPage,
  type ChainRow,
  firstUnchainedEntry,
  pendingCount,
  pendingWithoutEntry,
  positionsWithContentHash,
} from '../store/audit-store.ts';
import { chainHash, contentHash, GENESIS_HASH } from './audit-chain.ts';
import { sealAll } from './audit-sealer.ts';

export type TamperKind = 'altered' | 'deleted' | 'reordered' | 'unchained' | 'chain-altered';

export interface VerifyProblem {
  kind: TamperKind;
  /** Chain position where the break was found. */
  position: number | null;
  /** The entry's sequence number and id, when known. */
  seq: number | null;
  entryId: string | null;
  message: string;
}

export type VerifyResult =
  | { status: 'intact'; checked: number; head: { position: number; hash: string } | null; pending: number }
  | { status: 'tampered'; checked: number; problem: VerifyProblem };

export interface VerifyOptions {
  /** Seal waiting entries first (default true), so that all committed entries are checked. */
  sealFirst?: boolean;
  /** Called now and then with how many links were checked of how many. */
  progress?: (checked: number, total: number) => void;
  pageSize?: number;
  /** A head recorded earlier (`icr audit verify` prints it): that link must still be there, unchanged. */
  expectHead?: { position: number; hash: string };
}

function entryName(row: ChainRow): string {
  return row.entry ? `entry ${row.entry.id} (seq ${row.seq}, position ${row.position})` : `entry seq ${row.seq}`;
}

/** Checks one link against the previous hash; null when it holds. */
async function checkLink(db: Db, row: ChainRow, expectedPosition: number, prev: string): Promise<VerifyProblem | null> {
  const at = { position: row.position, seq: row.seq, entryId: row.entry?.id ?? null };
  if (row.position !== expectedPosition) {
    return {
      kind: 'deleted',
      ...at,
      position: expectedPosition,
      message: `chain position ${expectedPosition} is missing (deleted); the next link is position ${row.position} (${entryName(row)})`,
    };
  }
  if (row.prevHash !== prev || row.chainHash !== chainHash(prev, row.position, row.seq, row.contentHash)) {
    return { kind: 'chain-altered', ...at, message: `the chain link at position ${row.position} was altered` };
  }
  if (!row.entry) {
    return {
      kind: 'deleted',
      ...at,
      message: `entry seq ${row.seq}, sealed at position ${row.position}, was deleted`,
    };
  }
  const recomputed = contentHash(row.entry);
  if (recomputed !== row.contentHash || row.entry.contentHash !== row.contentHash) {
    const elsewhere = (await positionsWithContentHash(db, recomputed)).filter((p) => p !== row.position);
    if (elsewhere.length > 0) {
      return {
        kind: 'reordered',
        ...at,
        message: `${entryName(row)} holds the content sealed at position ${elsewhere.join(', ')}: entries were swapped or reordered`,
      };
    }
    return { kind: 'altered', ...at, message: `${entryName(row)} was altered: its content no longer matches its seal` };
  }
  return null;
}

export async function verifyAuditTrail(db: Db, opts: VerifyOptions = {}): Promise<VerifyResult> {
  if (opts.sealFirst ?? true) await sealAll(db);
  const pageSize = opts.pageSize ?? 5000;
  const total = await chainLength(db);
  let prev = GENESIS_HASH;
  let position = 0;
  let checked = 0;
  for (;;) {
    const page = await chainPage(db, position, pageSize);
    for (const row of page) {
      const problem = await checkLink(db, row, position + 1, prev);
      if (problem) return { status: 'tampered', checked, problem };
      prev = row.chainHash;
      position = row.position;
      checked += 1;
    }
    opts.progress?.(checked, total);
    if (page.length < pageSize) break;
  }
  const gone = await pendingWithoutEntry(db);
  if (gone !== null) {
    return {
      status: 'tampered',
      checked,
      problem: {
        kind: 'deleted',
        position: null,
        seq: gone,
        entryId: null,
        message: `entry seq ${gone} was deleted before it was sealed`,
      },
    };
  }
  const stray = await firstUnchainedEntry(db);
  if (stray) {
    return {
      status: 'tampered',
      checked,
      problem: {
        kind: 'unchained',
        position: null,
        seq: stray.seq,
        entryId: stray.id,
        message: `entry ${stray.id} (seq ${stray.seq}) is in no chain link and not waiting to be sealed: it was inserted around the trail or its seal was removed`,
      },
    };
  }
  if (opts.expectHead) {
    const { position: p, hash } = opts.expectHead;
    const found = await chainHashAt(db, p);
    if (found !== hash) {
      return {
        status: 'tampered',
        checked,
        problem: {
          kind: found === null ? 'deleted' : 'chain-altered',
          position: p,
          seq: null,
          entryId: null,
          message:
            found === null
              ? `the recorded head, position ${p}, is no longer in the chain: the newest entries were cut off`
              : `the link at the recorded head, position ${p}, no longer has the recorded hash`,
        },
      };
    }
  }
  return {
    status: 'intact',
    checked,
    head: checked > 0 ? { position, hash: prev } : null,
    pending: await pendingCount(db),
  };
}

/**
 * The real `AuditLog`: turns an `AuditRecord` into a stored entry with its content hash, inserted in the
 * caller's transaction (a write and its entry commit together; a read's entry commits before the
 * response). Linking into the chain is the sealer's job (audit-sealer.ts), so writers share no row.
 */
import type { AuditEntryRow } from '../store/audit-store.ts';
import { insertAuditEntries, insertAuditEntry } from '../store/audit-store.ts';
import type { Db } from '../store/db.ts';
import type { AuditLog, AuditRecord } from './audit-record.ts';
import { contentHash, isoMicros } from './audit-chain.ts';
import { entryId } from './entry-id.ts';

/**
 * How a read's entry is committed before the answer leaves (ICR_AUDIT_READ_COMMIT; ADR 0049):
 * `durable` (default) waits for the disk flush; `async` waits for the commit only, its WAL flushed within
 * 3 × `wal_writer_delay`, so a PostgreSQL or machine crash in that window can lose entries of reads already
 * answered. Writes' entries always commit with the write.
 */
export type ReadCommit = 'durable' | 'async';

export interface AuditLogOptions {
  now?: () => Date;
  /** The entry's id from its time (default: a time-ordered UUID, `entryId`). */
  newId?: (at: Date) => string;
  readCommit?: ReadCommit;
  /** Most group inserts committing at once per database handle (default 4; benches). */
  maxFlushes?: number;
  /**
   * Fewest waiting entries for which a group insert starts while another is still committing (default 8;
   * tests and benches). Fewer wait for the insert in flight and go together in the next one.
   */
  minExtraGroup?: number;
}

/** Longest text kept in a free-text field (what was asked for, the stated reason). */
const MAX_TEXT = 2000;

function clip(s: string | null | undefined): string | null {
  if (s === undefined || s === null) return null;
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s;
}

/** The stored form of a record (no I/O): every field the entry's hash covers. */
export function entryOf(rec: AuditRecord, id: string, at: Date): AuditEntryRow {
  const a = rec.actor;
  const base: Omit<AuditEntryRow, 'contentHash'> = {
    id,
    recordedAt: isoMicros(at),
    action: rec.action,
    outcome: rec.outcome,
    actorKind: a.kind,
    actorId: a.kind === 'user' ? a.userId : a.systemId,
    actorName: a.kind === 'user' ? (a.displayName ?? null) : null,
    orgOds: a.orgOds ?? null,
    role: a.kind === 'user' ? a.role : null,
    channel: a.via?.channel ?? null,
    requestId: a.via?.requestId ?? null,
    patientId: rec.patientId ?? null,
    personId: rec.personId ?? null,
    what: clip(rec.what) ?? '',
    returned: rec.returned ?? null,
    categories: rec.categories ? [...rec.categories] : null,
    basis: rec.basis ?? null,
    reason: clip(rec.reason),
    errorCode: rec.errorCode ?? null,
    clientId: (a.kind === 'user' ? a.limits?.clientId : a.clientId) ?? null,
  };
  return { ...base, contentHash: contentHash(base) };
}

/** Most group inserts in flight at once per database handle (each holds one pooled connection). */
const MAX_FLUSHES = 4;
/** Most entries in one group insert. */
const MAX_GROUP = 500;
/** Fewest waiting entries that open a further group insert while one is committing (ADR 0056). */
const MIN_EXTRA_GROUP = 8;

/**
 * Group commit for entries written outside a transaction (reads): requests that arrive while earlier
 * inserts are committing go into the next insert together, one statement and one commit for the group.
 * Each request still waits until its own entry has committed, so the response never precedes its entry.
 */
class EntryGroups {
  readonly #db: Db;
  readonly #async: boolean;
  #queue: Array<{ row: AuditEntryRow; done: (err?: Error) => void }> = [];
  #inFlight = 0;

  readonly #maxFlushes: number;
  readonly #minExtraGroup: number;

  constructor(db: Db, readCommit: ReadCommit, maxFlushes: number, minExtraGroup: number) {
    this.#db = db;
    this.#async = readCommit === 'async';
    this.#maxFlushes = maxFlushes;
    this.#minExtraGroup = minExtraGroup;
  }

  add(row: AuditEntryRow): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ row, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.#pump();
    });
  }

  #pump(): void {
    // The first insert starts at once (a lone request never waits for a timer or for others). While one is
    // committing, a further one starts only for a group worth its own statement and commit: each costs a
    // round trip and a commit's CPU whatever its size, so a few entries wait for the next group instead
    // (ADR 0056). With many writers (or a slow flush) the queue fills and further inserts start as before.
    while (
      this.#inFlight < this.#maxFlushes &&
      this.#queue.length > 0 &&
      (this.#inFlight === 0 || this.#queue.length >= this.#minExtraGroup)
    ) {
      const group = this.#queue.splice(0, MAX_GROUP);
      this.#inFlight += 1;
      insertAuditEntries(
        this.#db,
        group.map((g) => g.row),
        { asynchronousCommit: this.#async },
      ).then(
        () => this.#settle(group),
        (err: unknown) => this.#settle(group, err instanceof Error ? err : new Error('audit insert failed')),
      );
    }
  }

  #settle(group: ReadonlyArray<{ done: (err?: Error) => void }>, err?: Error): void {
    this.#inFlight -= 1;
    for (const g of group) g.done(err);
    this.#pump();
  }
}

export function createAuditLog(opts: AuditLogOptions = {}): AuditLog {
  const now = opts.now ?? (() => new Date());
  const newId = opts.newId ?? entryId;
  const readCommit = opts.readCommit ?? 'durable';
  const groups = new WeakMap<Db, EntryGroups>();
  return {
    async record(db, rec) {
      const at = now();
      const row = entryOf(rec, newId(at), at);
      // In a write's transaction the entry commits with the write; otherwise it joins a group commit.
      if (db.inTransaction) return insertAuditEntry(db, row);
      let g = groups.get(db);
      if (!g) {
        g = new EntryGroups(db, readCommit, opts.maxFlushes ?? MAX_FLUSHES, opts.minExtraGroup ?? MIN_EXTRA_GROUP);
        groups.set(db, g);
      }
      return g.add(row);
    },
  };
}

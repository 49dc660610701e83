/**
 * The real `AuditLog`: turns an `AuditRecord` into a stored entry with its content hash, inserted in the
 * caller's transaction (a write and its entry commit together; a read's entry commits before the
 * response). Linking into the chain is the sealer's job (audit-sealer.ts), so writers share no row.
 */
import { randomUUID } from 'node:crypto';
import type { AuditEntryRow } from '../store/audit-store.ts';
import { insertAuditEntry } from '../store/audit-store.ts';
import type { AuditLog, AuditRecord } from './audit-record.ts';
import { contentHash, isoMicros } from './audit-chain.ts';

export interface AuditLogOptions {
  now?: () => Date;
  newId?: () => string;
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
  };
  return { ...base, contentHash: contentHash(base) };
}

export function createAuditLog(opts: AuditLogOptions = {}): AuditLog {
  const now = opts.now ?? (() => new Date());
  const newId = opts.newId ?? randomUUID;
  return {
    async record(db, rec) {
      await insertAuditEntry(db, entryOf(rec, newId(), now()));
    },
  };
}

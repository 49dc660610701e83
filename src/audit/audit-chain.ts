/**
 * The hashes of the audit trail (ADR 0019). Each entry's content hash covers every stored field; each
 * chain link's hash covers the previous link's hash, its own position, the entry's sequence number and
 * the entry's content hash. Changing one byte of an entry, removing one, or swapping two therefore breaks
 * the chain at that entry. No I/O here.
 */
import { createHash } from 'node:crypto';
import type { AuditEntryRow } from '../store/audit-store.ts';

/** The previous hash of the first link. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields an entry's content hash covers, in a fixed order. */
export function contentOf(e: Omit<AuditEntryRow, 'contentHash'>): string {
  // The SMART client (migration 0020) is covered when set; entries without one hash as they always did.
  const client = e.clientId === undefined || e.clientId === null ? [] : [e.clientId];
  return JSON.stringify([
    e.id,
    e.recordedAt,
    e.action,
    e.outcome,
    e.actorKind,
    e.actorId,
    e.actorName,
    e.orgOds,
    e.role,
    e.channel,
    e.requestId,
    e.patientId,
    e.personId,
    e.what,
    e.returned,
    e.categories,
    e.basis,
    e.reason,
    e.errorCode,
    ...client,
  ]);
}

export function contentHash(e: Omit<AuditEntryRow, 'contentHash'>): string {
  return createHash('sha256').update(contentOf(e)).digest('hex');
}

export function chainHash(prevHash: string, position: number, seq: number, entryHash: string): string {
  return createHash('sha256').update(`${prevHash}|${position}|${seq}|${entryHash}`).digest('hex');
}

/** `Date#toISOString` with microseconds, as PostgreSQL's timestamptz keeps them and the hash covers them. */
export function isoMicros(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

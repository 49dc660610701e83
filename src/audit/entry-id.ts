/**
 * Audit entry ids (the AuditEvent's id): UUID version 7 (RFC 9562), whose first 48 bits are the entry's time in
 * milliseconds and the other 74 bits random. Ids made later sort later, so each insert into the unique index on
 * `audit_entry.id` lands on its rightmost page, as the sequence's does, instead of on a random leaf page of an
 * index that grows with the whole trail: fewer pages read, and after each checkpoint one full-page image fewer
 * in the WAL per entry (ADR 0056). Entries made before keep their random (version 4) ids. No I/O here.
 */
import { randomFillSync } from 'node:crypto';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A version 7 UUID for an entry recorded at `at`. */
export function entryId(at: Date): string {
  const b = new Uint8Array(16);
  randomFillSync(b, 6, 10);
  const ms = at.getTime();
  // 48-bit big-endian milliseconds (beyond 32 bits: JavaScript's bit operators would truncate).
  const high = Math.floor(ms / 2 ** 32);
  const low = ms >>> 0;
  b[0] = (high >>> 8) & 0xff;
  b[1] = high & 0xff;
  b[2] = (low >>> 24) & 0xff;
  b[3] = (low >>> 16) & 0xff;
  b[4] = (low >>> 8) & 0xff;
  b[5] = low & 0xff;
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70; // version 7
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80; // variant 10
  let s = '';
  for (let i = 0; i < 16; i += 1) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[i] ?? 0] ?? '00';
  }
  return s;
}

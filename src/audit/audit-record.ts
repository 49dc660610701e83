/**
 * What the records service hands to the audit trail for every access and every refusal, on every
 * channel (DESIGN.md §7). The audit layer turns it into a hash-chained entry and, on the way out, into a
 * FHIR AuditEvent (IHE BALP). No I/O here.
 */
import type { Actor } from '../shared/actor.ts';
import type { Db } from '../store/db.ts';

export type AuditOutcome = 'allowed' | 'refused';

/** On what grounds clinical data was shown. */
export type AccessBasis =
  | 'relationship' // a legitimate relationship derived from the data
  | 'declared' // a relationship the user declared, with a reason
  | 'emergency' // break-glass, with a reason
  | 'own-organisation' // opted out: only the user's own organisation's contributions
  | 'not-clinical' // demographics, administration, audit: no relationship needed
  | 'none'; // refused, or nothing shown

export interface AuditRecord {
  /**
   * Stable action code: read, vread, search, history, everything, summary, create, update, delete, import, bundle,
   * match, pix, mpi-*, access-declared, access-emergency, optout, optin, user-*, launch, sign-in,
   * audit-search, audit-report, …
   */
  action: string;
  outcome: AuditOutcome;
  actor: Actor;
  /** The Patient the request named, when it named one. */
  patientId?: string | null;
  /** The person (MPI) that Patient belongs to. */
  personId?: string | null;
  /** What was asked for: `Observation/123`, `Observation?patient=…&code=…`, `Patient/abc/$everything`. */
  what: string;
  /** How many resources were returned. */
  returned?: number;
  /** The categories shown (DESIGN.md §6 step 5). */
  categories?: readonly string[];
  basis?: AccessBasis;
  /** The reason the user stated (declared relationship or emergency access). */
  reason?: string;
  /** The IcrError code of a refusal. */
  errorCode?: string;
}

/** Where audit records go. `db` may be an open transaction: a write and its audit entry commit together. */
export interface AuditLog {
  record(db: Db, rec: AuditRecord): Promise<void>;
}

/** Audit switched off (benchmarks of the cost of audit only; never in a running server). */
export const noAudit: AuditLog = {
  async record() {},
};

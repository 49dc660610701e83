/**
 * Who is asking. Every call into the records service carries one; access rules and audit (a later
 * issue) decide from it. No I/O here.
 */

export interface UserActor {
  kind: 'user';
  userId: string;
  /** ODS code of the organisation the user is acting for. */
  orgOds: string;
  /** The one selected role (national RBAC style code where one exists, e.g. R8000). */
  role: string;
  displayName?: string;
  /** How the request arrived (for the audit trail); set by the channel. */
  via?: RequestVia;
  /**
   * What a SMART token narrows the user's own access to (docs/sign-in.md "SMART App Launch"): the access
   * rules apply these on top of the role profile's decisions, never instead of them. Absent: no narrowing.
   */
  limits?: ActorLimits;
}

/** The narrowing a SMART access token carries (src/auth/smart-rules.ts). */
export interface ActorLimits {
  /** The SMART app (or backend services client) the token was issued to. */
  clientId: string;
  /** The token grants reads and searches only (`*.rs` / `*.read`): every write is refused. */
  readOnly: boolean;
  /** Patient scope: the one person (MPI person id) the token may read; every other person is hidden. */
  personId?: string;
  /** The Patient of the launch context (for the audit trail and `patient` in the token response). */
  patientId?: string;
  /** A SMART backend services client (a registered host system acting as itself, no user). */
  backend?: boolean;
}

export interface SystemActor {
  kind: 'system';
  /** Registered system (host EPR, feed, or the product itself for internal jobs). */
  systemId: string;
  orgOds?: string;
  /** Set when the system is a feed writing with its credential: may only write, stamped with the feed. */
  feedId?: string;
  /**
   * The SMART backend services client (a registered host system's id) whose token this is, when the feed
   * writes with a `system/*.cu` token rather than the feed's own credential (ADR 0044).
   */
  clientId?: string;
  via?: RequestVia;
}

/** The channel a request came through and its request id, recorded with each audit entry. */
export interface RequestVia {
  channel: 'fhir' | 'api' | 'cli' | 'viewer' | 'mllp' | 'launch' | 'import' | 'system';
  requestId?: string;
}

export type Actor = UserActor | SystemActor;

/** The product acting on its own behalf (migrations, demo load, reindex). */
export const SYSTEM_ACTOR: SystemActor = { kind: 'system', systemId: 'openicr' };

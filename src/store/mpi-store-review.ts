/**
 * MPI persistence, part two: the append-only event log, the data stewards' review queue and manual
 * decisions about pairs of source records (migration 0003). Only SQL here.
 */
import type { Queryable } from './db.ts';

export const MPI_EVENT_KINDS = {
  create: 'create',
  link: 'link',
  unlink: 'unlink',
  merge: 'merge',
  decide: 'decide',
  review: 'review',
  verify: 'verify',
  golden: 'golden',
} as const;
export type MpiEventKind = (typeof MPI_EVENT_KINDS)[keyof typeof MPI_EVENT_KINDS];

export interface MpiEvent {
  id: number;
  at: string;
  kind: MpiEventKind;
  actor: string;
  reason: string | null;
  personId: string | null;
  otherPersonId: string | null;
  patientIds: string[];
  detail: Record<string, unknown>;
}

export type NewMpiEvent = Omit<MpiEvent, 'id' | 'at' | 'reason' | 'personId' | 'otherPersonId' | 'detail'> &
  Partial<Pick<MpiEvent, 'reason' | 'personId' | 'otherPersonId' | 'detail'>>;

function json<T>(v: T | string): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : v;
}
function iso(v: string | Date): string {
  return v instanceof Date ? v.toISOString() : new Date(v).toISOString();
}

export async function appendEvents(db: Queryable, events: readonly NewMpiEvent[], now: string): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `insert into mpi_event (at, kind, actor, reason, person_id, other_person_id, patient_ids, detail)
     select $1::timestamptz, k, a, r, p, o, array(select jsonb_array_elements_text(ids::jsonb)), d::jsonb
       from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) as x(k, a, r, p, o, ids, d)`,
    [
      now,
      events.map((e) => e.kind),
      events.map((e) => e.actor),
      events.map((e) => e.reason ?? null),
      events.map((e) => e.personId ?? null),
      events.map((e) => e.otherPersonId ?? null),
      events.map((e) => JSON.stringify(e.patientIds)),
      events.map((e) => JSON.stringify(e.detail ?? {})),
    ],
  );
}

interface RawEvent {
  id: number | string;
  at: string | Date;
  kind: MpiEventKind;
  actor: string;
  reason: string | null;
  person_id: string | null;
  other_person_id: string | null;
  patient_ids: string[];
  detail: Record<string, unknown> | string;
}

/** Events about a person (as either side) or any of its source records, oldest first. */
export async function eventsFor(
  db: Queryable,
  q: { personId?: string; patientIds?: readonly string[] },
): Promise<MpiEvent[]> {
  const res = await db.query<RawEvent>(
    `select id, at, kind, actor, reason, person_id, other_person_id, patient_ids, detail from mpi_event
      where person_id = $1 or other_person_id = $1 or patient_ids && $2::text[]
      order by id`,
    [q.personId ?? '', q.patientIds ?? []],
  );
  return res.rows.map((r) => ({
    id: Number(r.id),
    at: iso(r.at),
    kind: r.kind,
    actor: r.actor,
    reason: r.reason,
    personId: r.person_id,
    otherPersonId: r.other_person_id,
    patientIds: r.patient_ids,
    detail: json(r.detail),
  }));
}

// --- Review queue ---

export const REVIEW_STATUSES = { open: 'open', linked: 'linked', notSame: 'not-same', withdrawn: 'withdrawn' } as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[keyof typeof REVIEW_STATUSES];

export interface ReviewRow {
  id: string;
  patientId: string;
  candidateId: string;
  score: number;
  vector: unknown;
  ruleVersion: string;
  status: ReviewStatus;
  createdAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
  /** Why the pair is a review and not a link (guards, safety rules, `merge-persons`). */
  reasons: string[];
}

interface RawReview {
  id: string;
  patient_id: string;
  candidate_id: string;
  score: number;
  vector: unknown;
  rule_version: string;
  status: ReviewStatus;
  created_at: string | Date;
  decided_by: string | null;
  decided_at: string | Date | null;
  reason: string | null;
  reasons: string[] | null;
}

const REVIEW_COLUMNS =
  'id, patient_id, candidate_id, score, vector, rule_version, status, created_at, decided_by, decided_at, reason, reasons';

function fromRawReview(r: RawReview): ReviewRow {
  return {
    id: r.id,
    patientId: r.patient_id,
    candidateId: r.candidate_id,
    score: Number(r.score),
    vector: json(r.vector),
    ruleVersion: r.rule_version,
    status: r.status,
    createdAt: iso(r.created_at),
    decidedBy: r.decided_by,
    decidedAt: r.decided_at === null ? null : iso(r.decided_at),
    reason: r.reason,
    reasons: r.reasons ?? [],
  };
}

/** Opens reviews; a pair that already has an open review is left as it is. Returns the ids opened. */
export async function openReviews(
  db: Queryable,
  reviews: ReadonlyArray<{
    id: string;
    patientId: string;
    candidateId: string;
    score: number;
    vector: unknown;
    ruleVersion: string;
    reasons?: readonly string[];
  }>,
  now: string,
): Promise<string[]> {
  if (reviews.length === 0) return [];
  const res = await db.query<{ id: string }>(
    `insert into mpi_review (id, patient_id, candidate_id, score, vector, rule_version, created_at, reasons)
     select i, p, c, s, v::jsonb, rv, $7::timestamptz,
            coalesce(array(select jsonb_array_elements_text(rs::jsonb)), '{}')
       from unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::text[], $8::text[])
            as x(i, p, c, s, v, rv, rs)
     on conflict do nothing
     returning id`,
    [
      reviews.map((r) => r.id),
      reviews.map((r) => r.patientId),
      reviews.map((r) => r.candidateId),
      reviews.map((r) => r.score),
      reviews.map((r) => JSON.stringify(r.vector)),
      reviews.map((r) => r.ruleVersion),
      now,
      reviews.map((r) => JSON.stringify(r.reasons ?? [])),
    ],
  );
  return res.rows.map((r) => r.id);
}

export async function getReview(db: Queryable, id: string, forUpdate = false): Promise<ReviewRow | null> {
  const res = await db.query<RawReview>(
    `select ${REVIEW_COLUMNS} from mpi_review where id = $1${forUpdate ? ' for update' : ''}`,
    [id],
  );
  const r = res.rows[0];
  return r ? fromRawReview(r) : null;
}

export async function listReviews(
  db: Queryable,
  q: { status?: ReviewStatus; limit: number; offset?: number },
): Promise<ReviewRow[]> {
  const res = await db.query<RawReview>(
    `select ${REVIEW_COLUMNS} from mpi_review where status = $1 order by created_at, id limit $2 offset $3`,
    [q.status ?? 'open', q.limit, q.offset ?? 0],
  );
  return res.rows.map(fromRawReview);
}

export async function closeReview(
  db: Queryable,
  id: string,
  d: { status: Exclude<ReviewStatus, 'open'>; decidedBy: string; reason: string },
  now: string,
): Promise<void> {
  await db.query(
    `update mpi_review set status = $2, decided_by = $3, reason = $4, decided_at = $5 where id = $1 and status = 'open'`,
    [id, d.status, d.decidedBy, d.reason, now],
  );
}

/** Withdraws open reviews between these pairs of source records (a later decision settled them). */
export async function withdrawReviews(
  db: Queryable,
  pairs: ReadonlyArray<readonly [string, string]>,
  by: string,
  reason: string,
  now: string,
): Promise<void> {
  if (pairs.length === 0) return;
  await db.query(
    `update mpi_review r set status = 'withdrawn', decided_by = $3, reason = $4, decided_at = $5
       from unnest($1::text[], $2::text[]) as k(a, b)
      where r.status = 'open'
        and least(r.patient_id, r.candidate_id) = least(k.a, k.b)
        and greatest(r.patient_id, r.candidate_id) = greatest(k.a, k.b)`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1]), by, reason, now],
  );
}

// --- Manual decisions ---

export const PAIR_DECISIONS = { same: 'same', notSame: 'not-same' } as const;
export type PairDecision = (typeof PAIR_DECISIONS)[keyof typeof PAIR_DECISIONS];

export interface DecisionRow {
  patientA: string;
  patientB: string;
  decision: PairDecision;
  decidedBy: string;
  reason: string;
  at: string;
}

/** Records manual decisions (the latest decision about a pair replaces the earlier one). */
export async function putDecisions(
  db: Queryable,
  pairs: ReadonlyArray<readonly [string, string]>,
  d: { decision: PairDecision; decidedBy: string; reason: string },
  now: string,
): Promise<void> {
  const ordered = pairs
    .filter(([a, b]) => a !== b)
    .map(([a, b]): readonly [string, string] => (a < b ? [a, b] : [b, a]));
  if (ordered.length === 0) return;
  await db.query(
    `insert into mpi_decision (patient_a, patient_b, decision, decided_by, reason, at)
     select distinct a, b, $3, $4, $5, $6::timestamptz from unnest($1::text[], $2::text[]) as x(a, b)
     on conflict (patient_a, patient_b) do update set
       decision = excluded.decision, decided_by = excluded.decided_by, reason = excluded.reason, at = excluded.at`,
    [ordered.map((p) => p[0]), ordered.map((p) => p[1]), d.decision, d.decidedBy, d.reason, now],
  );
}

/** Manual decisions between any record in `left` and any record in `right`. */
export async function decisionsBetween(
  db: Queryable,
  left: readonly string[],
  right: readonly string[],
): Promise<DecisionRow[]> {
  if (left.length === 0 || right.length === 0) return [];
  const res = await db.query<{
    patient_a: string;
    patient_b: string;
    decision: PairDecision;
    decided_by: string;
    reason: string;
    at: string | Date;
  }>(
    `select patient_a, patient_b, decision, decided_by, reason, at from mpi_decision
      where (patient_a = any($1::text[]) and patient_b = any($2::text[]))
         or (patient_b = any($1::text[]) and patient_a = any($2::text[]))`,
    [left, right],
  );
  return res.rows.map((r) => ({
    patientA: r.patient_a,
    patientB: r.patient_b,
    decision: r.decision,
    decidedBy: r.decided_by,
    reason: r.reason,
    at: iso(r.at),
  }));
}

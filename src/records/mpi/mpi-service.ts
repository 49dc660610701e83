/**
 * MPI use cases for people and feeds: link, unlink, merge (HL7 A40 or by hand), "not the same person",
 * and the data stewards' review queue. Every operation is one transaction that moves the links, moves the
 * clinical rows with them (set-based), records a manual decision that automatic matching must respect,
 * appends an event (who, when, why) and refreshes the golden demographics of the persons involved.
 */
import type { Actor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import type { MatchRecord } from '../../mpi/types.ts';
import type { Db } from '../../store/db.ts';
import {
  LINK_KINDS,
  type LinkRow,
  linksFor,
  linksOfPerson,
  lockMpiShared,
  moveLinks,
  retireLink,
} from '../../store/mpi-store.ts';
import { getPerson, markPersonMerged, type PersonRow, personsWithConflicts } from '../../store/mpi-store-person.ts';
import { moveClinicalRows } from '../../store/mpi-store-move.ts';
import {
  appendEvents,
  closeReview,
  decisionsBetween,
  eventsFor,
  getReview,
  listReviews,
  type MpiEvent,
  putDecisions,
  type ReviewRow,
  type ReviewStatus,
  withdrawReviews,
} from '../../store/mpi-store-review.ts';
import { newPerson, refreshGolden, type MpiContext } from './assign.ts';

/** How an actor is named in MPI records (links, decisions, events). */
export function actorId(actor: Actor): string {
  return actor.kind === 'user' ? `user:${actor.userId}@${actor.orgOds}` : `system:${actor.systemId}`;
}

export interface ReviewItem {
  review: ReviewRow;
  /** The two source records side by side (normalised demographics) and their current persons. */
  left: { patientId: string; personId: string | null; record: MatchRecord | null };
  right: { patientId: string; personId: string | null; record: MatchRecord | null };
  /** The thresholds of the rules in force now (the review's own `ruleVersion` may be older). */
  rules: { version: string; link: number; review: number };
}

export interface PersonView {
  person: PersonRow;
  links: LinkRow[];
  events: MpiEvent[];
}

export type MergeVia = 'hl7-a40' | 'manual';

function requireReason(reason: string | undefined): string {
  const r = reason?.trim();
  if (!r) throw new IcrError('ICR_BAD_REQUEST', 'A reason is required for every manual MPI decision');
  return r;
}

export class MpiService {
  readonly #db: Db;

  /** A transaction of this service: first the MPI's shared lock (no bulk link in progress, ADR 0054). */
  #transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (tx) => {
      await lockMpiShared(tx);
      return fn(tx);
    });
  }
  readonly #ctx: MpiContext;

  constructor(deps: { db: Db; ctx: MpiContext }) {
    this.#db = deps.db;
    this.#ctx = deps.ctx;
  }

  #now(): string {
    return this.#ctx.now().toISOString();
  }

  async #link(tx: Db, patientId: string): Promise<LinkRow> {
    const link = (await linksFor(tx, [patientId])).get(patientId);
    if (!link) throw new IcrError('ICR_NOT_FOUND', `Patient/${patientId} is not known to the master patient index`);
    return link;
  }

  /** The live person a (possibly merged) person id now stands for. */
  async #livePerson(tx: Db, personId: string): Promise<PersonRow> {
    let person = await getPerson(tx, personId);
    for (let hops = 0; person?.mergedInto && hops < 20; hops++) person = await getPerson(tx, person.mergedInto);
    if (!person) throw new IcrError('ICR_NOT_FOUND', `Person ${personId} does not exist`);
    return person;
  }

  /** Links a source record (and records retired into it) to a person, by hand. */
  async link(
    actor: Actor,
    patientId: string,
    target: { personId: string } | { patientId: string },
    reason: string,
  ): Promise<{ personId: string }> {
    const why = requireReason(reason);
    return this.#transaction((tx) => this.#manualLink(tx, actorId(actor), patientId, target, why));
  }

  async #manualLink(
    tx: Db,
    by: string,
    patientId: string,
    target: { personId: string } | { patientId: string },
    why: string,
    detail: Record<string, unknown> = {},
  ): Promise<{ personId: string }> {
    const link = await this.#link(tx, patientId);
    const targetPersonId = 'personId' in target ? target.personId : (await this.#link(tx, target.patientId)).personId;
    const person = await this.#livePerson(tx, targetPersonId);
    if (link.personId === person.id) return { personId: person.id };
    const now = this.#now();
    const moving = await this.#withRetired(tx, link);
    const members = (await linksOfPerson(tx, person.id)).map((l) => l.patientId);
    await moveLinks(
      tx,
      moving,
      { personId: person.id, kind: LINK_KINDS.manual, method: 'manual', createdBy: by, reason: why },
      now,
    );
    await moveClinicalRows(tx, moving, person.id);
    const pairs = members.map((m) => [patientId, m] as const);
    await putDecisions(tx, pairs, { decision: 'same', decidedBy: by, reason: why }, now);
    await withdrawReviews(tx, pairs, by, why, now);
    await appendEvents(
      tx,
      [
        {
          kind: 'link',
          actor: by,
          reason: why,
          personId: person.id,
          otherPersonId: link.personId,
          patientIds: moving,
          detail,
        },
      ],
      now,
    );
    await refreshGolden(tx, this.#ctx, [link.personId, person.id]);
    return { personId: person.id };
  }

  /** The record and the records retired into it (A40 merges) travel together. */
  async #withRetired(tx: Db, link: LinkRow): Promise<string[]> {
    const retired = (await linksOfPerson(tx, link.personId))
      .filter((l) => l.retiredInto === link.patientId)
      .map((l) => l.patientId);
    return [link.patientId, ...retired];
  }

  /**
   * Takes a source record out of its person into a new person of its own; its clinical data moves with
   * it. A not-same decision against the records left behind stops automatic matching from undoing it.
   */
  async unlink(actor: Actor, patientId: string, reason: string): Promise<{ personId: string; formerPersonId: string }> {
    const why = requireReason(reason);
    return this.#transaction((tx) => this.#unlink(tx, actorId(actor), patientId, why));
  }

  async #unlink(
    tx: Db,
    by: string,
    patientId: string,
    why: string,
  ): Promise<{ personId: string; formerPersonId: string }> {
    const link = await this.#link(tx, patientId);
    if (link.retiredInto !== null) {
      throw new IcrError(
        'ICR_CONFLICT',
        `Patient/${patientId} was merged into Patient/${link.retiredInto}; unlink that record instead`,
      );
    }
    const moving = await this.#withRetired(tx, link);
    const staying = (await linksOfPerson(tx, link.personId))
      .map((l) => l.patientId)
      .filter((id) => !moving.includes(id));
    if (staying.length === 0)
      throw new IcrError('ICR_CONFLICT', `Patient/${patientId} is the only record of its person`);
    const now = this.#now();
    const personId = await newPerson(tx, this.#ctx, patientId);
    await moveLinks(
      tx,
      moving,
      { personId, kind: LINK_KINDS.manual, method: 'unlink', createdBy: by, reason: why },
      now,
    );
    await moveClinicalRows(tx, moving, personId);
    const pairs = staying.map((s) => [patientId, s] as const);
    await putDecisions(tx, pairs, { decision: 'not-same', decidedBy: by, reason: why }, now);
    await appendEvents(
      tx,
      [{ kind: 'unlink', actor: by, reason: why, personId, otherPersonId: link.personId, patientIds: moving }],
      now,
    );
    await refreshGolden(tx, this.#ctx, [link.personId, personId]);
    return { personId, formerPersonId: link.personId };
  }

  /**
   * Merge (HL7 A40 "merge patient", or by hand): the source record is retired into the target record and
   * the source's person is absorbed by the target's person; nothing is deleted. An A40 never overrides a
   * data steward's not-same decision between the two persons' records (ICR_CONFLICT); a merge by hand does,
   * and is recorded as such.
   */
  async merge(
    actor: Actor,
    m: { sourcePatientId: string; targetPatientId: string },
    reason: string,
    via: MergeVia,
  ): Promise<{ personId: string }> {
    const why = requireReason(reason);
    const by = actorId(actor);
    return this.#transaction(async (tx) => {
      if (m.sourcePatientId === m.targetPatientId)
        throw new IcrError('ICR_BAD_REQUEST', 'A record cannot be merged into itself');
      const source = await this.#link(tx, m.sourcePatientId);
      const target = await this.#link(tx, m.targetPatientId);
      const now = this.#now();
      const sourceMembers = (await linksOfPerson(tx, source.personId)).map((l) => l.patientId);
      const targetMembers =
        source.personId === target.personId ? [] : (await linksOfPerson(tx, target.personId)).map((l) => l.patientId);
      if (via === 'hl7-a40') {
        const vetoes = (
          await decisionsBetween(tx, sourceMembers, targetMembers.length > 0 ? targetMembers : [m.targetPatientId])
        ).filter(
          (d) =>
            d.decision === 'not-same' &&
            (targetMembers.length > 0 || d.patientA === m.sourcePatientId || d.patientB === m.sourcePatientId),
        );
        if (vetoes.length > 0) {
          throw new IcrError(
            'ICR_CONFLICT',
            'A data steward decided these records are not the same person; the merge needs a manual decision',
          );
        }
      }
      if (source.personId !== target.personId) {
        await moveLinks(
          tx,
          sourceMembers,
          { personId: target.personId, kind: LINK_KINDS.merge, method: via, createdBy: by, reason: why },
          now,
        );
        await moveClinicalRows(tx, sourceMembers, target.personId);
        await markPersonMerged(tx, source.personId, target.personId, now);
      }
      await retireLink(tx, m.sourcePatientId, m.targetPatientId);
      await putDecisions(
        tx,
        [[m.sourcePatientId, m.targetPatientId]],
        { decision: 'same', decidedBy: by, reason: why },
        now,
      );
      await withdrawReviews(tx, [[m.sourcePatientId, m.targetPatientId]], by, why, now);
      await appendEvents(
        tx,
        [
          {
            kind: 'merge',
            actor: by,
            reason: why,
            personId: target.personId,
            otherPersonId: source.personId,
            patientIds: sourceMembers,
            detail: { via, sourcePatientId: m.sourcePatientId, targetPatientId: m.targetPatientId },
          },
        ],
        now,
      );
      await refreshGolden(tx, this.#ctx, [...new Set([source.personId, target.personId])]);
      return { personId: target.personId };
    });
  }

  /** "Not the same person": recorded for the pair; if they are linked now, `otherPatientId` is unlinked. */
  async notSame(actor: Actor, patientId: string, otherPatientId: string, reason: string): Promise<void> {
    const why = requireReason(reason);
    const by = actorId(actor);
    if (patientId === otherPatientId)
      throw new IcrError('ICR_BAD_REQUEST', 'A record is always the same person as itself');
    await this.#transaction(async (tx) => {
      const a = await this.#link(tx, patientId);
      const b = await this.#link(tx, otherPatientId);
      const now = this.#now();
      if (a.personId === b.personId) await this.#unlink(tx, by, otherPatientId, why);
      await putDecisions(tx, [[patientId, otherPatientId]], { decision: 'not-same', decidedBy: by, reason: why }, now);
      await withdrawReviews(tx, [[patientId, otherPatientId]], by, why, now);
      await appendEvents(
        tx,
        [
          {
            kind: 'decide',
            actor: by,
            reason: why,
            personId: a.personId,
            otherPersonId: b.personId,
            patientIds: [patientId, otherPatientId],
            detail: { decision: 'not-same' },
          },
        ],
        now,
      );
    });
  }

  // --- Review queue ---

  #rules(): ReviewItem['rules'] {
    const e = this.#ctx.engine;
    return { version: e.ruleVersion, link: e.thresholds.link, review: e.thresholds.review };
  }

  async reviews(q: { status?: ReviewStatus; limit?: number; offset?: number } = {}): Promise<ReviewItem[]> {
    const rows = await listReviews(this.#db, {
      status: q.status ?? 'open',
      limit: Math.min(q.limit ?? 50, 500),
      offset: q.offset ?? 0,
    });
    const links = await linksFor(this.#db, [...new Set(rows.flatMap((r) => [r.patientId, r.candidateId]))]);
    const side = (id: string) => {
      const l = links.get(id);
      return { patientId: id, personId: l?.personId ?? null, record: l?.record ?? null };
    };
    const rules = this.#rules();
    return rows.map((review) => ({ review, left: side(review.patientId), right: side(review.candidateId), rules }));
  }

  async review(id: string): Promise<ReviewItem> {
    const review = await getReview(this.#db, id);
    if (!review) throw new IcrError('ICR_NOT_FOUND', `Review ${id} does not exist`);
    const links = await linksFor(this.#db, [review.patientId, review.candidateId]);
    const side = (pid: string) => ({
      patientId: pid,
      personId: links.get(pid)?.personId ?? null,
      record: links.get(pid)?.record ?? null,
    });
    return { review, left: side(review.patientId), right: side(review.candidateId), rules: this.#rules() };
  }

  /** A data steward's decision on a review: link the pair, or record that they are not the same person. */
  async decide(
    actor: Actor,
    reviewId: string,
    decision: 'link' | 'not-same',
    reason: string,
  ): Promise<{ personId: string | null }> {
    const why = requireReason(reason);
    const by = actorId(actor);
    return this.#transaction(async (tx) => {
      const review = await getReview(tx, reviewId, true);
      if (!review) throw new IcrError('ICR_NOT_FOUND', `Review ${reviewId} does not exist`);
      if (review.status !== 'open')
        throw new IcrError('ICR_CONFLICT', `Review ${reviewId} was already decided (${review.status})`);
      const now = this.#now();
      await closeReview(
        tx,
        reviewId,
        { status: decision === 'link' ? 'linked' : 'not-same', decidedBy: by, reason: why },
        now,
      );
      if (decision === 'link') {
        return this.#manualLink(tx, by, review.patientId, { patientId: review.candidateId }, why, {
          reviewId,
          score: review.score,
          ruleVersion: review.ruleVersion,
        });
      }
      await putDecisions(
        tx,
        [[review.patientId, review.candidateId]],
        { decision: 'not-same', decidedBy: by, reason: why },
        now,
      );
      await appendEvents(
        tx,
        [
          {
            kind: 'decide',
            actor: by,
            reason: why,
            patientIds: [review.patientId, review.candidateId],
            detail: { reviewId, decision },
          },
        ],
        now,
      );
      return { personId: null };
    });
  }

  // --- Reading ---

  async personOfPatient(patientId: string): Promise<string | null> {
    return (await linksFor(this.#db, [patientId])).get(patientId)?.personId ?? null;
  }

  async person(personId: string): Promise<PersonView> {
    const person = await getPerson(this.#db, personId);
    if (!person) throw new IcrError('ICR_NOT_FOUND', `Person ${personId} does not exist`);
    const links = await linksOfPerson(this.#db, personId);
    const events = await eventsFor(this.#db, { personId, patientIds: links.map((l) => l.patientId) });
    return { person, links, events };
  }

  /** Persons whose linked records disagree (for the viewer's warning and the stewards' worklist). */
  async conflicts(limit = 100): Promise<PersonRow[]> {
    return personsWithConflicts(this.#db, Math.min(limit, 1000));
  }
}

/**
 * The Spine (PDS) in the MPI: verify a source record's NHS number, refresh a person's golden
 * demographics from PDS (the authority), and bulk tracing (a CSV out, a CSV back). A number PDS confirms
 * becomes verified on the link (the source Patient itself is never changed); a record alone in its person
 * may then join the one person holding that verified number. Restricted (R/V) persons are flagged and
 * their address, telecom and GP from PDS are never kept.
 */
import type { Actor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import {
  TRACE_INDICATORS,
  parseTraceResponseCsv,
  traceRequestCsv,
  type TraceRequestRow,
} from '../../mpi/pds/batch-trace.ts';
import type { PdsClient } from '../../mpi/pds/pds-client.ts';
import type { PdsPatient } from '../../mpi/pds/pds-patient.ts';
import { isValidNhsNumber } from '../../mpi/normalise/nhs-number.ts';
import type { MatchRecord } from '../../mpi/types.ts';
import type { Db } from '../../store/db.ts';
import {
  LINK_KINDS,
  type LinkRow,
  linksByNhsNumber,
  linksFor,
  linksOfPerson,
  lockMpiShared,
  moveLinks,
  replaceBlocks,
  unverifiedLinks,
  updateLinkRecord,
} from '../../store/mpi-store.ts';
import { getPerson, markPersonMerged } from '../../store/mpi-store-person.ts';
import { moveClinicalRows } from '../../store/mpi-store-move.ts';
import { appendEvents, decisionsBetween } from '../../store/mpi-store-review.ts';
import { refreshGolden, type MpiContext } from './assign.ts';
import type { PdsSnapshot } from './golden.ts';
import { actorId } from './mpi-service.ts';

export type VerifyOutcome =
  'verified' | 'superseded' | 'not-found' | 'invalid-nhs-number' | 'mismatch' | 'no-nhs-number';

export interface VerifyResult {
  outcome: VerifyOutcome;
  /** The current NHS number PDS answered with (differs from the record's when superseded). */
  nhsNumber?: string;
  restricted?: boolean;
  personId: string;
}

/** What of a PDS Patient is kept on the person: never a restricted person's address, telecom or GP. */
export function pdsSnapshot(p: PdsPatient, fetchedAt: string): PdsSnapshot {
  const s: PdsSnapshot = {
    fetchedAt,
    id: p.id,
    nhsNumber: p.nhsNumber,
    security: p.security,
    restricted: p.restricted,
  };
  if (p.versionId !== undefined) s.versionId = p.versionId;
  if (p.name !== undefined) s.name = p.name;
  if (p.birthDate !== undefined) s.birthDate = p.birthDate;
  if (p.gender !== undefined) s.gender = p.gender;
  if (p.deceasedDateTime !== undefined) s.deceasedDateTime = p.deceasedDateTime;
  if (!p.restricted) {
    if (p.address !== undefined) s.address = p.address;
    if (p.telecom !== undefined) s.telecom = p.telecom;
    if (p.generalPractitioner !== undefined) s.generalPractitioner = p.generalPractitioner;
  }
  return s;
}

export class MpiPdsService {
  readonly #db: Db;

  /** A transaction of this service: first the MPI's shared lock (no bulk link in progress, ADR 0054). */
  #transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (tx) => {
      await lockMpiShared(tx);
      return fn(tx);
    });
  }
  readonly #ctx: MpiContext;
  readonly #pds: PdsClient;

  constructor(deps: { db: Db; ctx: MpiContext; pds: PdsClient }) {
    this.#db = deps.db;
    this.#ctx = deps.ctx;
    this.#pds = deps.pds;
  }

  async #link(tx: Db, patientId: string): Promise<LinkRow> {
    const link = (await linksFor(tx, [patientId])).get(patientId);
    if (!link) throw new IcrError('ICR_NOT_FOUND', `Patient/${patientId} is not known to the master patient index`);
    return link;
  }

  /** Verifies a source record's NHS number with PDS (the date of birth must agree when both are known). */
  async verify(actor: Actor, patientId: string): Promise<VerifyResult> {
    const by = actorId(actor);
    const link = await this.#link(this.#db, patientId);
    const nhs = link.record.nhsNumber;
    if (!nhs) return { outcome: 'no-nhs-number', personId: link.personId };
    // PDS is called outside the transaction: no lock is held while waiting for the Spine.
    const res = await this.#pds.read(nhs);
    return this.#transaction(async (tx) => {
      const now = this.#ctx.now().toISOString();
      const current = await this.#link(tx, patientId);
      const recordVerify = (detail: Record<string, unknown>) =>
        appendEvents(
          tx,
          [{ kind: 'verify', actor: by, personId: current.personId, patientIds: [patientId], detail }],
          now,
        );
      if (res.kind !== 'found') {
        await recordVerify({ outcome: res.kind });
        return { outcome: res.kind, personId: current.personId };
      }
      const p = res.patient;
      const dob = p.birthDate?.replaceAll('-', '');
      const outcome: VerifyOutcome = res.superseded
        ? 'superseded'
        : dob && current.record.birthDate && current.record.birthDate.length === 8 && dob !== current.record.birthDate
          ? 'mismatch'
          : 'verified';
      if (outcome === 'verified') await this.#markVerified(tx, current, { ...current.record, nhsVerified: true });
      await recordVerify({
        outcome,
        restricted: p.restricted,
        ...(res.superseded ? { currentNhsNumber: p.nhsNumber } : {}),
      });
      const personId = outcome === 'verified' ? await this.#rematch(tx, patientId, by) : current.personId;
      if (outcome !== 'mismatch')
        await refreshGolden(tx, this.#ctx, [personId], new Map(), new Map([[personId, pdsSnapshot(p, now)]]));
      return { outcome, nhsNumber: p.nhsNumber, restricted: p.restricted, personId };
    });
  }

  /** Refreshes a person's golden demographics from PDS, by its verified NHS number. */
  async refresh(
    actor: Actor,
    personId: string,
  ): Promise<{
    outcome: 'refreshed' | 'superseded' | 'not-found' | 'invalid-nhs-number' | 'no-verified-nhs-number';
    restricted?: boolean;
  }> {
    const by = actorId(actor);
    const links = (await linksOfPerson(this.#db, personId)).filter((l) => l.retiredInto === null);
    const nhs = links.find((l) => l.record.nhsVerified && l.record.nhsNumber)?.record.nhsNumber;
    if (!nhs) return { outcome: 'no-verified-nhs-number' };
    const res = await this.#pds.read(nhs);
    if (res.kind !== 'found') return { outcome: res.kind };
    await this.#transaction(async (tx) => {
      const now = this.#ctx.now().toISOString();
      await refreshGolden(tx, this.#ctx, [personId], new Map(), new Map([[personId, pdsSnapshot(res.patient, now)]]));
      await appendEvents(
        tx,
        [
          {
            kind: 'golden',
            actor: by,
            personId,
            patientIds: [],
            detail: { source: 'pds', restricted: res.patient.restricted, superseded: res.superseded },
          },
        ],
        now,
      );
    });
    return { outcome: res.superseded ? 'superseded' : 'refreshed', restricted: res.patient.restricted };
  }

  /** The batch trace request: live records without a verified NHS number (reference = Patient id). */
  async traceRequest(limit = 10_000): Promise<string> {
    const rows = await unverifiedLinks(this.#db, limit);
    return traceRequestCsv(rows.map((l) => traceRow(l.patientId, l.record)));
  }

  /** Applies a batch trace response: traced numbers become verified on the links. */
  async applyTrace(actor: Actor, csv: string): Promise<{ verified: number; unmatched: number; moved: number }> {
    const by = actorId(actor);
    const rows = parseTraceResponseCsv(csv);
    let verified = 0;
    let unmatched = 0;
    let moved = 0;
    await this.#transaction(async (tx) => {
      const links = await linksFor(
        tx,
        rows.map((r) => r.reference),
      );
      const now = this.#ctx.now().toISOString();
      for (const r of rows) {
        const link = links.get(r.reference);
        const traced = r.indicator !== TRACE_INDICATORS.noMatch && isValidNhsNumber(r.matchedNhsNumber);
        if (!link || !traced) {
          unmatched++;
          continue;
        }
        await this.#markVerified(tx, link, { ...link.record, nhsNumber: r.matchedNhsNumber, nhsVerified: true });
        const snapshot: PdsSnapshot = {
          fetchedAt: now,
          id: r.matchedNhsNumber,
          nhsNumber: r.matchedNhsNumber,
          security: r.sensitive ? 'R' : 'U',
          restricted: r.sensitive,
        };
        if (r.birthDate.length === 8)
          snapshot.birthDate = `${r.birthDate.slice(0, 4)}-${r.birthDate.slice(4, 6)}-${r.birthDate.slice(6)}`;
        await appendEvents(
          tx,
          [
            {
              kind: 'verify',
              actor: by,
              personId: link.personId,
              patientIds: [link.patientId],
              detail: { via: 'batch-trace', indicator: r.indicator, restricted: r.sensitive },
            },
          ],
          now,
        );
        const personId = await this.#rematch(tx, link.patientId, by);
        if (personId !== link.personId) moved++;
        const person = await getPerson(tx, personId);
        const previous = person?.golden.pds as PdsSnapshot | undefined;
        await refreshGolden(tx, this.#ctx, [personId], new Map(), new Map([[personId, { ...previous, ...snapshot }]]));
        verified++;
      }
    });
    return { verified, unmatched, moved };
  }

  async #markVerified(tx: Db, link: LinkRow, record: MatchRecord): Promise<void> {
    await updateLinkRecord(tx, link.patientId, record);
    await replaceBlocks(tx, link.patientId, this.#ctx.engine.blockingKeys(record));
  }

  /**
   * A record alone in its person (not placed there by hand) whose NHS number is now verified joins the
   * one person holding that number verified, unless a steward said they are not the same person.
   */
  async #rematch(tx: Db, patientId: string, by: string): Promise<string> {
    const link = await this.#link(tx, patientId);
    const nhs = link.record.nhsNumber;
    const members = (await linksOfPerson(tx, link.personId)).filter((l) => l.retiredInto === null);
    if (!nhs || link.record.nhsVerified !== true || link.kind === LINK_KINDS.manual || members.length > 1)
      return link.personId;
    const holders = (await linksByNhsNumber(tx, nhs)).filter(
      (l) => l.nhsVerified && l.retiredInto === null && l.personId !== link.personId,
    );
    const vetoed = new Set(
      (
        await decisionsBetween(
          tx,
          [patientId],
          holders.map((h) => h.patientId),
        )
      )
        .filter((d) => d.decision === 'not-same')
        .map((d) => holders.find((h) => h.patientId === d.patientA || h.patientId === d.patientB)?.personId),
    );
    const persons = [...new Set(holders.map((h) => h.personId))].filter((p) => !vetoed.has(p));
    const target = persons[0];
    if (persons.length !== 1 || target === undefined) return link.personId;
    const now = this.#ctx.now().toISOString();
    const moving = (await linksOfPerson(tx, link.personId)).map((l) => l.patientId);
    await moveLinks(
      tx,
      moving,
      {
        personId: target,
        kind: LINK_KINDS.deterministic,
        method: 'nhs-number',
        createdBy: by,
        reason: 'NHS number verified with PDS',
      },
      now,
    );
    await moveClinicalRows(tx, moving, target);
    await markPersonMerged(tx, link.personId, target, now);
    await appendEvents(
      tx,
      [
        {
          kind: 'link',
          actor: by,
          reason: 'NHS number verified with PDS',
          personId: target,
          otherPersonId: link.personId,
          patientIds: moving,
          detail: { kind: 'deterministic', method: 'nhs-number' },
        },
      ],
      now,
    );
    await refreshGolden(tx, this.#ctx, [link.personId, target]);
    return target;
  }
}

function traceRow(reference: string, r: MatchRecord): TraceRequestRow {
  const row: TraceRequestRow = { reference };
  if (r.nhsNumber) row.nhsNumber = r.nhsNumber;
  if (r.family) row.family = r.family.toUpperCase();
  if (r.given) row.given = r.given.toUpperCase();
  if (r.middle) row.otherGiven = r.middle.toUpperCase();
  if (r.sex) row.gender = r.sex;
  if (r.birthDate?.length === 8) row.birthDate = r.birthDate;
  if (r.postcode) row.postcode = r.postcode;
  return row;
}

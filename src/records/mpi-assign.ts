/**
 * Assigning a person to each source Patient as it is written (inside the write transaction):
 *
 * 1. already linked → its person (the stored match record and keys are refreshed when it changed);
 * 2. the same source identifier as a held record → that record's person (it is the same source record);
 * 3. a verified (status 01) NHS number held verified by exactly one person → that person;
 * 4. Fellegi–Sunter over candidates from the blocking index: link above the upper threshold, review
 *    queue between the thresholds, below → a new person. Persons with a manual not-same decision against
 *    the record, or holding a different valid NHS number, are never linked automatically.
 */
import { randomUUID } from 'node:crypto';
import type { FhirResource } from '../fhir/types.ts';
import { NHS_NUMBER_SYSTEM } from '../mpi/pds/pds-patient.ts';
import { DECISIONS, type MatchRecord } from '../mpi/types.ts';
import type { Db, Queryable } from '../store/db.ts';
import {
  candidatesByBlocks,
  insertNewLink,
  LINK_KINDS,
  linksByIdentifiers,
  linksByNhsNumber,
  linksFor,
  linksOfPersons,
  lockKeys,
  type NewLink,
  patientHashes,
  patientResources,
  replaceKeys,
  updateLinkRecord,
} from '../store/mpi-store.ts';
import { createPerson, getPersons, type GoldenRow, saveGoldens } from '../store/mpi-store-person.ts';
import { moveClinicalRows } from '../store/mpi-store-move.ts';
import { contentHash } from '../store/resource-store.ts';
import { appendEvents, decisionsBetween, type NewMpiEvent, openReviews } from '../store/mpi-store-review.ts';
import type { MatchEngine, PairScore } from './mpi-engine.ts';
import { computeGolden, type GoldenSource, type PdsSnapshot } from './mpi-golden.ts';

export interface MpiContext {
  engine: MatchEngine;
  now: () => Date;
  newId: () => string;
  /** At most this many reviews are opened for one incoming record. */
  maxReviewsPerRecord?: number;
}

export function mpiContext(engine: MatchEngine, opts: Partial<Omit<MpiContext, 'engine'>> = {}): MpiContext {
  return { engine, now: opts.now ?? (() => new Date()), newId: opts.newId ?? randomUUID, ...opts };
}

type Patient = FhirResource & { id: string };

export interface Assignment {
  personId: string;
  kind: NewLink['kind'];
  method: string;
  score?: number;
  vector?: unknown;
  reviews: string[];
}

/** Source identifiers of a Patient (`system|value`), NHS number included (it is not used as a source key). */
export function identifiersOf(patient: FhirResource): Array<{ system: string; value: string }> {
  const ids = Array.isArray(patient.identifier)
    ? (patient.identifier as Array<{ system?: unknown; value?: unknown }>)
    : [];
  return ids
    .filter((i): i is { system: string; value: string } => typeof i.system === 'string' && typeof i.value === 'string')
    .map((i) => ({
      system: i.system,
      value: i.system === NHS_NUMBER_SYSTEM ? i.value.replace(/[\s-]/g, '') : i.value,
    }));
}

/** Creates the person founded by `patientId`, with the patient id itself when free (rows written before
 *  the MPI knew the patient already carry it), else a new UUID. Returns its id. */
export async function newPerson(tx: Queryable, ctx: MpiContext, patientId: string): Promise<string> {
  return createPerson(tx, patientId, ctx.newId, ctx.now().toISOString());
}

export async function assignPatients(
  tx: Db,
  ctx: MpiContext,
  patients: readonly Patient[],
  by: string,
): Promise<Map<string, Assignment>> {
  const out = new Map<string, Assignment>();
  if (patients.length === 0) return out;
  const now = ctx.now().toISOString();
  const prepared = patients.map((p) => {
    const record = ctx.engine.record(p);
    return { patient: p, record, identifiers: identifiersOf(p), blocks: ctx.engine.blockingKeys(record) };
  });
  const existing = await linksFor(
    tx,
    patients.map((p) => p.id),
  );
  const hashes = await patientHashes(tx, [...existing.keys()]);
  const fresh = prepared.filter((p) => !existing.has(p.patient.id));
  await lockKeys(tx, [
    ...fresh.flatMap((p) => p.identifiers.map((i) => `id:${i.system}|${i.value}`)),
    ...fresh.flatMap((p) => p.blocks),
  ]);
  const touched = new Set<string>();
  const events: NewMpiEvent[] = [];
  for (const p of prepared) {
    const link = existing.get(p.patient.id);
    if (link) {
      out.set(p.patient.id, { personId: link.personId, kind: link.kind, method: link.method, reviews: [] });
      // Sent again unchanged (the store will not write a new version): nothing to refresh.
      if (hashes.get(p.patient.id) === contentHash(p.patient)) continue;
      // A number verified with PDS stays verified while the source keeps sending the same number.
      if (link.record.nhsVerified === true && link.record.nhsNumber === p.record.nhsNumber) p.record.nhsVerified = true;
      if (canonical(link.record) !== canonical(p.record)) {
        await updateLinkRecord(tx, p.patient.id, p.record);
        await replaceKeys(tx, [{ patientId: p.patient.id, identifiers: p.identifiers, blocks: p.blocks }]);
      }
      touched.add(link.personId);
      continue;
    }
    const a = await decide(tx, ctx, p.patient.id, p.record, p.identifiers);
    if (a.personId === '') a.personId = await createPerson(tx, p.patient.id, ctx.newId, now);
    const personId = a.personId;
    await insertNewLink(
      tx,
      {
        patientId: p.patient.id,
        personId,
        kind: a.kind,
        method: a.method,
        score: a.score ?? null,
        vector: a.vector ?? null,
        ruleVersion: a.kind === LINK_KINDS.probabilistic || a.reviews.length > 0 ? ctx.engine.ruleVersion : null,
        createdBy: by,
        record: p.record,
      },
      p.identifiers,
      p.blocks,
      now,
    );
    if (personId !== p.patient.id) await moveClinicalRows(tx, [p.patient.id], personId);
    events.push({
      kind: a.kind === LINK_KINDS.new ? 'create' : 'link',
      actor: by,
      personId,
      patientIds: [p.patient.id],
      detail: {
        kind: a.kind,
        method: a.method,
        ...(a.score !== undefined ? { score: a.score, ruleVersion: ctx.engine.ruleVersion } : {}),
        ...(a.reviews.length > 0 ? { reviews: a.reviews } : {}),
      },
    });
    out.set(p.patient.id, a);
    touched.add(personId);
  }
  await appendEvents(tx, events, now);
  await refreshGolden(tx, ctx, [...touched], new Map(patients.map((p) => [p.id, p])));
  return out;
}

/**
 * Steps 2–4 for one new record. An empty personId means "a new person". Writes nothing but the reviews it
 * opens (exported for bench/mpi-db.ts, which times it in a transaction it rolls back).
 */
export async function decide(
  tx: Db,
  ctx: MpiContext,
  patientId: string,
  record: MatchRecord,
  identifiers: ReadonlyArray<{ system: string; value: string }>,
): Promise<Assignment> {
  const sourceIds = identifiers.filter((i) => i.system !== NHS_NUMBER_SYSTEM);
  const same = (await linksByIdentifiers(tx, sourceIds, patientId))[0];
  if (same)
    return { personId: same.personId, kind: LINK_KINDS.deterministic, method: 'source-identifier', reviews: [] };

  if (record.nhsNumber !== undefined && record.nhsVerified === true) {
    const holders = (await linksByNhsNumber(tx, record.nhsNumber)).filter(
      (l) => l.nhsVerified && l.retiredInto === null,
    );
    const persons = [...new Set(holders.map((h) => h.personId))];
    const blocked = await notSamePersons(
      tx,
      patientId,
      holders.map((h) => h.patientId),
      holders,
    );
    const allowed = persons.filter((p) => !blocked.has(p));
    if (allowed.length === 1) {
      return { personId: allowed[0] as string, kind: LINK_KINDS.deterministic, method: 'nhs-number', reviews: [] };
    }
  }

  const { engine } = ctx;
  const candidates = await candidatesByBlocks(tx, engine.blockingKeys(record), {
    limit: engine.candidateLimit,
    maxPerKey: engine.maxBlockSize,
    exceptPatientId: patientId,
  });
  if (candidates.length === 0) return { personId: '', kind: LINK_KINDS.new, method: 'none', reviews: [] };
  const blocked = await notSamePersons(
    tx,
    patientId,
    candidates.map((c) => c.patientId),
    candidates,
  );
  // Every record of each candidate person, so that a different NHS number anywhere in the person counts.
  const members = await linksOfPersons(tx, [...new Set(candidates.map((c) => c.personId))]);
  const nhsOf = new Map<string, Set<string>>();
  for (const m of members) {
    if (m.nhsNumber === null || m.retiredInto !== null) continue;
    const set = nhsOf.get(m.personId) ?? new Set<string>();
    set.add(m.nhsNumber);
    nhsOf.set(m.personId, set);
  }
  const scored: Array<{ patientId: string; personId: string; s: PairScore }> = [];
  for (const c of candidates) {
    if (blocked.has(c.personId)) continue;
    const s = engine.score(record, c.record);
    const otherNhs = [...(nhsOf.get(c.personId) ?? [])].some(
      (n) => record.nhsNumber !== undefined && n !== record.nhsNumber,
    );
    if (otherNhs && s.decision === DECISIONS.link) s.decision = DECISIONS.review;
    scored.push({ patientId: c.patientId, personId: c.personId, s });
  }
  scored.sort((a, b) => b.s.score - a.s.score || a.patientId.localeCompare(b.patientId));
  const best = scored[0];
  const linkPersons = new Set(scored.filter((c) => c.s.decision === DECISIONS.link).map((c) => c.personId));
  if (linkPersons.size > 1) {
    // Two persons above the link threshold: ambiguous, a data steward decides.
    for (const c of scored) if (c.s.decision === DECISIONS.link) c.s.decision = DECISIONS.review;
  }
  if (best && best.s.decision === DECISIONS.link) {
    return {
      personId: best.personId,
      kind: LINK_KINDS.probabilistic,
      method: 'probabilistic',
      score: best.s.score,
      vector: best.s.vector,
      reviews: [],
    };
  }
  // Between the thresholds: a new person now, and one review per candidate person (best record first).
  const seen = new Set<string>();
  const toReview = scored.filter(
    (c) => c.s.decision === DECISIONS.review && !seen.has(c.personId) && seen.add(c.personId),
  );
  const reviews = await openReviews(
    tx,
    toReview.slice(0, ctx.maxReviewsPerRecord ?? 3).map((c) => ({
      id: ctx.newId(),
      patientId,
      candidateId: c.patientId,
      score: c.s.score,
      vector: c.s.vector,
      ruleVersion: engine.ruleVersion,
    })),
    ctx.now().toISOString(),
  );
  return { personId: '', kind: LINK_KINDS.new, method: 'none', reviews };
}

/** Persons that hold a record with a manual not-same decision against `patientId`. */
async function notSamePersons(
  tx: Queryable,
  patientId: string,
  others: readonly string[],
  links: ReadonlyArray<{ patientId: string; personId: string }>,
): Promise<Set<string>> {
  const decisions = await decisionsBetween(tx, [patientId], others);
  const personOf = new Map(links.map((l) => [l.patientId, l.personId]));
  const out = new Set<string>();
  for (const d of decisions) {
    if (d.decision !== 'not-same') continue;
    const other = d.patientA === patientId ? d.patientB : d.patientA;
    const person = personOf.get(other);
    if (person) out.add(person);
  }
  return out;
}

/** Recomputes golden demographics and conflicts of these persons (PDS snapshot kept). */
export async function refreshGolden(
  tx: Queryable,
  ctx: MpiContext,
  personIds: readonly string[],
  overrides: ReadonlyMap<string, FhirResource> = new Map(),
  pds?: ReadonlyMap<string, PdsSnapshot | null>,
): Promise<void> {
  if (personIds.length === 0) return;
  const links = await linksOfPersons(tx, personIds);
  const stored = await patientResources(
    tx,
    links.map((l) => l.patientId).filter((id) => !overrides.has(id)),
  );
  const now = ctx.now().toISOString();
  const persons = await getPersons(tx, personIds);
  const rows: GoldenRow[] = [];
  for (const personId of personIds) {
    const person = persons.get(personId);
    if (!person) continue;
    const sources: GoldenSource[] = links
      .filter((l) => l.personId === personId)
      .map((l) => {
        const text = stored.get(l.patientId);
        const patient =
          (overrides.get(l.patientId) as Record<string, unknown> | undefined) ??
          (text ? (JSON.parse(text) as Record<string, unknown>) : undefined);
        return { patientId: l.patientId, patient, record: l.record, at: l.at, retired: l.retiredInto !== null };
      });
    const snapshot = pds?.has(personId)
      ? (pds.get(personId) ?? undefined)
      : ((person.golden.pds as PdsSnapshot | undefined) ?? undefined);
    const { golden, conflicts } = computeGolden(sources, snapshot);
    rows.push({
      id: personId,
      golden: golden as unknown as Record<string, unknown>,
      conflicts,
      restricted: golden.restricted,
    });
  }
  await saveGoldens(tx, rows, now);
}

/** JSON with sorted keys (jsonb does not keep key order). */
function canonical(r: MatchRecord): string {
  return JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b))));
}

/**
 * Assigning a person to each source Patient as it is written (inside the write transaction):
 *
 * 1. already linked → its person (the stored match record and keys are refreshed when it changed);
 * 2. the same source identifier as a held record → that record's person (it is the same source record);
 * 3. a verified (status 01) NHS number held verified by exactly one person → that person;
 * 4. Fellegi–Sunter over candidates from the blocking index: link above the upper threshold, review
 *    queue between the thresholds, below → a new person. Persons with a manual not-same decision against
 *    the record, or holding a different valid NHS number, are never linked automatically.
 *
 * Set-based: the Patients of one write are assigned together, with statements that do not grow in number
 * with the set (each kind of read once, each kind of row written with one statement); within the set, each
 * record is decided as if the records before it were already linked (`decideSet`).
 */
import { randomUUID } from 'node:crypto';
import type { FhirResource } from '../../fhir/types.ts';
import { NHS_NUMBER_SYSTEM } from '../../mpi/pds/pds-patient.ts';
import { DECISIONS, type MatchRecord } from '../../mpi/types.ts';
import type { Db, Queryable } from '../../store/db.ts';
import {
  LINK_KINDS,
  type LinkRow,
  linksOfPersons,
  lockKeys,
  type NewLink,
  patientResources,
  replaceKeys,
  updateLinkRecords,
} from '../../store/mpi-store.ts';
import {
  type CandidateQuery,
  type Candidates,
  type Held,
  nhsNumbersOfPersons,
  readCandidates,
  readHeld,
  readPersonsForGolden,
  writeAssigned,
} from '../../store/mpi-store-assign.ts';
import { createPerson, getPersons, type GoldenRow, saveGoldens } from '../../store/mpi-store-person.ts';
import { moveIndexRows } from '../../store/mpi-store-move.ts';
import { contentHash } from '../../store/resource-store.ts';
import { type NewMpiEvent, openReviews } from '../../store/mpi-store-review.ts';
import { CONFLICTING_NHS_NUMBERS } from '../../mpi/fellegi-sunter.ts';
import {
  AMBIGUOUS_PERSONS,
  MERGE_PERSONS,
  type MatchEngine,
  NHS_NUMBER_BIRTH_DATE_DISAGREES,
  NHS_NUMBER_NAMES_DISAGREE,
  NHS_NUMBER_SEX_DISAGREES,
  type PairScore,
} from './engine.ts';

/** Bits by which the best of two persons above the link threshold must lead for the record to link to it. */
const MERGE_MARGIN = 5;

/** True when a pair's guards say its shared NHS number disagrees with the other details. */
function nhsDisagrees(guards: readonly string[]): boolean {
  return guards.some(
    (g) => g === NHS_NUMBER_BIRTH_DATE_DISAGREES || g === NHS_NUMBER_SEX_DISAGREES || g === NHS_NUMBER_NAMES_DISAGREE,
  );
}
import { computeGolden, type GoldenSource, type PdsSnapshot } from './golden.ts';

export interface MpiContext {
  engine: MatchEngine;
  now: () => Date;
  newId: () => string;
  /** At most this many reviews are opened for one incoming record. */
  maxReviewsPerRecord?: number;
  /**
   * Where the candidates and the candidate persons' NHS numbers are read: the database (default), or a bulk
   * link's in-memory index of every held record (`bulk-link.ts`, ADR 0054), which answers exactly as the SQL.
   */
  reads?: MpiReads;
  /**
   * Set by a bulk link only: the caller holds the MPI exclusively (`lockMpiExclusive`) for the whole load, so
   * the per-key locks are not taken; it is told every link, record and key the assignment writes.
   */
  exclusive?: {
    /** Called where the locks would be taken, before any read (a bulk link reads the keys held now). */
    before(tx: Queryable, patientIds: readonly string[]): Promise<void>;
    /** Linked records whose match record and keys were just refreshed (before the new records are decided). */
    refreshed(rows: AssignedRows['changed']): void;
    /** The new links just written. */
    linked(rows: AssignedRows['links']): void;
  };
}

/** The two reads of candidates a bulk link answers from memory instead of the database. */
export interface MpiReads {
  candidates(tx: Queryable, q: CandidateQuery): Promise<Candidates>;
  nhsOfPersons(tx: Queryable, personIds: readonly string[]): Promise<Array<{ personId: string; nhsNumber: string }>>;
  /**
   * `nhsOfPersons` answered at once from memory (a bulk link's index, ADR 0058). Given, the candidates'
   * persons' NHS numbers are read only for the candidates that are scored (a few of about 100 a record at
   * 1,000,000 persons), when they are scored: the index does not change while a set is decided, so the
   * answer is the one an eager read would have given.
   */
  nhsOfPersonsNow?(personIds: readonly string[]): Array<{ personId: string; nhsNumber: string }>;
}

/** The reads of the normal write path: one statement each. */
export const SQL_READS: MpiReads = { candidates: readCandidates, nhsOfPersons: nhsNumbersOfPersons };

/** What one assignment wrote that a candidate index must learn: new links and refreshed records, with keys. */
export interface AssignedRows {
  links: ReadonlyArray<{ patientId: string; personId: string; record: MatchRecord; blocks: readonly string[] }>;
  changed: ReadonlyArray<{ patientId: string; record: MatchRecord; blocks: readonly string[] }>;
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
  // One entry per id (the last version sent wins), in the order first sent.
  const unique = [...new Map(patients.map((p) => [p.id, p])).values()];
  const prepared = unique.map((p) => {
    const record = ctx.engine.record(p);
    return { patient: p, record, identifiers: identifiersOf(p), blocks: ctx.engine.blockingKeys(record) };
  });
  // 1. The locks on the set's identifiers and blocking keys, alone in their statement and before any read:
  // a writer of the same person waits here until the other commits, and every read after it sees that.
  if (ctx.exclusive)
    await ctx.exclusive.before(
      tx,
      unique.map((p) => p.id),
    );
  else
    await lockKeys(
      tx,
      [
        ...prepared.flatMap((p) => p.identifiers.map((i) => `id:${i.system}|${i.value}`)),
        ...prepared.flatMap((p) => p.blocks),
      ],
      unique.map((p) => p.id),
    );
  // 2. What the database holds for the set, in one statement.
  const held = await readHeldFor(tx, ctx, prepared);
  const existing = held.links;
  const fresh = prepared.filter((p) => !existing.has(p.patient.id));
  const touched = new Set<string>();

  // Already linked: their person; the stored match record and keys are refreshed when they changed.
  const changed: typeof prepared = [];
  for (const p of prepared) {
    const link = existing.get(p.patient.id);
    if (!link) continue;
    out.set(p.patient.id, { personId: link.personId, kind: link.kind, method: link.method, reviews: [] });
    // Sent again unchanged (the store will not write a new version): nothing to refresh.
    if (held.hashes.get(p.patient.id) === contentHash(p.patient)) continue;
    // A number verified with PDS stays verified while the source keeps sending the same number.
    if (link.record.nhsVerified === true && link.record.nhsNumber === p.record.nhsNumber) p.record.nhsVerified = true;
    if (canonical(link.record) !== canonical(p.record)) changed.push(p);
    touched.add(link.personId);
  }
  await updateLinkRecords(
    tx,
    changed.map((p) => ({ patientId: p.patient.id, record: p.record })),
  );
  await replaceKeys(
    tx,
    changed.map((p) => ({ patientId: p.patient.id, identifiers: p.identifiers, blocks: p.blocks })),
  );
  ctx.exclusive?.refreshed(changed.map((p) => ({ patientId: p.patient.id, record: p.record, blocks: p.blocks })));

  // 3. New: decided together, earlier records of the set being candidates for later ones.
  const decided = await decideSet(
    tx,
    ctx,
    fresh.map((p) => ({ patientId: p.patient.id, record: p.record, identifiers: p.identifiers, blocks: p.blocks })),
    held,
  );
  const founders = decided.flatMap((a, n) => (a.personId === '' && a.founder === undefined ? [n] : []));
  // Persons founded in this set hold only records of this set: their golden record is written with them. A
  // new person takes the id of the Patient that founds it when that id is free (rows written before the MPI
  // knew the Patient already carry it), else a new one.
  const newPersons: GoldenRow[] = founders.map((f) => {
    const sources = fresh.flatMap((p, n) =>
      n === f || decided[n]?.founder === f
        ? [{ patientId: p.patient.id, patient: p.patient, record: p.record, at: now, retired: false }]
        : [],
    );
    const { golden, conflicts } = computeGolden(sources);
    const id = fresh[f]?.patient.id as string;
    return {
      id: held.personIds.has(id) ? ctx.newId() : id,
      golden: golden as unknown as Record<string, unknown>,
      conflicts,
      restricted: golden.restricted,
    };
  });
  founders.forEach((n, k) => ((decided[n] as SetAssignment).personId = newPersons[k]?.id as string));
  for (const a of decided) if (a.founder !== undefined) a.personId = decided[a.founder]?.personId as string;

  const events: NewMpiEvent[] = [];
  const moves: Array<{ patientId: string; personId: string }> = [];
  fresh.forEach((p, n) => {
    const { founder: _, ...a } = decided[n] as SetAssignment;
    if (a.personId !== p.patient.id) moves.push({ patientId: p.patient.id, personId: a.personId });
    events.push({
      kind: a.kind === LINK_KINDS.new ? 'create' : 'link',
      actor: by,
      personId: a.personId,
      patientIds: [p.patient.id],
      detail: {
        kind: a.kind,
        method: a.method,
        ...(a.score !== undefined ? { score: a.score, ruleVersion: ctx.engine.ruleVersion } : {}),
        ...(a.reviews.length > 0 ? { reviews: a.reviews } : {}),
      },
    });
    out.set(p.patient.id, a);
    touched.add(a.personId);
  });
  const links = fresh.map((p, n) => {
    const a = decided[n] as SetAssignment;
    return {
      link: {
        patientId: p.patient.id,
        personId: a.personId,
        kind: a.kind,
        method: a.method,
        score: a.score ?? null,
        vector: a.vector ?? null,
        ruleVersion: a.kind === LINK_KINDS.probabilistic || a.reviews.length > 0 ? ctx.engine.ruleVersion : null,
        createdBy: by,
        record: p.record,
      },
      identifiers: p.identifiers,
      blocks: p.blocks,
    };
  });
  // 4. The golden records of existing persons that gained or changed a record (read only when there are any).
  const made = new Set(newPersons.map((p) => p.id));
  const goldens = await goldensOf(
    tx,
    [...touched].filter((id) => !made.has(id)),
    new Map(unique.map((p) => [p.id, p])),
    links.map((l) => ({ ...l.link, at: now })),
  );
  // 5. Every row of the assignment in one statement; then the search-index rows of moved resources, if any.
  const moved = await writeAssigned(tx, { persons: newPersons, links, events, goldens, moves }, now);
  await moveIndexRows(tx, moves, moved);
  ctx.exclusive?.linked(
    links.map((l) => ({
      patientId: l.link.patientId,
      personId: l.link.personId,
      record: l.link.record,
      blocks: l.blocks,
    })),
  );
  return out;
}

/** Statement 2 of a set's assignment: the links, hashes, identifier and NHS-number holders of the set. */
async function readHeldFor(
  tx: Queryable,
  ctx: MpiContext,
  records: ReadonlyArray<{
    patient?: { id: string };
    patientId?: string;
    record: MatchRecord;
    identifiers: ReadonlyArray<{ system: string; value: string }>;
  }>,
): Promise<Held> {
  return readHeld(tx, {
    patientIds: records.map((r) => r.patient?.id ?? (r.patientId as string)),
    sourceIds: records.flatMap((r) => sourceIdentifiers(ctx.engine, r.identifiers)),
    nhsNumbers: [...new Set(records.map((r) => verifiedNhs(r.record)).filter((n) => n !== undefined))],
  });
}

/** Source record keys: every identifier but the NHS number and the rules' weak identifier (compared, not trusted). */
function sourceIdentifiers(
  engine: MatchEngine,
  identifiers: ReadonlyArray<{ system: string; value: string }>,
): Array<{ system: string; value: string }> {
  return identifiers.filter((i) => i.system !== NHS_NUMBER_SYSTEM && i.system !== engine.otherIdSystem);
}

const verifiedNhs = (r: MatchRecord): string | undefined => (r.nhsVerified === true ? r.nhsNumber : undefined);

/**
 * Golden records of existing persons: their stored records and Patients (one statement), the set's Patients
 * in place of their stored versions (`overrides`), and the links the set adds (`added`, not written yet).
 */
async function goldensOf(
  tx: Queryable,
  personIds: readonly string[],
  overrides: ReadonlyMap<string, FhirResource>,
  added: ReadonlyArray<NewLink & { at: string }>,
): Promise<GoldenRow[]> {
  if (personIds.length === 0) return [];
  const stored = await readPersonsForGolden(tx, personIds, new Set(overrides.keys()));
  // Each person's stored and added links, in their order (grouped once: a large set touches many persons).
  const storedOf = groupBy(stored.links, (l) => l.personId);
  const addedOf = groupBy(added, (l) => l.personId);
  const rows: GoldenRow[] = [];
  for (const personId of personIds) {
    const golden = stored.goldens.get(personId);
    if (!golden) continue;
    const sources: GoldenSource[] = [
      ...(storedOf.get(personId) ?? []).map((l) => ({
        patientId: l.patientId,
        record: l.record,
        at: l.at,
        retired: l.retiredInto !== null,
      })),
      ...(addedOf.get(personId) ?? []).map((l) => ({
        patientId: l.patientId,
        record: l.record,
        at: l.at,
        retired: false,
      })),
    ].map((s) => {
      const text = stored.contents.get(s.patientId);
      const patient =
        (overrides.get(s.patientId) as Record<string, unknown> | undefined) ??
        (text ? (JSON.parse(text) as Record<string, unknown>) : undefined);
      return { ...s, patient };
    });
    const computed = computeGolden(sources, (golden.pds as PdsSnapshot | undefined) ?? undefined);
    rows.push({
      id: personId,
      golden: computed.golden as unknown as Record<string, unknown>,
      conflicts: computed.conflicts,
      restricted: computed.golden.restricted,
    });
  }
  return rows;
}

/** A new source record to decide on. */
export interface NewRecord {
  patientId: string;
  record: MatchRecord;
  identifiers: ReadonlyArray<{ system: string; value: string }>;
  blocks: readonly string[];
}

/**
 * An assignment of `decideSet`: an empty personId means "a new person" — founded by this record, or, when
 * `founder` is set, the new person founded by that earlier record of the set.
 */
export type SetAssignment = Assignment & { founder?: number };

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
  const [a] = await decideSet(tx, ctx, [{ patientId, record, identifiers, blocks: ctx.engine.blockingKeys(record) }]);
  const { founder: _, ...rest } = a as SetAssignment;
  return rest;
}

/** Marks a person of the set that is not created yet (the new person founded by record `n`). */
const FOUNDED = '\u0000new:';
const founded = (n: number) => `${FOUNDED}${n}`;

/**
 * Steps 2–4 for the new records of one set, in order, with a fixed number of statements for the whole set
 * (source identifiers, verified NHS numbers, too-common blocking keys, candidates, manual decisions and the
 * candidate persons' records are each read once; reviews are opened with one insert). Each record sees the
 * records before it in the set as if they were already linked: same source identifier, same verified NHS
 * number, or a candidate sharing blocking keys. Writes nothing but the reviews it opens.
 */
export async function decideSet(
  tx: Db,
  ctx: MpiContext,
  records: readonly NewRecord[],
  given?: Held,
): Promise<SetAssignment[]> {
  if (records.length === 0) return [];
  const { engine } = ctx;
  const reads = ctx.reads ?? SQL_READS;
  const held = given ?? (await readHeldFor(tx, ctx, records));
  const sourceIdsOf = records.map((r) => sourceIdentifiers(engine, r.identifiers));
  const bySourceId = new Map<string, LinkRow[]>();
  for (const l of held.bySource) {
    const key = `${l.system}|${l.value}`;
    bySourceId.set(key, [...(bySourceId.get(key) ?? []), l]);
  }
  const byNhs = new Map<string, LinkRow[]>();
  for (const l of held.byNhs) {
    if (!l.nhsVerified || l.retiredInto !== null || l.nhsNumber === null) continue;
    byNhs.set(l.nhsNumber, [...(byNhs.get(l.nhsNumber) ?? []), l]);
  }
  const dbSame = records.map((r, n) =>
    sourceIdsOf[n]
      ?.flatMap((i) => bySourceId.get(`${i.system}|${i.value}`) ?? [])
      .find((l) => l.patientId !== r.patientId),
  );

  // Records certainly decided from the database alone need no candidates: a held source identifier, or a
  // verified NHS number held by exactly one person and by no earlier record of the set (a manual not-same
  // decision can still undo the latter; its candidates are then read on their own).
  const firstWithNhs = new Map<string, number>();
  records.forEach((r, n) => {
    const nhs = verifiedNhs(r.record);
    if (nhs !== undefined && !firstWithNhs.has(nhs)) firstWithNhs.set(nhs, n);
  });
  const certain = records.map((r, n) => {
    if (dbSame[n]) return true;
    const nhs = verifiedNhs(r.record);
    if (nhs === undefined || firstWithNhs.get(nhs) !== n) return false;
    return new Set((byNhs.get(nhs) ?? []).map((l) => l.personId)).size === 1;
  });
  // One record: no set-mates to compare with, so its too-common keys matter only to the candidate query.
  const alone = records.length === 1;
  /** Each record's blocking keys that are not too common (known after the first read). */
  let useful = records.map((r) => [...new Set(r.blocks)]);

  const candidates = new Map<number, Candidates['candidates'][number]>();
  const notSame = new Set<string>();
  /** The NHS numbers held by the live stored records of each person read so far. */
  const memberNhs = new Map<string, ReadonlySet<string>>();
  /** A person read and holding no NHS number (most of them: one shared empty set, not one each). */
  const NONE: ReadonlySet<string> = new Set<string>();
  const addNhs = (rows: ReadonlyArray<{ personId: string; nhsNumber: string }>) => {
    for (const m of rows) {
      const held = memberNhs.get(m.personId);
      if (held === NONE) memberNhs.set(m.personId, new Set([m.nhsNumber]));
      else (held as Set<string> | undefined)?.add(m.nhsNumber);
    }
  };
  const pair = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
  /**
   * Reads, in one statement, the candidates of these records and every record of their persons; the first
   * read also reads the too-common keys of the whole set, the records of the persons holding its source
   * identifiers and verified NHS numbers, and the not-same decisions about its records.
   */
  let first = true;
  const nhsNow = reads.nhsOfPersonsNow?.bind(reads);
  const read = async (which: readonly number[]) => {
    const want = which.filter((n) => !candidates.has(n));
    const persons = first
      ? [...[...byNhs.values()].flat(), ...dbSame.filter((l) => l !== undefined)].map((l) => l.personId)
      : [];
    const found = await reads.candidates(tx, {
      requests: want.map((n) => ({ patientId: records[n]?.patientId as string, keys: useful[n] ?? [] })),
      alsoCheck: first && !alone ? records.flatMap((r) => r.blocks) : [],
      limit: engine.candidateLimit,
      maxPerKey: engine.maxBlockSize,
      persons: persons.filter((p) => !memberNhs.has(p)),
      decisionsFor: first ? records.map((r) => r.patientId) : [],
      ...(nhsNow ? { candidatePersonNhs: false } : {}),
    });
    if (first) useful = records.map((r) => [...new Set(r.blocks.filter((k) => !found.common.has(k)))]);
    first = false;
    want.forEach((n, k) => candidates.set(n, found.candidates[k] ?? []));
    for (const [a, b] of found.notSame) notSame.add(pair(a, b));
    // The persons read now for the first time (a bulk link's index answers with about 100 candidates a record).
    const unread = new Set<string>();
    const mark = (p: string) => {
      if (memberNhs.has(p)) return;
      memberNhs.set(p, NONE);
      unread.add(p);
    };
    if (!nhsNow) for (const rows of found.candidates) for (const c of rows) mark(c.personId);
    for (const p of persons) mark(p);
    addNhs(found.personNhs.filter((m) => unread.has(m.personId)));
  };
  await read(records.flatMap((_, n) => (certain[n] ? [] : [n])));

  const out: SetAssignment[] = [];
  /** The person of each earlier record of the set (`founded(n)` for the new ones). */
  const personOf: string[] = [];
  // The earlier records of the set by source identifier, verified NHS number and useful blocking key (their
  // indexes, ascending), and the NHS numbers of each person among them: a large set is not rescanned per record.
  const earlierById = new Map<string, number[]>();
  const earlierByNhs = new Map<string, number[]>();
  const earlierByKey = new Map<string, number[]>();
  const earlierNhsOf = new Map<string, Set<string>>();
  const push = (m: Map<string, number[]>, key: string, n: number) => {
    const list = m.get(key);
    if (list) list.push(n);
    else m.set(key, [n]);
  };
  const proposed: Array<{ n: number; review: Parameters<typeof openReviews>[1][number] }> = [];
  for (const [n, r] of records.entries()) {
    const a = await decideOne(n, r);
    out.push(a);
    const person = a.personId !== '' ? a.personId : founded(a.founder ?? n);
    personOf.push(person);
    for (const i of sourceIdsOf[n] ?? []) push(earlierById, `${i.system}|${i.value}`, n);
    const nhs = verifiedNhs(r.record);
    if (nhs !== undefined) push(earlierByNhs, nhs, n);
    for (const key of useful[n] ?? []) push(earlierByKey, key, n);
    if (r.record.nhsNumber !== undefined) {
      const set = earlierNhsOf.get(person);
      if (set) set.add(r.record.nhsNumber);
      else earlierNhsOf.set(person, new Set([r.record.nhsNumber]));
    }
  }
  const opened = new Set(
    await openReviews(
      tx,
      proposed.map((p) => p.review),
      ctx.now().toISOString(),
    ),
  );
  for (const p of proposed) if (opened.has(p.review.id)) out[p.n]?.reviews.push(p.review.id);
  return out;

  function asAssignment(person: string, rest: Omit<Assignment, 'personId'>): SetAssignment {
    const m = person.startsWith(FOUNDED) ? Number(person.slice(FOUNDED.length)) : undefined;
    return m !== undefined ? { ...rest, personId: '', founder: m } : { ...rest, personId: person };
  }

  async function decideOne(n: number, r: NewRecord): Promise<SetAssignment> {
    const same = dbSame[n];
    if (same)
      return { personId: same.personId, kind: LINK_KINDS.deterministic, method: 'source-identifier', reviews: [] };
    const ids = new Set((sourceIdsOf[n] ?? []).map((i) => `${i.system}|${i.value}`));
    let earlierSame = -1;
    for (const id of ids)
      for (const k of earlierById.get(id) ?? [])
        if (records[k]?.patientId !== r.patientId) {
          if (earlierSame < 0 || k < earlierSame) earlierSame = k;
          break;
        }
    if (earlierSame >= 0)
      return asAssignment(personOf[earlierSame] as string, {
        kind: LINK_KINDS.deterministic,
        method: 'source-identifier',
        reviews: [],
      });

    const nhs = verifiedNhs(r.record);
    if (nhs !== undefined) {
      const holders = [
        ...(byNhs.get(nhs) ?? []).map((l) => ({ patientId: l.patientId, personId: l.personId })),
        ...(earlierByNhs.get(nhs) ?? []).map((k) => ({
          patientId: records[k]?.patientId as string,
          personId: personOf[k] as string,
        })),
      ];
      const blocked = new Set(
        holders.filter((h) => notSame.has(pair(r.patientId, h.patientId))).map((h) => h.personId),
      );
      const allowed = [...new Set(holders.map((h) => h.personId))].filter((p) => !blocked.has(p));
      // The one person holding the number verified, when the demographics agree with it (date of birth up to
      // a day/month swap or one digit, sex, names): otherwise the holder is reviewed with the reason below.
      const holderRecords = [
        ...(byNhs.get(nhs) ?? []).map((l) => ({ personId: l.personId, record: l.record })),
        ...(earlierByNhs.get(nhs) ?? []).map((k) => ({
          personId: personOf[k] as string,
          record: records[k]?.record as MatchRecord,
        })),
      ].filter((h) => h.personId === allowed[0]);
      if (allowed.length === 1 && holderRecords.some((h) => !nhsDisagrees(engine.score(r.record, h.record).guards)))
        return asAssignment(allowed[0] as string, {
          kind: LINK_KINDS.deterministic,
          method: 'nhs-number',
          reviews: [],
        });
    }

    if (!candidates.has(n)) await read([n]);
    const sharedWith = new Map<number, number>();
    for (const key of new Set(useful[n]))
      for (const k of earlierByKey.get(key) ?? []) sharedWith.set(k, (sharedWith.get(k) ?? 0) + 1);
    const inSet = [...sharedWith]
      .sort((a, b) => a[0] - b[0])
      .flatMap(([k, shared]) => {
        const e = records[k] as NewRecord;
        return e.patientId !== r.patientId
          ? [{ patientId: e.patientId, personId: personOf[k] as string, record: e.record, shared }]
          : [];
      });
    const fromReads = candidates.get(n) ?? [];
    // The read candidates are at most `candidateLimit`: with none from the set, all of them (in any order:
    // what is scored is sorted below); else the best of both, by shared keys then patient id.
    const cands =
      inSet.length === 0
        ? fromReads
        : [...fromReads, ...inSet]
            .sort((a, b) => b.shared - a.shared || (a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0))
            .slice(0, engine.candidateLimit);
    if (cands.length === 0) return { personId: '', kind: LINK_KINDS.new, method: 'none', reviews: [] };
    const blocked = new Set(
      notSame.size === 0 ? [] : cands.filter((c) => notSame.has(pair(r.patientId, c.patientId))).map((c) => c.personId),
    );
    // The NHS numbers of every live record of each candidate person, so that a different one anywhere counts
    // (read now for all of them, or, from memory, for each person when one of its records is scored).
    const missing = nhsNow
      ? []
      : [...new Set(cands.map((c) => c.personId))].filter((p) => !p.startsWith(FOUNDED) && !memberNhs.has(p));
    if (missing.length > 0) {
      for (const p of missing) memberNhs.set(p, NONE);
      addNhs(await reads.nhsOfPersons(tx, missing));
    }
    const nhsOf = (person: string): ReadonlySet<string> => {
      if (nhsNow && !memberNhs.has(person) && !person.startsWith(FOUNDED)) {
        memberNhs.set(person, NONE);
        addNhs(nhsNow([person]));
      }
      const held = memberNhs.get(person) ?? NONE;
      const earlier = earlierNhsOf.get(person);
      return earlier ? new Set([...held, ...earlier]) : held;
    };
    const scored: Array<{ patientId: string; personId: string; record: MatchRecord; s: PairScore }> = [];
    const recordOf = (c: { record: MatchRecord }) => c.record;
    for (const c of cands) {
      if (blocked.has(c.personId)) continue;
      // Certainly below the review threshold with no NHS number in common: decision `new`, which neither
      // links, nor reviews, nor makes a merge review; not scored (most of a large block).
      if (engine.couldMatch?.(r.record, c.record) === false) continue;
      const s = engine.score(r.record, c.record);
      const otherNhs = [...nhsOf(c.personId)].some((x) => r.record.nhsNumber !== undefined && x !== r.record.nhsNumber);
      if (otherNhs && s.decision === DECISIONS.link) {
        s.decision = DECISIONS.review;
        s.guards.push(CONFLICTING_NHS_NUMBERS);
      }
      scored.push({ patientId: c.patientId, personId: c.personId, record: c.record, s });
    }
    scored.sort((a, b) => b.s.score - a.s.score || a.patientId.localeCompare(b.patientId));
    const best = scored[0];
    const linkPersons = new Set(scored.filter((c) => c.s.decision === DECISIONS.link).map((c) => c.personId));
    let merge: { from: (typeof scored)[number]; into: (typeof scored)[number] } | undefined;
    if (linkPersons.size > 1) {
      // Above the link threshold against two persons: those persons are probably one. Unless they hold
      // different NHS numbers, a steward is asked to merge them (never merged automatically), and the record
      // links to the better one when it is clearly better (by MERGE_MARGIN bits) or the two would link to each
      // other; otherwise, or when they hold different NHS numbers, the record is reviewed against both.
      const [first, second] = [...linkPersons].map(
        (p) => scored.find((c) => c.personId === p) as (typeof scored)[number],
      );
      const nhsA = first ? nhsOf(first.personId) : new Set<string>();
      const nhsB = second ? nhsOf(second.personId) : new Set<string>();
      const clash = [...nhsA].some((x) => nhsB.size > 0 && !nhsB.has(x));
      const between = first && second && !clash ? engine.score(recordOf(first), recordOf(second)) : undefined;
      if (first && second && !clash) merge = { from: second, into: first };
      const clear =
        first !== undefined &&
        second !== undefined &&
        !clash &&
        linkPersons.size === 2 &&
        (between?.decision === DECISIONS.link || first.s.score - second.s.score >= MERGE_MARGIN);
      if (!clear) {
        for (const c of scored)
          if (c.s.decision === DECISIONS.link) {
            c.s.decision = DECISIONS.review;
            c.s.guards.push(AMBIGUOUS_PERSONS);
          }
      }
    }
    if (merge) {
      const between = engine.score(recordOf(merge.from), recordOf(merge.into));
      proposed.push({
        n,
        review: {
          id: ctx.newId(),
          patientId: merge.from.patientId,
          candidateId: merge.into.patientId,
          score: between.score,
          vector: between.vector,
          ruleVersion: engine.ruleVersion,
          reasons: [MERGE_PERSONS],
        },
      });
    }
    if (best && best.s.decision === DECISIONS.link) {
      return asAssignment(best.personId, {
        kind: LINK_KINDS.probabilistic,
        method: 'probabilistic',
        score: best.s.score,
        vector: best.s.vector,
        reviews: [],
      });
    }
    // Between the thresholds: a new person now, and one review per candidate person (best record first).
    const seen = new Set<string>();
    const toReview = scored.filter(
      (c) => c.s.decision === DECISIONS.review && !seen.has(c.personId) && seen.add(c.personId),
    );
    for (const c of toReview.slice(0, ctx.maxReviewsPerRecord ?? 3)) {
      proposed.push({
        n,
        review: {
          id: ctx.newId(),
          patientId: r.patientId,
          candidateId: c.patientId,
          score: c.s.score,
          vector: c.s.vector,
          ruleVersion: engine.ruleVersion,
          reasons: c.s.guards.length > 0 ? [...new Set(c.s.guards)] : ['score-between-thresholds'],
        },
      });
    }
    return { personId: '', kind: LINK_KINDS.new, method: 'none', reviews: [] };
  }
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

/** The items by key, each list in the items' order. */
function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = out.get(k);
    if (list) list.push(t);
    else out.set(k, [t]);
  }
  return out;
}

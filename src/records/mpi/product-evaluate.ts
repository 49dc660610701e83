/**
 * `icr mpi evaluate --product`: measures what users get. Source Patients are written through the records
 * service's set write (validation, versioned store, search index and the MPI person resolver: the same
 * blocking, rules, guards, NHS-number semantics and set-based writes as a Patient written by any channel)
 * into a scratch database; then the persons the MPI made are read back and scored against the truth,
 * which the writing never sees.
 *
 * Figures: pairs within persons (precision, recall, F1, as clusters), blocking pairs completeness (the
 * share of true pairs whose records share a blocking key: the recall ceiling), the open review queue
 * (size, share of records, how many are true matches, how many genuinely uncertain by the rules' own
 * explanation), and every false link with the fields that made it.
 */
import type { FhirResource } from '../../fhir/types.ts';
import { NHS_NUMBER_SYSTEM, NHS_VERIFICATION_EXTENSION, NHS_VERIFICATION_SYSTEM } from '../../mpi/pds/pds-patient.ts';
import type { FebrlRow } from '../../mpi/febrl.ts';
import type { MatchRecord } from '../../mpi/types.ts';
import type { Queryable } from '../../store/db.ts';
import { type LinkRow, linksPage } from '../../store/mpi-store.ts';
import { listReviews, type ReviewRow } from '../../store/mpi-store-review.ts';
import type { MatchEngine } from './engine.ts';

type Patient = FhirResource & { id: string };

/** One source (a file or a folder): its name and its Patients, in the order they are written. */
export interface EvaluationSource {
  name: string;
  patients: Patient[];
}

/** Writes one set of Patients the way every channel does; returns per-item errors (index, message). */
export type SetWriter = (patients: readonly Patient[]) => Promise<Array<{ index: number; error: string }>>;

export interface ProductEvaluationOptions {
  db: Queryable;
  write: SetWriter;
  engine: MatchEngine;
  sources: readonly EvaluationSource[];
  /** The true entity of a Patient id (used only for scoring). */
  entityOf: (patientId: string) => string | undefined;
  /** Patients per set write (default 100, as `icr import`). */
  setSize?: number;
  /** At most this many false links, missed pairs and reviews listed in the report (default 100). */
  listLimit?: number;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface PairFigures {
  pairs: number;
  truePositives: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface FalseLink {
  person: string;
  /** The record that joined a person it does not belong to, and how. */
  patient: string;
  entity: string | undefined;
  method: string;
  score: number | null;
  /** The comparison vector stored with the link: the fields that made it. */
  vector: unknown;
  record: MatchRecord;
  /** The person's records of the entity it was wrongly joined to. */
  others: Array<{ patient: string; entity: string | undefined; record: MatchRecord }>;
}

export interface ReviewSummary {
  id: string;
  patient: string;
  candidate: string;
  score: number;
  trueMatch: boolean;
  class: 'plain-match' | 'plain-non-match' | 'uncertain';
  reasons: string[];
  vector: unknown;
}

export interface ProductEvaluationReport {
  mode: 'product';
  ruleVersion: string;
  sources: Array<{ name: string; records: number; refused: number }>;
  records: number;
  refused: Array<{ source: string; patient: string; error: string }>;
  persons: number;
  entities: number;
  truePairs: number;
  /** Share of the true pairs whose two records share at least one blocking key (before the key caps). */
  pairsCompleteness: number;
  clusters: PairFigures;
  linksByMethod: Record<string, number>;
  reviews: {
    open: number;
    /** Records with at least one open review, as a share of all records written. */
    recordsWithReview: number;
    shareOfRecords: number;
    trueMatches: number;
    uncertain: number;
    plainMatches: number;
    plainNonMatches: number;
  };
  falseLinks: FalseLink[];
  falseLinkCount: number;
  /** True pairs left in two persons, with and without an open review between them. */
  missedPairs: { total: number; withReview: number; withoutSharedKey: number };
  missedSample: Array<{
    a: string;
    b: string;
    entity: string;
    review: boolean;
    a_record: MatchRecord;
    b_record: MatchRecord;
  }>;
  reviewSample: ReviewSummary[];
  seconds: number;
  recordsPerSecond: number;
}

export async function evaluateProductPath(opts: ProductEvaluationOptions): Promise<ProductEvaluationReport> {
  const started = performance.now();
  const setSize = opts.setSize ?? 100;
  const listLimit = opts.listLimit ?? 100;
  const progress = opts.onProgress ?? (() => {});
  const total = opts.sources.reduce((n, s) => n + s.patients.length, 0);
  const refused: ProductEvaluationReport['refused'] = [];
  const sources: ProductEvaluationReport['sources'] = [];
  let done = 0;
  const writeStarted = performance.now();
  for (const source of opts.sources) {
    let bad = 0;
    for (let i = 0; i < source.patients.length; i += setSize) {
      const set = source.patients.slice(i, i + setSize);
      for (const e of await opts.write(set)) {
        bad++;
        refused.push({ source: source.name, patient: set[e.index]?.id ?? '?', error: e.error });
      }
      done += set.length;
      progress(`linking ${source.name}`, done, total);
    }
    sources.push({ name: source.name, records: source.patients.length, refused: bad });
  }
  const writeSeconds = (performance.now() - writeStarted) / 1000;

  // Read back every link: the persons the MPI made.
  const links: LinkRow[] = [];
  for (let after = ''; ;) {
    const page = await linksPage(opts.db, after, 5000);
    links.push(...page);
    if (page.length < 5000) break;
    after = page[page.length - 1]?.patientId ?? '';
  }
  const entity = (id: string) => opts.entityOf(id);
  const byPerson = new Map<string, LinkRow[]>();
  for (const l of links) byPerson.set(l.personId, [...(byPerson.get(l.personId) ?? []), l]);
  const personOf = new Map(links.map((l) => [l.patientId, l.personId]));
  const byEntity = new Map<string, LinkRow[]>();
  for (const l of links) {
    const e = entity(l.patientId);
    if (e !== undefined) byEntity.set(e, [...(byEntity.get(e) ?? []), l]);
  }
  let truePairs = 0;
  for (const ls of byEntity.values()) truePairs += (ls.length * (ls.length - 1)) / 2;

  // Pairs completeness: the true pairs whose records share a blocking key.
  const keysOf = new Map(links.map((l) => [l.patientId, new Set(blockKeys(opts.engine, l.record))]));
  let blockedTrue = 0;
  const unblocked = new Set<string>();
  for (const ls of byEntity.values()) {
    for (let i = 0; i < ls.length; i++)
      for (let j = i + 1; j < ls.length; j++) {
        const a = ls[i] as LinkRow;
        const b = ls[j] as LinkRow;
        const ka = keysOf.get(a.patientId) ?? new Set<string>();
        if ([...(keysOf.get(b.patientId) ?? [])].some((k) => ka.has(k))) blockedTrue++;
        else unblocked.add(pairKey(a.patientId, b.patientId));
      }
  }

  // Clusters scored as pairs; false links.
  let predicted = 0;
  let tp = 0;
  const falseLinks: FalseLink[] = [];
  for (const [person, ls] of byPerson) {
    predicted += (ls.length * (ls.length - 1)) / 2;
    const counts = new Map<string | undefined, number>();
    for (const l of ls) counts.set(entity(l.patientId), (counts.get(entity(l.patientId)) ?? 0) + 1);
    for (const [e, c] of counts) if (e !== undefined) tp += (c * (c - 1)) / 2;
    if (counts.size <= 1) continue;
    // The entity holding most of the person owns it (ties: the entity of the record that founded the person,
    // whose id the person usually takes, else the earliest link); the others are false links.
    const rank = (e: string | undefined) => {
      const founder = ls.findIndex((l) => l.patientId === person);
      if (founder >= 0 && entity(ls[founder]?.patientId ?? '') === e) return -1;
      return Math.min(...ls.flatMap((l, i) => (entity(l.patientId) === e ? [i] : [])));
    };
    const owner = [...counts.entries()].sort((x, y) => y[1] - x[1] || rank(x[0]) - rank(y[0]))[0]?.[0];
    for (const l of ls) {
      if (entity(l.patientId) === owner) continue;
      falseLinks.push({
        person,
        patient: l.patientId,
        entity: entity(l.patientId),
        method: l.method,
        score: l.score,
        vector: l.vector,
        record: l.record,
        others: ls
          .filter((o) => entity(o.patientId) === owner)
          .map((o) => ({ patient: o.patientId, entity: entity(o.patientId), record: o.record })),
      });
    }
  }
  const linksByMethod: Record<string, number> = {};
  for (const l of links) linksByMethod[l.method] = (linksByMethod[l.method] ?? 0) + 1;

  // The open review queue.
  const reviews: ReviewRow[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await listReviews(opts.db, { status: 'open', limit: 1000, offset });
    reviews.push(...page);
    if (page.length < 1000) break;
  }
  const reviewed = new Set(reviews.map((r) => pairKey(r.patientId, r.candidateId)));
  const reviewedPersons = new Set(
    reviews.map((r) => pairKey(personOf.get(r.patientId) ?? r.patientId, personOf.get(r.candidateId) ?? r.candidateId)),
  );
  const summaries = reviews.map((r): ReviewSummary => {
    const ea = entity(r.patientId);
    return {
      id: r.id,
      patient: r.patientId,
      candidate: r.candidateId,
      score: Math.round(r.score * 1000) / 1000,
      trueMatch: ea !== undefined && ea === entity(r.candidateId),
      class: reviewClass(r.vector),
      reasons: r.reasons,
      vector: r.vector,
    };
  });

  // True pairs left apart.
  let missed = 0;
  let missedReviewed = 0;
  let missedUnblocked = 0;
  const missedSample: ProductEvaluationReport['missedSample'] = [];
  for (const [e, ls] of byEntity) {
    for (let i = 0; i < ls.length; i++)
      for (let j = i + 1; j < ls.length; j++) {
        const a = ls[i] as LinkRow;
        const b = ls[j] as LinkRow;
        if (a.personId === b.personId) continue;
        missed++;
        const review =
          reviewed.has(pairKey(a.patientId, b.patientId)) || reviewedPersons.has(pairKey(a.personId, b.personId));
        if (review) missedReviewed++;
        if (unblocked.has(pairKey(a.patientId, b.patientId))) missedUnblocked++;
        if (missedSample.length < listLimit)
          missedSample.push({
            a: a.patientId,
            b: b.patientId,
            entity: e,
            review,
            a_record: a.record,
            b_record: b.record,
          });
      }
  }

  const records = links.length;
  const recordsWithReview = new Set(reviews.map((r) => r.patientId)).size;
  return {
    mode: 'product',
    ruleVersion: opts.engine.ruleVersion,
    sources,
    records,
    refused: refused.slice(0, listLimit),
    persons: byPerson.size,
    entities: byEntity.size,
    truePairs,
    pairsCompleteness: round(truePairs === 0 ? 1 : blockedTrue / truePairs),
    clusters: pairFigures(predicted, tp, truePairs),
    linksByMethod,
    reviews: {
      open: reviews.length,
      recordsWithReview,
      shareOfRecords: round(records === 0 ? 0 : recordsWithReview / records),
      trueMatches: summaries.filter((s) => s.trueMatch).length,
      uncertain: summaries.filter((s) => s.class === 'uncertain').length,
      plainMatches: summaries.filter((s) => s.class === 'plain-match').length,
      plainNonMatches: summaries.filter((s) => s.class === 'plain-non-match').length,
    },
    falseLinks: falseLinks.slice(0, listLimit),
    falseLinkCount: falseLinks.length,
    missedPairs: { total: missed, withReview: missedReviewed, withoutSharedKey: missedUnblocked },
    missedSample,
    reviewSample: summaries.slice(0, listLimit),
    seconds: round((performance.now() - started) / 1000, 2),
    recordsPerSecond: Math.round(total / Math.max(writeSeconds, 1e-6)),
  };
}

/**
 * How the rules' own explanation (the comparison vector) classes a review: a plain match (names, date of
 * birth and sex all agree, at most a known variation, no different identifier, and the same NHS number or
 * the same address: name and date of birth alone at another address are what two people with a common name
 * look like), a plain non-match
 * (both names differ, or the date of birth differs with the given name or sex), else uncertain.
 */
export function reviewClass(vector: unknown): ReviewSummary['class'] {
  const v = (vector ?? {}) as Record<string, { level?: string } | undefined>;
  const lv = (f: string) => v[f]?.level ?? 'missing';
  const agree = new Set(['exact', 'jw92', 'nickname', 'previous', 'day-month-swapped', 'one-edit', 'squashed']);
  if (lv('nhsNumber') === 'different' || lv('otherId') === 'different') {
    return lv('given') === 'different' || lv('birthDate') === 'different' ? 'plain-non-match' : 'uncertain';
  }
  if (lv('given') === 'different' && lv('family') === 'different') return 'plain-non-match';
  if (lv('birthDate') === 'different' && (lv('given') === 'different' || lv('sex') === 'different'))
    return 'plain-non-match';
  const placed =
    lv('nhsNumber') === 'exact' ||
    ['exact', 'one-edit', 'sector'].includes(lv('postcode')) ||
    (lv('street') === 'exact' && lv('streetNumber') === 'exact');
  if (
    agree.has(lv('given')) &&
    agree.has(lv('family')) &&
    agree.has(lv('birthDate')) &&
    lv('sex') !== 'different' &&
    placed
  )
    return 'plain-match';
  return 'uncertain';
}

function blockKeys(engine: MatchEngine, record: MatchRecord): string[] {
  return engine.blockingKeys(record).filter((k) => !k.startsWith('src:'));
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

function pairFigures(pairs: number, truePositives: number, truePairs: number): PairFigures {
  const precision = pairs === 0 ? 1 : truePositives / pairs;
  const recall = truePairs === 0 ? 1 : truePositives / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { pairs, truePositives, precision: round(precision), recall: round(recall), f1: round(f1) };
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------------------------------------------------
// FEBRL-layout rows as the FHIR Patients a source system would send

export interface FebrlAsPatientsOptions {
  /** The source's name: its identifier system is `urn:icr:evaluate:<name>`. */
  source: string;
  /** The column holding an NHS number (none by default: FEBRL's `soc_sec_id` is not one). */
  nhsNumberColumn?: string;
  /** Whether the NHS numbers are verified (PDS status 01): true, false, or a column holding true/false, 1/0, 01. */
  verified?: boolean | string;
  /** A column written as a second identifier under `system` (compared as the rules' weak `otherId`). */
  otherId?: { column: string; system: string };
}

/** FEBRL rows as UK Core-shaped Patients (id from the row id; an impossible date of birth is left out). */
export function febrlAsPatients(rows: readonly FebrlRow[], opts: FebrlAsPatientsOptions): Patient[] {
  return rows.map((row) => {
    const identifier: unknown[] = [{ system: `urn:icr:evaluate:${opts.source}`, value: row.id }];
    const nhs = opts.nhsNumberColumn !== undefined ? row.get(opts.nhsNumberColumn).replace(/[\s-]/g, '') : '';
    if (nhs !== '') {
      const v = opts.verified;
      const verified = typeof v === 'string' ? /^(true|1|01|yes|y)$/i.test(row.get(v).trim()) : v === true;
      identifier.push({
        system: NHS_NUMBER_SYSTEM,
        value: nhs,
        extension: [
          {
            url: NHS_VERIFICATION_EXTENSION,
            valueCodeableConcept: { coding: [{ system: NHS_VERIFICATION_SYSTEM, code: verified ? '01' : '02' }] },
          },
        ],
      });
    }
    const other = opts.otherId !== undefined ? row.get(opts.otherId.column).replace(/\s+/g, '') : '';
    if (other !== '' && opts.otherId !== undefined) identifier.push({ system: opts.otherId.system, value: other });
    const patient: Patient = { resourceType: 'Patient', id: patientIdFor(row.id), identifier };
    const given = row.get('given_name');
    const family = row.get('surname');
    if (given !== '' || family !== '')
      patient.name = [
        { use: 'official', ...(family !== '' ? { family } : {}), ...(given !== '' ? { given: [given] } : {}) },
      ];
    const dob = fhirDate(row.get('date_of_birth'));
    if (dob !== undefined) patient.birthDate = dob;
    const line = [
      [row.get('street_number'), row.get('address_1')].filter((x) => x !== '').join(' '),
      row.get('address_2'),
    ].filter((x) => x !== '');
    const address: Record<string, unknown> = { use: 'home' };
    if (line.length > 0) address.line = line;
    if (row.get('suburb') !== '') address.city = row.get('suburb');
    if (row.get('state') !== '') address.district = row.get('state');
    if (row.get('postcode') !== '') address.postalCode = row.get('postcode');
    if (Object.keys(address).length > 1) patient.address = [address];
    return patient;
  });
}

/** A FHIR id for a row id: kept when it is one, else a readable hex form of it. */
export function patientIdFor(rowId: string): string {
  return /^[A-Za-z0-9\-.]{1,64}$/.test(rowId) ? rowId : `x-${Buffer.from(rowId).toString('hex').slice(0, 62)}`;
}

/** `YYYYMMDD` as a FHIR date when it is a real calendar date. */
function fhirDate(raw: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(raw.trim());
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || y < 1800)
    return undefined;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

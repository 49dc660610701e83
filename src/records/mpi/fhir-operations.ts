/**
 * The MPI's FHIR operations, as records-level functions the HTTP layer routes (access decisions and audit
 * are the caller's, like every records-level read):
 *
 * - `Patient/$match` (FHIR R4 / IHE PDQm ITI-119): Parameters with a Patient, onlyCertainMatches, count →
 *   a searchset Bundle of source Patient records with `search.score` (0–1) and the match-grade extension.
 * - `Patient/$ihe-pix` (IHE PIXm ITI-83): sourceIdentifier, targetSystem → Parameters with targetIdentifier
 *   and targetId for every source record linked to the same person.
 *
 * PDQm search itself (family, given, birthdate, gender, identifier, address-postalcode, telecom) is the
 * ordinary Patient search: see `PDQM_SEARCH_PARAMETERS`.
 */
import type { FhirResource } from '../../fhir/types.ts';
import { NHS_NUMBER_SYSTEM } from '../../mpi/pds/pds-patient.ts';
import { DECISIONS, type MatchRecord } from '../../mpi/types.ts';
import { IcrError } from '../../shared/errors.ts';
import type { Db } from '../../store/db.ts';
import {
  candidatesByBlocks,
  identifiersOf as storedIdentifiers,
  linksByIdentifiers,
  linksByNhsNumber,
  linksOfPerson,
  patientResources,
  restrictedPatients,
} from '../../store/mpi-store.ts';
import type { MatchEngine } from './engine.ts';

export const MATCH_GRADE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/match-grade';
export const MATCH_GRADES = {
  certain: 'certain',
  probable: 'probable',
  possible: 'possible',
  certainlyNot: 'certainly-not',
} as const;
export type MatchGrade = (typeof MATCH_GRADES)[keyof typeof MATCH_GRADES];

/** The IHE PDQm search parameters; each is an ordinary R4 Patient search parameter. */
export const PDQM_SEARCH_PARAMETERS = [
  '_id',
  'active',
  'family',
  'given',
  'identifier',
  'telecom',
  'birthdate',
  'address',
  'address-city',
  'address-country',
  'address-postalcode',
  'address-state',
  'gender',
] as const;

export interface MatchInput {
  patient: FhirResource;
  onlyCertainMatches: boolean;
  count: number;
}

/** Reads the $match input Parameters (or a bare Patient). */
export function readMatchParameters(body: unknown): MatchInput {
  const b = body as FhirResource | null;
  if (b?.resourceType === 'Patient') return { patient: b, onlyCertainMatches: false, count: 10 };
  if (b?.resourceType !== 'Parameters' || !Array.isArray(b.parameter)) {
    throw new IcrError(
      'ICR_BAD_REQUEST',
      '$match expects a Parameters resource with a "resource" parameter holding a Patient',
    );
  }
  const params = b.parameter as Array<{
    name?: string;
    resource?: FhirResource;
    valueBoolean?: boolean;
    valueInteger?: number;
  }>;
  const patient = params.find((p) => p.name === 'resource')?.resource;
  if (patient?.resourceType !== 'Patient')
    throw new IcrError('ICR_BAD_REQUEST', '$match: the "resource" parameter must be a Patient');
  const count = params.find((p) => p.name === 'count')?.valueInteger;
  if (count !== undefined && (!Number.isInteger(count) || count < 1))
    throw new IcrError('ICR_BAD_REQUEST', '$match: count must be a positive integer');
  return {
    patient,
    onlyCertainMatches: params.find((p) => p.name === 'onlyCertainMatches')?.valueBoolean === true,
    count: Math.min(count ?? 10, 100),
  };
}

/**
 * FS weight → 0..1: the review threshold is 0.5, the link threshold 0.8, rising to 1 at twice the link
 * threshold. A verified NHS number or the same source identifier scores 1.
 */
export function matchScore(weight: number, thresholds: { link: number; review: number }): number {
  const { link, review } = thresholds;
  const s =
    weight >= link
      ? 0.8 + 0.2 * Math.min(1, (weight - link) / Math.max(link, 1))
      : weight >= review
        ? 0.5 + (0.3 * (weight - review)) / Math.max(link - review, 1)
        : (0.5 * Math.max(0, weight)) / Math.max(review, 1);
  return Math.round(s * 1000) / 1000;
}

interface Hit {
  patientId: string;
  score: number;
  grade: MatchGrade;
}

/** `$match`'s answer: the searchset Bundle as JSON text and how many candidates it carries. */
export interface MatchFound {
  json: string;
  returned: number;
}

/**
 * Patient/$match: returns the searchset Bundle as JSON text (stored Patient text embedded as is), with how
 * many candidates it carries (what the audit entry says was returned).
 */
export async function patientMatch(
  db: Db,
  engine: MatchEngine,
  input: MatchInput,
  baseUrl: string,
): Promise<MatchFound> {
  const { thresholds } = engine;
  const record: MatchRecord = engine.record({ ...input.patient, id: '$match' });
  const hits = new Map<string, Hit>();
  const add = (h: Hit) => {
    const prev = hits.get(h.patientId);
    if (!prev || prev.score < h.score) hits.set(h.patientId, h);
  };
  const ids = identifierList(input.patient).filter((i) => i.system !== NHS_NUMBER_SYSTEM);
  for (const l of await linksByIdentifiers(db, ids)) add({ patientId: l.patientId, score: 1, grade: 'certain' });
  if (record.nhsNumber && record.nhsVerified) {
    for (const l of await linksByNhsNumber(db, record.nhsNumber))
      if (l.nhsVerified) add({ patientId: l.patientId, score: 1, grade: 'certain' });
  }
  const candidates = await candidatesByBlocks(db, engine.blockingKeys(record), {
    limit: engine.candidateLimit,
    maxPerKey: engine.maxBlockSize,
  });
  // A restricted person's address, telecom and GP are withheld (DESIGN.md §6): they are scored without them,
  // so that a match cannot confirm where a restricted person lives or how to reach them.
  const restricted = await restrictedPatients(
    db,
    candidates.map((c) => c.patientId),
  );
  const withoutWithheld =
    restricted.size > 0 ? engine.record({ ...withheldRemoved(input.patient), id: '$match' }) : record;
  for (const c of candidates) {
    const s = engine.score(restricted.has(c.patientId) ? withoutWithheld : record, c.record);
    if (s.decision === DECISIONS.new && s.score < thresholds.review) continue;
    const score = matchScore(s.score, thresholds);
    const grade: MatchGrade = s.decision === DECISIONS.link ? 'certain' : score >= 0.65 ? 'probable' : 'possible';
    add({ patientId: c.patientId, score, grade });
  }
  let list = [...hits.values()].sort((a, b) => b.score - a.score || a.patientId.localeCompare(b.patientId));
  if (input.onlyCertainMatches) list = list.filter((h) => h.grade === 'certain');
  list = list.slice(0, input.count);
  const texts = await patientResources(
    db,
    list.map((h) => h.patientId),
  );
  const entries = list
    .filter((h) => texts.has(h.patientId))
    .map((h) => {
      const search = { mode: 'match', extension: [{ url: MATCH_GRADE_EXTENSION, valueCode: h.grade }], score: h.score };
      return `{"fullUrl":${JSON.stringify(`${baseUrl}/Patient/${h.patientId}`)},"resource":${texts.get(h.patientId)},"search":${JSON.stringify(search)}}`;
    });
  return {
    json: `{"resourceType":"Bundle","type":"searchset","total":${entries.length},"entry":[${entries.join(',')}]}`,
    returned: entries.length,
  };
}

/** The Patient without the elements withheld for restricted persons (address, telecom, generalPractitioner). */
function withheldRemoved(p: FhirResource): FhirResource {
  const { address: _address, telecom: _telecom, generalPractitioner: _gp, ...rest } = p as Record<string, unknown>;
  return rest as FhirResource;
}

function identifierList(p: FhirResource): Array<{ system: string; value: string }> {
  const ids = Array.isArray(p.identifier) ? (p.identifier as Array<{ system?: unknown; value?: unknown }>) : [];
  return ids.filter(
    (i): i is { system: string; value: string } => typeof i.system === 'string' && typeof i.value === 'string',
  );
}

/** Reads `sourceIdentifier` (`system|value`) and `targetSystem` (repeatable) from query parameters. */
export function readPixParameters(params: URLSearchParams): {
  sourceIdentifier: { system: string; value: string };
  targetSystems: string[];
} {
  const raw = params.get('sourceIdentifier');
  const bar = raw?.indexOf('|') ?? -1;
  if (!raw || bar <= 0 || bar === raw.length - 1) {
    throw new IcrError('ICR_BAD_REQUEST', '$ihe-pix: sourceIdentifier must be given as system|value');
  }
  return {
    sourceIdentifier: { system: raw.slice(0, bar), value: raw.slice(bar + 1) },
    targetSystems: params
      .getAll('targetSystem')
      .flatMap((s) => s.split(','))
      .filter((s) => s !== ''),
  };
}

/** `$ihe-pix`'s answer, with the persons it cross-referenced, the Patients returned and those holding the identifier. */
export interface PixFound {
  parameters: FhirResource;
  personIds: string[];
  patientIds: string[];
  sourcePatientIds: string[];
}

/**
 * Patient/$ihe-pix: the identifiers and Patient ids of every source record of the same person, with whose
 * records it cross-referenced: the persons the source identifier belongs to, the Patient ids returned and those
 * holding the identifier (what the audit entry names, so that the lookup is in the person's access report).
 */
export async function patientPix(
  db: Db,
  q: { sourceIdentifier: { system: string; value: string }; targetSystems: readonly string[] },
): Promise<PixFound> {
  const source =
    q.sourceIdentifier.system === NHS_NUMBER_SYSTEM
      ? await linksByNhsNumber(db, q.sourceIdentifier.value.replace(/[\s-]/g, ''))
      : await linksByIdentifiers(db, [q.sourceIdentifier]);
  const personIds = [...new Set(source.map((l) => l.personId))];
  if (personIds.length === 0) throw new IcrError('ICR_NOT_FOUND', '$ihe-pix: no patient holds the sourceIdentifier');
  const members = (await Promise.all(personIds.map((p) => linksOfPerson(db, p)))).flat();
  const patientIds = [...new Set(members.map((m) => m.patientId))].sort();
  const idents = await storedIdentifiers(db, patientIds);
  const targets = new Set(q.targetSystems);
  const parameter: unknown[] = [];
  const seen = new Set<string>();
  for (const i of idents) {
    if (targets.size > 0 && !targets.has(i.system)) continue;
    if (i.system === q.sourceIdentifier.system && i.value === q.sourceIdentifier.value) continue;
    const key = `${i.system}|${i.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    parameter.push({ name: 'targetIdentifier', valueIdentifier: { system: i.system, value: i.value } });
  }
  for (const id of patientIds) parameter.push({ name: 'targetId', valueReference: { reference: `Patient/${id}` } });
  const sourcePatientIds = [...new Set(source.map((l) => l.patientId))].sort();
  return { parameters: { resourceType: 'Parameters', parameter }, personIds, patientIds, sourcePatientIds };
}

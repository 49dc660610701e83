/**
 * A person's golden demographics and the conflicts between its linked source records. Pure: no I/O.
 *
 * Authority: the Spine (PDS) snapshot when the person has one; otherwise, field by field, the best-quality
 * source record that holds the field (verified NHS number first, then the most complete, then the most
 * recently linked). A restricted person (PDS `R` or `V`) has no address, telecom or GP in the golden
 * record, whichever source holds them: they are listed in `withheld` instead.
 */
import type { MatchRecord } from '../../mpi/types.ts';
import type { PdsPatient } from '../../mpi/pds/pds-patient.ts';

export interface GoldenSource {
  patientId: string;
  /** The stored Patient resource (parsed), or undefined when it is not stored yet. */
  patient: Record<string, unknown> | undefined;
  record: MatchRecord;
  at: string;
  retired: boolean;
}

/** What PDS said, kept on the person (restricted persons' address, telecom and GP are never kept). */
export type PdsSnapshot = Omit<PdsPatient, 'verified' | 'resource'> & { fetchedAt: string };

export const GOLDEN_FIELDS = [
  'nhsNumber',
  'name',
  'birthDate',
  'gender',
  'deceasedDateTime',
  'address',
  'telecom',
  'generalPractitioner',
] as const;
export type GoldenField = (typeof GOLDEN_FIELDS)[number];

const RESTRICTED_FIELDS: readonly GoldenField[] = ['address', 'telecom', 'generalPractitioner'];

export interface Golden {
  authority: 'pds' | 'source' | 'none';
  nhsNumber?: string;
  nhsVerified?: boolean;
  name?: unknown;
  birthDate?: string;
  gender?: string;
  deceasedDateTime?: string;
  address?: unknown;
  telecom?: unknown;
  generalPractitioner?: unknown;
  /** Where each field came from: a source Patient id or `pds`. */
  sources: Partial<Record<GoldenField, string>>;
  restricted: boolean;
  /** Fields left out because the person is restricted. */
  withheld: GoldenField[];
  pds?: PdsSnapshot;
}

export const CONFLICT_FIELDS = ['birthDate', 'sex', 'nhsNumber'] as const;
export type ConflictField = (typeof CONFLICT_FIELDS)[number];

export interface Conflict {
  field: ConflictField;
  /** Each distinct value and which source records (or `pds`) hold it. */
  values: Array<{ value: string; sources: string[] }>;
}

function quality(s: GoldenSource): number {
  const r = s.record;
  let q = 0;
  if (r.nhsVerified) q += 8;
  else if (r.nhsNumber) q += 2;
  for (const f of ['family', 'given', 'birthDate', 'sex', 'postcode', 'street'] as const)
    if (r[f] !== undefined) q += 1;
  return q;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && v !== '';
}

function sourceField(p: Record<string, unknown>, field: GoldenField, r: MatchRecord): unknown {
  switch (field) {
    case 'nhsNumber':
      return r.nhsNumber;
    default:
      return p[field];
  }
}

export function computeGolden(
  sources: readonly GoldenSource[],
  pds?: PdsSnapshot,
): { golden: Golden; conflicts: Conflict[] } {
  const live = sources.filter((s) => !s.retired);
  const ranked = [...live].sort(
    (a, b) => quality(b) - quality(a) || b.at.localeCompare(a.at) || a.patientId.localeCompare(b.patientId),
  );
  const restricted = pds?.restricted === true;
  const golden: Golden = {
    authority: pds ? 'pds' : ranked.length > 0 ? 'source' : 'none',
    sources: {},
    restricted,
    withheld: [],
  };
  if (pds) golden.pds = pds;

  for (const field of GOLDEN_FIELDS) {
    if (restricted && RESTRICTED_FIELDS.includes(field)) {
      golden.withheld.push(field);
      continue;
    }
    const fromPds = pds ? (field === 'nhsNumber' ? pds.nhsNumber : pds[field]) : undefined;
    if (present(fromPds)) {
      (golden as unknown as Record<string, unknown>)[field] = fromPds;
      golden.sources[field] = 'pds';
      continue;
    }
    for (const s of ranked) {
      const v = s.patient
        ? sourceField(s.patient, field, s.record)
        : field === 'nhsNumber'
          ? s.record.nhsNumber
          : undefined;
      if (present(v)) {
        (golden as unknown as Record<string, unknown>)[field] = v;
        golden.sources[field] = s.patientId;
        break;
      }
    }
  }
  if (golden.nhsNumber !== undefined) {
    golden.nhsVerified =
      golden.sources.nhsNumber === 'pds' ||
      live.some((s) => s.record.nhsNumber === golden.nhsNumber && s.record.nhsVerified === true);
  }
  return { golden, conflicts: findConflicts(live, pds) };
}

/** Fields on which the linked records (and PDS) disagree. Missing values never conflict. */
export function findConflicts(sources: readonly GoldenSource[], pds?: PdsSnapshot): Conflict[] {
  const out: Conflict[] = [];
  for (const field of CONFLICT_FIELDS) {
    const byValue = new Map<string, string[]>();
    const add = (value: string | undefined, who: string) => {
      if (value === undefined || value === '') return;
      const list = byValue.get(value);
      if (list) list.push(who);
      else byValue.set(value, [who]);
    };
    for (const s of sources) add(s.record[field], s.patientId);
    if (pds) {
      if (field === 'nhsNumber') add(pds.nhsNumber, 'pds');
      if (field === 'birthDate') add(pds.birthDate?.replaceAll('-', ''), 'pds');
      if (field === 'sex')
        add(pds.gender === 'male' || pds.gender === 'female' || pds.gender === 'other' ? pds.gender : undefined, 'pds');
    }
    if (field === 'birthDate') mergePartialDates(byValue);
    if (byValue.size > 1) {
      out.push({
        field,
        values: [...byValue]
          .map(([value, who]) => ({ value, sources: who.sort() }))
          .sort((a, b) => a.value.localeCompare(b.value)),
      });
    }
  }
  return out;
}

/** A partial date (`1956` or `195604`) agrees with a full date that starts with it: not a conflict. */
function mergePartialDates(byValue: Map<string, string[]>): void {
  const values = [...byValue.keys()];
  for (const v of values) {
    if (v.length === 8) continue;
    const fuller = values.find((w) => w !== v && w.length > v.length && w.startsWith(v));
    if (fuller !== undefined) {
      byValue.get(fuller)?.push(...(byValue.get(v) ?? []));
      byValue.delete(v);
    }
  }
}

/**
 * The MPI review page's comparison: every demographic field of the two records on one row, whether they
 * agree, and the comparison level and weight the rules gave it; then the total against the thresholds.
 * No I/O here.
 */
import type { MatchRecord } from '../../mpi/types.ts';

export interface CompareRow {
  field: string;
  label: string;
  left: string;
  right: string;
  /** `same`: equal values; `different`: both present and unequal; `missing`: one side or both empty. */
  agreement: 'same' | 'different' | 'missing';
  /** The rules' comparison level for the field (`exact`, `fuzzy`, `else`, `missing`…), when scored. */
  level: string | null;
  /** The field's match weight (log-likelihood ratio) in the total, when scored. */
  weight: number | null;
}

const FIELDS: ReadonlyArray<readonly [keyof MatchRecord, string]> = [
  ['nhsNumber', 'NHS number'],
  ['otherId', 'Other identifier'],
  ['family', 'Family name'],
  ['formerFamilies', 'Former family names'],
  ['given', 'Given name'],
  ['middle', 'Middle name'],
  ['birthDate', 'Date of birth'],
  ['sex', 'Sex'],
  ['postcode', 'Postcode'],
  ['streetNumber', 'House number'],
  ['street', 'Street'],
  ['locality', 'Locality'],
  ['town', 'Town'],
  ['region', 'County or region'],
];

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `YYYYMMDD` → `14 Jul 1945` (and `YYYYMM` → `Jul 1945`, `YYYY` as it is). */
export function birthDateText(v: string): string {
  const m = /^(\d{4})(\d{2})?(\d{2})?$/.exec(v);
  if (!m) return v;
  const month = m[2] ? MONTHS[Number(m[2]) - 1] : undefined;
  if (m[2] && !month) return v;
  return [m[3] ? String(Number(m[3])) : '', month ?? '', m[1]].filter((s) => s !== '').join(' ');
}

function text(record: MatchRecord | null, field: keyof MatchRecord): string {
  const v = record?.[field];
  if (v === undefined) return '';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (field === 'nhsNumber' && typeof v === 'string' && /^\d{10}$/.test(v)) {
    return `${v.slice(0, 3)} ${v.slice(3, 6)} ${v.slice(6)}${record?.nhsVerified ? ' (verified)' : ''}`;
  }
  if (field === 'birthDate' && typeof v === 'string') return birthDateText(v);
  return String(v);
}

function scored(vector: unknown, field: string): { level: string | null; weight: number | null } {
  if (typeof vector !== 'object' || vector === null) return { level: null, weight: null };
  const f = (vector as Record<string, unknown>)[field];
  if (typeof f !== 'object' || f === null) return { level: null, weight: null };
  const { level, weight } = f as { level?: unknown; weight?: unknown };
  return {
    level: typeof level === 'string' ? level : null,
    weight: typeof weight === 'number' && Number.isFinite(weight) ? weight : null,
  };
}

/**
 * One row per field that either record holds or the rules scored, in a fixed order, so that the two
 * records line up field by field.
 */
export function compareRows(left: MatchRecord | null, right: MatchRecord | null, vector: unknown): CompareRow[] {
  const rows: CompareRow[] = [];
  for (const [field, label] of FIELDS) {
    const l = text(left, field);
    const r = text(right, field);
    const s = scored(vector, field);
    if (l === '' && r === '' && s.level === null) continue;
    const agreement = l === '' || r === '' ? 'missing' : normalised(l) === normalised(r) ? 'same' : 'different';
    rows.push({ field, label, left: l, right: r, agreement, level: s.level, weight: s.weight });
  }
  return rows;
}

function normalised(s: string): string {
  return s.replace(/ \(verified\)$/, '').toUpperCase();
}

export type ScoreBand = 'link' | 'review' | 'below';

/** Where a total score falls against the thresholds of the rules. */
export function scoreBand(score: number, thresholds: { link: number; review: number }): ScoreBand {
  if (score >= thresholds.link) return 'link';
  if (score >= thresholds.review) return 'review';
  return 'below';
}

/** The sum of the per-field weights shown (equals the score when the rules scored every field shown). */
export function weightSum(rows: readonly CompareRow[]): number {
  return rows.reduce((sum, r) => sum + (r.weight ?? 0), 0);
}

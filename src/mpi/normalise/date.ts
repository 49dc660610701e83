/**
 * Dates of birth to digits: `YYYYMMDD`, or `YYYYMM` / `YYYY` when only part is known.
 *
 * Accepted input: `YYYY-MM-DD` (FHIR), `YYYYMMDD` (HL7 v2, FEBRL), `DD/MM/YYYY` and `DD-MM-YYYY`
 * (UK order), `YYYY-MM`, `YYYY`. A month or day of 00 makes the date partial. A well-formed date that
 * does not exist (30 February, month 15) is kept as its digits: it is usually one keystroke from the
 * true date, or the day and month swapped, which the comparison levels detect. Such a date is never
 * used as a blocking key unless swapping day and month makes it real. Years before 1880 or after next
 * year, and placeholders such as 1900-01-01, are treated as missing.
 */

const PLACEHOLDER_DATES = new Set(['19000101', '18000101', '19010101']);
const MIN_YEAR = 1880;

export interface DateParts {
  year: number;
  month?: number;
  day?: number;
}

/** Normalised digits, or undefined when the input holds no usable date. */
export function normaliseDate(raw: string | undefined | null, now: Date = new Date()): string | undefined {
  if (raw == null) return undefined;
  const parts = parseDateParts(raw.trim());
  if (parts === undefined) return undefined;
  const maxYear = now.getUTCFullYear() + 1;
  if (parts.year < MIN_YEAR || parts.year > maxYear) return undefined;
  const { month, day } = parts;
  if (month === undefined || month === 0) return String(parts.year);
  const ym = `${parts.year}${pad(month)}`;
  if (day === undefined || day === 0) return ym;
  const digits = `${ym}${pad(day)}`;
  return PLACEHOLDER_DATES.has(digits) ? undefined : digits;
}

/** True for a full `YYYYMMDD` that is a real calendar date. */
export function isRealDate(digits: string): boolean {
  if (!/^\d{8}$/.test(digits)) return false;
  const y = Number(digits.slice(0, 4));
  const m = Number(digits.slice(4, 6));
  const d = Number(digits.slice(6, 8));
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= daysInMonth(y, m);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function parseDateParts(s: string): DateParts | undefined {
  let m = /^(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?$/.exec(s);
  if (m) return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(s);
  if (m) return { year: Number(m[3]), month: Number(m[2]), day: Number(m[1]) };
  m = /^(\d{4})-?(\d{2})$/.exec(s);
  if (m) return { year: Number(m[1]), month: Number(m[2]) };
  m = /^(\d{4})$/.exec(s);
  if (m) return { year: Number(m[1]) };
  return undefined;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

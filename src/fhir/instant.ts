/**
 * FHIR dates and instants given as request parameters (`_since`): the text must be a real date or instant
 * (no hour 24, no 31 February), and the instant it names must fall in the years 0001–9999, which both ISO
 * 8601 text and PostgreSQL's timestamptz hold.
 */

const INSTANT_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-](\d{2}):(\d{2})))?$/;

/** 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in milliseconds. */
const MIN_MS = new Date(0).setUTCFullYear(1, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** True when `text` is a FHIR date or instant (`2026-01-01`, `2026-01-01T10:00:00+01:00`) in 0001–9999. */
export function isInstantInRange(text: string): boolean {
  const m = INSTANT_RE.exec(text);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const last = new Date(Date.UTC(2000, month, 0));
  last.setUTCFullYear(year, month, 0);
  if (day > last.getUTCDate()) return false;
  if (m[4] !== undefined) {
    if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59) return false;
    if (m[9] !== undefined && (Number(m[9]) > 14 || Number(m[10]) > 59)) return false;
  }
  const ms = Date.parse(m[4] === undefined ? `${text}T00:00:00Z` : text);
  return Number.isFinite(ms) && ms >= MIN_MS && ms <= MAX_MS;
}

/**
 * Value conversions shared by indexing (stored values) and search (query values), so both sides agree:
 * dates as half-open instant ranges, strings normalised for matching, numbers with their precision range,
 * and references split into type, id and URL.
 */

import { createHash } from 'node:crypto';

/** Longest free-text value (in code points) an index column holds as it is. */
export const INDEX_KEY_MAX = 200;
/** Code points of a longer value kept in front of its digest. */
const INDEX_KEY_PREFIX = 150;

/**
 * The form of a free-text value (code, system, identifier, URL) held in an index column, so that no value
 * can exceed the b-tree row limit (2704 bytes): up to 200 code points, the value itself; longer, its first
 * 150 code points, `#` and the hex SHA-256 of the whole value (215 code points, so never equal to a value
 * kept as it is). Search compares a query value in the same form: exact match stays exact. Migration 0008
 * computes the same form in SQL for rows written before it.
 */
export function indexKey(s: string): string {
  if (s.length <= INDEX_KEY_MAX) return s;
  const points = Array.from(s);
  if (points.length <= INDEX_KEY_MAX) return s;
  const digest = createHash('sha256').update(s, 'utf8').digest('hex');
  return `${points.slice(0, INDEX_KEY_PREFIX).join('')}#${digest}`;
}

/** A half-open range [low, high) of instants as ISO text (ms precision); infinities allowed. */
export interface DateRange {
  low: string;
  high: string;
}

export const NEG_INFINITY = '-infinity';
export const POS_INFINITY = 'infinity';

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, milli: number): number {
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo, d);
  dt.setUTCHours(h, mi, s, milli);
  return dt.getTime();
}

const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * Parses a FHIR date, dateTime or instant (or a search date: `2020`, `2020-03`, `2020-03-04T10:00`) into the
 * range it denotes at its precision: `2020` → [2020-01-01, 2021-01-01). Without a time zone, UTC is assumed.
 * Returns undefined for text that is not a valid date.
 */
export function parseDateRange(text: string): DateRange | undefined {
  const m = DATE_RE.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] === undefined ? undefined : Number(m[2]);
  const day = m[3] === undefined ? undefined : Number(m[3]);
  const hour = m[4] === undefined ? undefined : Number(m[4]);
  const minute = m[5] === undefined ? undefined : Number(m[5]);
  const second = m[6] === undefined ? undefined : Number(m[6]);
  const fraction = m[7];
  const tz = m[8];
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > new Date(Date.UTC(year, month ?? 1, 0)).getUTCDate())) return undefined;
  if (hour !== undefined && (hour > 23 || (minute ?? 0) > 59 || (second ?? 0) > 59)) return undefined;
  if (year < 1) return undefined;
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  let offsetMs = 0;
  if (tz && tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    offsetMs = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60_000;
  }
  const mo = (month ?? 1) - 1;
  const d = day ?? 1;
  const naive = utc(year, mo, d, hour ?? 0, minute ?? 0, second ?? 0, ms);
  let naiveHigh: number;
  if (month === undefined) naiveHigh = utc(year + 1, 0, 1, 0, 0, 0, 0);
  else if (day === undefined) naiveHigh = utc(year, mo + 1, 1, 0, 0, 0, 0);
  else if (hour === undefined) naiveHigh = utc(year, mo, d + 1, 0, 0, 0, 0);
  else if (second === undefined) naiveHigh = naive + 60_000;
  else if (fraction === undefined) naiveHigh = naive + 1000;
  else naiveHigh = naive + Math.max(1, 10 ** (3 - fraction.length));
  const low = naive - offsetMs;
  const high = naiveHigh - offsetMs;
  return { low: instantText(low), high: instantText(high) };
}

/** 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z: the instants PostgreSQL and ISO 8601 text both hold. */
export const MIN_INSTANT_MS = utc(1, 0, 1, 0, 0, 0, 0);
export const MAX_INSTANT_MS = utc(10000, 0, 1, 0, 0, 0, 0);

/**
 * An instant as ISO text, or an infinity beyond years 0001–9999: the end of `9999-12-31` (10000-01-01) or
 * the start of `0001-01-01T00:00:00+14:00` (in year 0) have no four-digit ISO text and no PostgreSQL
 * timestamptz, but they are as far as any range can reach.
 */
export function instantText(ms: number): string {
  if (Number.isNaN(ms)) throw new RangeError('not an instant');
  if (ms < MIN_INSTANT_MS) return NEG_INFINITY;
  if (ms >= MAX_INSTANT_MS) return POS_INFINITY;
  return new Date(ms).toISOString();
}

/** Milliseconds of an instant text from `instantText`, infinities included. */
export function instantMs(text: string): number {
  if (text === NEG_INFINITY) return Number.NEGATIVE_INFINITY;
  if (text === POS_INFINITY) return Number.POSITIVE_INFINITY;
  return Date.parse(text);
}

const PLAIN_RE = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

/** Lower-case, accents stripped, whitespace collapsed: the form string search compares. */
export function normaliseString(s: string): string {
  if (PLAIN_RE.test(s)) return s.toLowerCase();
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** Escapes `%`, `_` and `\` for a LIKE pattern (default escape character `\`). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A decimal with the range its written precision implies: `5.4` → [5.35, 5.45). */
export interface NumberRange {
  value: string;
  low: string;
  high: string;
}

const NUMBER_RE = /^[+-]?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

export function parseNumberRange(text: string): NumberRange | undefined {
  const m = NUMBER_RE.exec(text.trim());
  if (!m) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) return undefined;
  const decimals = m[2]?.length ?? 0;
  const exp = m[3] === undefined ? 0 : Number(m[3]);
  const scale = decimals - exp;
  const half = 0.5 * 10 ** -scale;
  const fmt = (n: number) => (scale > 0 && scale < 20 ? n.toFixed(scale + 1) : String(n));
  return { value: String(value), low: fmt(value - half), high: fmt(value + half) };
}

/** Where a reference points: a local type and id, and/or a URL (absolute, urn:, or canonical). */
export interface ReferenceTarget {
  type?: string;
  id?: string;
  url?: string;
}

const RELATIVE_RE = /^([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;
const ABSOLUTE_RE = /^(?:https?:\/\/.+\/)([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/** Splits `Patient/1`, `https://x/fhir/Patient/1/_history/2`, `urn:uuid:…` or a canonical `url|version`. */
export function parseReference(ref: string): ReferenceTarget | undefined {
  if (ref.length === 0 || ref.startsWith('#')) return undefined;
  const rel = RELATIVE_RE.exec(ref);
  if (rel) return { type: rel[1], id: rel[2] };
  const abs = ABSOLUTE_RE.exec(ref);
  if (abs) return { type: abs[1], id: abs[2], url: ref };
  const bar = ref.indexOf('|');
  return { url: bar >= 0 ? ref.slice(0, bar) : ref };
}

/**
 * HL7 v2 data types → FHIR R4 (UK Core identifiers): timestamps, identifiers (CX, NHS number), names
 * (XPN), addresses (XAD), telecoms (XTN), coded values (CE/CWE), and stable ids derived from the source
 * system's identifiers so that the same message twice gives the same resources. Pure, no I/O.
 */
import { hash } from 'node:crypto';
import { isValidNhsNumber } from '../../mpi/normalise/nhs-number.ts';
import type { Hl7Message, Hl7Segment, Hl7Value } from '../hl7v2/message.ts';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';

/** Everything a mapping needs besides the message. */
export interface MappingContext {
  feedId: string;
  /** The feed's organisation (ODS code). */
  orgOds: string;
}

/** A mapping error: the message cannot become FHIR as it is (named by segment and field, never by value). */
export class MappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MappingError';
  }
}

/** A stable FHIR id from the feed and the source's own keys. */
export function stableId(ctx: MappingContext, kind: string, ...keys: string[]): string {
  // The one-shot `hash` gives the same digest as createHash().update().digest() without the Hash object.
  return `v2-${hash('sha256', [ctx.feedId, kind, ...keys].join('\u001f'), 'hex').slice(0, 40)}`;
}

/** A system URI for a local identifier namespace of this feed (assigning authority or the field). */
export function localSystem(ctx: MappingContext, namespace: string): string {
  const ns = namespace.replace(/[^A-Za-z0-9._-]/g, '_') || 'id';
  return `urn:openicr:feed:${ctx.feedId}:${ns}`;
}

const LONDON = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', timeZoneName: 'longOffset' });

/** The offset changes only at the DST boundaries: remembered per hour (bounded), Intl is slow. */
const OFFSETS = new Map<number, string>();

function londonOffset(utcGuess: Date): string {
  const hour = Math.floor(utcGuess.getTime() / 3_600_000);
  const known = OFFSETS.get(hour);
  if (known !== undefined) return known;
  const offset = londonOffsetNow(utcGuess);
  if (OFFSETS.size >= 10_000) OFFSETS.clear();
  OFFSETS.set(hour, offset);
  return offset;
}

function londonOffsetNow(utcGuess: Date): string {
  const name = LONDON.formatToParts(utcGuess).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-]\d{2}):?(\d{2})?/.exec(name);
  return m ? `${m[1]}:${m[2] ?? '00'}` : '+00:00';
}

/**
 * HL7 TS/DTM (YYYY[MM[DD[HH[MM[SS[.S…]]]]]][±ZZZZ]) → FHIR date or dateTime. A time without an offset is
 * taken as UK local time (the feeds this product serves). Returns undefined for text that is no timestamp.
 */
export function hl7DateTime(raw: string): string | undefined {
  const m = /^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,4}))?)?\s*([+-]\d{4})?$/.exec(raw.trim());
  if (!m) return undefined;
  const [, y, mo, d, hh, mi, ss, frac, tz] = m;
  const month = Number(mo ?? '1');
  const day = Number(d ?? '1');
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  if (!mo) return y;
  if (!d) return `${y}-${mo}`;
  if (!hh) return `${y}-${mo}-${d}`;
  if (Number(hh) > 23 || Number(mi ?? '0') > 59 || Number(ss ?? '0') > 59) return undefined;
  const time = `${hh}:${mi ?? '00'}:${ss ?? '00'}${frac ? `.${frac}` : ''}`;
  const offset = tz
    ? `${tz.slice(0, 3)}:${tz.slice(3)}`
    : londonOffset(new Date(`${y}-${mo}-${d}T${hh}:${mi ?? '00'}:00Z`));
  return `${y}-${mo}-${d}T${time}${offset}`;
}

/** HL7 date (of birth): the date part only. */
export function hl7Date(raw: string): string | undefined {
  const dt = hl7DateTime(raw);
  return dt?.slice(0, 10).length === 10 ? dt.slice(0, 10) : dt;
}

/** Whether a CX repetition carries an NHS number (authority NHS, or type NH/HN/NHSNMBR) with 10 digits. */
export function nhsNumberOf(cx: Hl7Value): string | undefined {
  const authority = `${cx.c(4)}${cx.c(4, 2)}`.toUpperCase();
  const type = cx.c(5).toUpperCase();
  const digits = cx.c(1).replace(/\s+/g, '');
  const flagged = authority.startsWith('NHS') || type === 'NH' || type === 'HN' || type === 'NHSNMBR';
  return flagged && /^\d{10}$/.test(digits) ? digits : undefined;
}

/** PID-3 (and PID-2, PID-19 where an older sender put the NHS number) → FHIR identifiers. */
export function patientIdentifiers(ctx: MappingContext, pid: Hl7Segment): Array<Record<string, unknown>> {
  const out = cxIdentifiers(ctx, [...pid.reps(3), ...pid.reps(2)]);
  const ssnNhs = pid.get(19).replace(/\s+/g, '');
  if (
    /^\d{10}$/.test(ssnNhs) &&
    isValidNhsNumber(ssnNhs) &&
    !out.some((i) => i.system === NHS_NUMBER_SYSTEM && i.value === ssnNhs)
  ) {
    out.push({ system: NHS_NUMBER_SYSTEM, value: ssnNhs });
  }
  return out;
}

/** A list of CX values (PID-3, MRG-1…) → FHIR identifiers: NHS numbers recognised, free text skipped. */
export function cxIdentifiers(ctx: MappingContext, cxs: readonly Hl7Value[]): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const seen = new Set<string>();
  const push = (system: string, value: string, extra: Record<string, unknown> = {}) => {
    const key = `${system}|${value}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ system, value, ...extra });
  };
  for (const cx of cxs) {
    const value = cx.c(1).trim();
    if (value === '') continue;
    const nhs = nhsNumberOf(cx);
    if (nhs) {
      push(NHS_NUMBER_SYSTEM, nhs, isValidNhsNumber(nhs) ? {} : { use: 'old' });
      continue;
    }
    if (/\s/.test(value) && !/^\d{3} \d{3} \d{4}$/.test(value)) continue; // free text, not an identifier
    const digits = value.replace(/\s+/g, '');
    if (/^\d{10}$/.test(digits) && /^\d{3} \d{3} \d{4}$/.test(value)) {
      push(NHS_NUMBER_SYSTEM, digits);
      continue;
    }
    const type = cx.c(5);
    push(localSystem(ctx, cx.c(4) || type || 'mrn'), value, type ? { type: { text: type } } : {});
  }
  return out;
}

/** The key a source patient is known by: its first local identifier, else its NHS number. */
export function patientKey(ids: ReadonlyArray<Record<string, unknown>>): string | undefined {
  const local = ids.find((i) => i.system !== NHS_NUMBER_SYSTEM) ?? ids[0];
  return local ? `${String(local.system)}|${String(local.value)}` : undefined;
}

export function humanNames(seg: Hl7Segment, field: number): Array<Record<string, unknown>> {
  return seg
    .reps(field)
    .map((x) => {
      const name: Record<string, unknown> = {};
      const family = x.c(1).trim();
      const given = [x.c(2), x.c(3)].map((s) => s.trim()).filter((s) => s !== '' && s !== '""');
      if (family && family !== '""') name.family = family;
      if (given.length > 0) name.given = given;
      const prefix = x.c(5).trim();
      if (prefix) name.prefix = [prefix];
      const type = x.c(7).toUpperCase();
      if (type === 'L') name.use = 'official';
      else if (type === 'D' || type === 'N') name.use = 'usual';
      else if (type === 'M') name.use = 'maiden';
      return name;
    })
    .filter((n) => n.family !== undefined || n.given !== undefined);
}

export function addresses(seg: Hl7Segment, field: number): Array<Record<string, unknown>> {
  return seg
    .reps(field)
    .map((x) => {
      const line = [x.c(1), x.c(2)].map((s) => s.trim()).filter((s) => s !== '' && s !== '""');
      const a: Record<string, unknown> = {};
      if (line.length > 0) a.line = line;
      const city = x.c(3).trim();
      if (city) a.city = city;
      const district = x.c(4).trim();
      if (district) a.district = district;
      const postalCode = x.c(5).trim();
      if (postalCode) a.postalCode = postalCode;
      const country = x.c(6).trim();
      if (country) a.country = country;
      return a;
    })
    .filter((a) => Object.keys(a).length > 0);
}

export function telecoms(seg: Hl7Segment, field: number, use: 'home' | 'work'): Array<Record<string, unknown>> {
  return seg
    .reps(field)
    .map((x) => {
      const value = (x.c(1) || x.c(4) || `${x.c(6)}${x.c(7)}`).trim();
      if (!value || value === '""') return undefined;
      const email = x.c(3).toUpperCase() === 'INTERNET' || value.includes('@');
      return { system: email ? 'email' : 'phone', value, use };
    })
    .filter((t): t is { system: string; value: string; use: 'home' | 'work' } => t !== undefined);
}

const CODE_SYSTEMS: Record<string, string> = {
  LN: 'http://loinc.org',
  LOINC: 'http://loinc.org',
  SCT: 'http://snomed.info/sct',
  SNM: 'http://snomed.info/sct',
  SNOMED: 'http://snomed.info/sct',
  'SNOMED-CT': 'http://snomed.info/sct',
  I10: 'http://hl7.org/fhir/sid/icd-10',
  ICD10: 'http://hl7.org/fhir/sid/icd-10',
  'I10-UK': 'http://hl7.org/fhir/sid/icd-10-uk',
  OPCS4: 'http://www.datadictionary.nhs.uk/data_dictionary/attributes/o/opcs-4',
  READ: 'http://read.info/readv2',
  R2: 'http://read.info/readv2',
  CTV3: 'http://read.info/ctv3',
  UCUM: 'http://unitsofmeasure.org',
};

/** A coding system name from HL7 (table 0396) → a FHIR system URI. */
export function codeSystem(ctx: MappingContext, name: string): string {
  const known = CODE_SYSTEMS[name.toUpperCase()];
  return known ?? localSystem(ctx, `code-${name || 'local'}`);
}

/** CE/CWE → CodeableConcept (both triplets), or undefined when empty. */
export function codeable(ctx: MappingContext, v: Hl7Value | undefined): Record<string, unknown> | undefined {
  if (!v || v.isEmpty) return undefined;
  const coding: Array<Record<string, unknown>> = [];
  for (const base of [0, 3]) {
    const code = v.c(base + 1).trim();
    const display = v.c(base + 2).trim();
    const system = v.c(base + 3).trim();
    if (!code) continue;
    const c: Record<string, unknown> = { system: codeSystem(ctx, system), code };
    if (display) c.display = display;
    coding.push(c);
  }
  const text = v.c(2).trim() || v.c(5).trim() || v.c(9).trim();
  // A CE given only as a subcomponent ("&GDT") or only as text.
  if (coding.length === 0) {
    const only = (v.c(1, 2) || v.c(1, 1) || text).trim();
    if (!only) return undefined;
    return { text: only };
  }
  return text ? { coding, text } : { coding };
}

export function gender(raw: string): string | undefined {
  switch (raw.trim().toUpperCase()) {
    case 'M':
      return 'male';
    case 'F':
      return 'female';
    case 'O':
    case 'A':
      return 'other';
    case 'U':
      return 'unknown';
    default:
      return undefined;
  }
}

/** Drops keys whose value is undefined (FHIR JSON has no nulls). */
export function compact<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * XCN (a person: id, family, given, middle, suffix, prefix… assigning authority in component 9) → a FHIR
 * Reference by identifier and display (no resource of its own), or undefined when empty.
 */
export function personReference(ctx: MappingContext, v: Hl7Value | undefined): Record<string, unknown> | undefined {
  if (!v || v.isEmpty) return undefined;
  const id = v.c(1).trim();
  const display = [v.c(6), v.c(3), v.c(4), v.c(2)]
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== '""')
    .join(' ');
  const ref: Record<string, unknown> = {};
  if (id) ref.identifier = { system: localSystem(ctx, `staff-${v.c(9) || v.c(13) || 'id'}`), value: id };
  if (display) ref.display = display;
  else if (id) ref.display = id;
  return Object.keys(ref).length > 0 ? ref : undefined;
}

/** The organisation that sent the feed, as a Reference by ODS code. */
export function feedOrganisation(ctx: MappingContext): Record<string, unknown> {
  return { identifier: { system: ODS_SYSTEM, value: ctx.orgOds } };
}

/**
 * When the source recorded the event this message reports: EVN-2 (recorded date/time), else MSH-7 (the
 * message's own time). Used to keep an older message from overwriting newer data (docs/feeds.md).
 */
export function sourceEventTime(msg: Hl7Message): string | undefined {
  const evn = msg.segment('EVN');
  const t = (evn && hl7DateTime(evn.get(2))) || hl7DateTime(msg.header.dateTime);
  return t && t.length > 10 ? t : undefined;
}

/** Text as base64 (UTF-8), for attachments. */
export function base64Text(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

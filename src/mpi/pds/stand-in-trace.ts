/**
 * The stand-in's batch trace: each request row is a cross-check when its NHS number exists with the
 * same date of birth, else a demographic trace that must find exactly one person (family name, gender,
 * date of birth, and the postcode when given). Development and tests only.
 */
import { isValidNhsNumber } from '../normalise/nhs-number.ts';
import {
  parseTraceRequestCsv,
  TRACE_INDICATORS,
  traceResponseCsv,
  type TraceRequestRow,
  type TraceResponseRow,
} from './batch-trace.ts';
import type { StandInPerson } from './stand-in.ts';

const norm = (s: string | undefined) => (s ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');

function traceOne(people: readonly StandInPerson[], r: TraceRequestRow): TraceResponseRow {
  const dob = (p: StandInPerson) => p.birthDate.replaceAll('-', '');
  const answer = (p: StandInPerson | undefined, indicator: string, errorCode = ''): TraceResponseRow => ({
    reference: r.reference,
    requestedNhsNumber: r.nhsNumber ?? '',
    matchedNhsNumber: p?.nhsNumber ?? '',
    indicator,
    family: p?.family ?? '',
    given: p?.given.join(' ') ?? '',
    gender: p ? { male: '1', female: '2', other: '9', unknown: '0' }[p.gender] : '',
    birthDate: p ? dob(p) : '',
    postcode: p && (p.security ?? 'U') === 'U' ? (p.postcode ?? '') : '',
    sensitive: p !== undefined && (p.security ?? 'U') !== 'U',
    errorCode,
  });
  if (r.nhsNumber && isValidNhsNumber(r.nhsNumber)) {
    const p = people.find((x) => x.nhsNumber === r.nhsNumber);
    if (p && (!r.birthDate || dob(p) === r.birthDate)) return answer(p, TRACE_INDICATORS.crossCheck);
  }
  const found = people.filter(
    (p) =>
      norm(p.family) === norm(r.family) &&
      dob(p) === r.birthDate &&
      (!r.gender || r.gender === 'unknown' || p.gender === r.gender) &&
      (!r.postcode || norm(p.postcode) === norm(r.postcode)),
  );
  if (found.length === 1) return answer(found[0], TRACE_INDICATORS.alphanumeric);
  return answer(undefined, TRACE_INDICATORS.noMatch, found.length > 1 ? 'MULTIPLE_MATCHES' : 'NO_MATCH');
}

export function traceWith(people: readonly StandInPerson[], csv: string): string {
  return traceResponseCsv(parseTraceRequestCsv(csv).map((r) => traceOne(people, r)));
}

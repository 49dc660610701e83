/**
 * Bulk tracing against the Spine: a CSV of records out, a CSV of traced NHS numbers back. The layout
 * follows the Demographics Batch Service (DBS) request and response files in spirit (a unique reference
 * per row, NHS number, names, gender 0/1/2/9, date of birth YYYYMMDD, postcode; back: the matched NHS
 * number and the matched-algorithm indicator), with a header row. See ADR 0014. No I/O.
 */

export const TRACE_REQUEST_COLUMNS = [
  'UNIQUE_REFERENCE',
  'NHS_NO',
  'FAMILY_NAME',
  'GIVEN_NAME',
  'OTHER_GIVEN_NAME',
  'GENDER',
  'DATE_OF_BIRTH',
  'POSTCODE',
] as const;

export const TRACE_RESPONSE_COLUMNS = [
  'UNIQUE_REFERENCE',
  'REQ_NHS_NUMBER',
  'MATCHED_NHS_NO',
  'MATCHED_ALGORITHM_INDICATOR',
  'FAMILY_NAME',
  'GIVEN_NAME',
  'GENDER',
  'DATE_OF_BIRTH',
  'POSTCODE',
  'SENSITIVE_FLAG',
  'ERROR_CODE',
] as const;

/** DBS matched-algorithm indicator: 0 no match, 1 cross-check (NHS number confirmed), 3 demographic trace. */
export const TRACE_INDICATORS = { noMatch: '0', crossCheck: '1', alphanumeric: '3', algorithmic: '4' } as const;

export interface TraceRequestRow {
  reference: string;
  nhsNumber?: string;
  family?: string;
  given?: string;
  otherGiven?: string;
  gender?: 'male' | 'female' | 'other' | 'unknown';
  /** YYYYMMDD */
  birthDate?: string;
  postcode?: string;
}

export interface TraceResponseRow {
  reference: string;
  requestedNhsNumber: string;
  matchedNhsNumber: string;
  indicator: string;
  family: string;
  given: string;
  gender: string;
  birthDate: string;
  postcode: string;
  /** R/V: the person is restricted (address withheld). */
  sensitive: boolean;
  errorCode: string;
}

const GENDER_CODES = { male: '1', female: '2', other: '9', unknown: '0' } as const;

export function genderCode(g: TraceRequestRow['gender']): string {
  return g ? GENDER_CODES[g] : '0';
}

export function genderFromCode(c: string): 'male' | 'female' | 'other' | 'unknown' {
  return c === '1' ? 'male' : c === '2' ? 'female' : c === '9' ? 'other' : 'unknown';
}

function cell(v: string | undefined): string {
  const s = v ?? '';
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function writeCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | undefined>>): string {
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** RFC 4180 CSV (quoted fields, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f !== ''));
}

export function traceRequestCsv(rows: readonly TraceRequestRow[]): string {
  return writeCsv(
    TRACE_REQUEST_COLUMNS,
    rows.map((r) => [
      r.reference,
      r.nhsNumber,
      r.family,
      r.given,
      r.otherGiven,
      genderCode(r.gender),
      r.birthDate,
      r.postcode,
    ]),
  );
}

function byHeader(text: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  const names = header.map((h) => h.trim().toUpperCase());
  return rows.map((r) => Object.fromEntries(names.map((n, i) => [n, (r[i] ?? '').trim()])));
}

export function parseTraceRequestCsv(text: string): TraceRequestRow[] {
  return byHeader(text).map((r) => {
    const row: TraceRequestRow = { reference: r.UNIQUE_REFERENCE ?? '' };
    if (r.NHS_NO) row.nhsNumber = r.NHS_NO;
    if (r.FAMILY_NAME) row.family = r.FAMILY_NAME;
    if (r.GIVEN_NAME) row.given = r.GIVEN_NAME;
    if (r.OTHER_GIVEN_NAME) row.otherGiven = r.OTHER_GIVEN_NAME;
    if (r.GENDER) row.gender = genderFromCode(r.GENDER);
    if (r.DATE_OF_BIRTH) row.birthDate = r.DATE_OF_BIRTH;
    if (r.POSTCODE) row.postcode = r.POSTCODE;
    return row;
  });
}

export function traceResponseCsv(rows: readonly TraceResponseRow[]): string {
  return writeCsv(
    TRACE_RESPONSE_COLUMNS,
    rows.map((r) => [
      r.reference,
      r.requestedNhsNumber,
      r.matchedNhsNumber,
      r.indicator,
      r.family,
      r.given,
      r.gender,
      r.birthDate,
      r.postcode,
      r.sensitive ? 'Y' : '',
      r.errorCode,
    ]),
  );
}

export function parseTraceResponseCsv(text: string): TraceResponseRow[] {
  return byHeader(text).map((r) => ({
    reference: r.UNIQUE_REFERENCE ?? '',
    requestedNhsNumber: r.REQ_NHS_NUMBER ?? '',
    matchedNhsNumber: r.MATCHED_NHS_NO ?? '',
    indicator: r.MATCHED_ALGORITHM_INDICATOR ?? TRACE_INDICATORS.noMatch,
    family: r.FAMILY_NAME ?? '',
    given: r.GIVEN_NAME ?? '',
    gender: r.GENDER ?? '',
    birthDate: r.DATE_OF_BIRTH ?? '',
    postcode: r.POSTCODE ?? '',
    sensitive: (r.SENSITIVE_FLAG ?? '') !== '',
    errorCode: r.ERROR_CODE ?? '',
  }));
}

/**
 * Reader for the FEBRL record-linkage benchmark files (`rec_id, given_name, surname, ...`, values
 * separated by comma and space, LF or CRLF). Each row becomes a MatchRecord; `soc_sec_id` becomes the
 * weak identifier `otherId` (never the NHS number). The true entity of a record is read from its id
 * (`rec-123-org`, `rec-123-dup-0` → `123`) and is kept apart, for scoring only.
 */
import { readFileSync } from 'node:fs';
import { IcrError } from '../shared/errors.ts';
import { normaliseAddressLine, normaliseStreetNumber } from './normalise/address.ts';
import { normaliseDate } from './normalise/date.ts';
import { normaliseName } from './normalise/name.ts';
import { normalisePostcode } from './normalise/postcode.ts';
import { MATCH_FIELDS, type MatchRecord } from './types.ts';

export const FEBRL_COLUMNS = [
  'rec_id',
  'given_name',
  'surname',
  'street_number',
  'address_1',
  'address_2',
  'suburb',
  'postcode',
  'state',
  'date_of_birth',
  'soc_sec_id',
] as const;

export interface FebrlFile {
  path: string;
  records: MatchRecord[];
}

/** Reads and normalises a FEBRL CSV file. Errors name the file and line. */
export function readFebrl(path: string): FebrlFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new IcrError(
      'ICR_MPI_INPUT_INVALID',
      `${path}: cannot read file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return { path, records: parseFebrl(text, path) };
}

export function parseFebrl(text: string, path = 'input'): MatchRecord[] {
  return parseFebrlRows(text, path).map((row) => febrlRecord(row.id, (c) => row.get(c)));
}

/** One FEBRL row: its id, line number and a cell getter by column name (any column of the header). */
export interface FebrlRow {
  id: string;
  line: number;
  get(column: string): string;
}

/**
 * The rows of a FEBRL-layout CSV file, checked (header has the FEBRL columns and any `extraColumns`,
 * every row has as many values as the header, ids present and unique). Errors name the file and line.
 */
export function parseFebrlRows(text: string, path = 'input', extraColumns: readonly string[] = []): FebrlRow[] {
  const lines = text.split(/\r?\n/);
  const header = splitRow(lines[0] ?? '');
  const col = new Map(header.map((h, i) => [h, i]));
  const missing = [...FEBRL_COLUMNS, ...extraColumns].filter((c) => !col.has(c));
  if (missing.length > 0) {
    throw new IcrError('ICR_MPI_INPUT_INVALID', `${path}:1: header lacks column(s) ${missing.join(', ')}`);
  }
  const rows: FebrlRow[] = [];
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const cells = splitRow(line);
    if (cells.length !== header.length) {
      throw new IcrError(
        'ICR_MPI_INPUT_INVALID',
        `${path}:${i + 1}: expected ${header.length} values, found ${cells.length}`,
      );
    }
    const get = (c: string): string => cells[col.get(c) ?? -1] ?? '';
    const id = get('rec_id');
    if (id === '') throw new IcrError('ICR_MPI_INPUT_INVALID', `${path}:${i + 1}: empty rec_id`);
    if (seen.has(id)) throw new IcrError('ICR_MPI_INPUT_INVALID', `${path}:${i + 1}: rec_id ${id} repeats`);
    seen.add(id);
    rows.push({ id, line: i + 1, get });
  }
  return rows;
}

function febrlRecord(id: string, get: (c: (typeof FEBRL_COLUMNS)[number]) => string): MatchRecord {
  const r: MatchRecord = {
    id,
    given: normaliseName(get('given_name')),
    family: normaliseName(get('surname')),
    birthDate: normaliseDate(get('date_of_birth')),
    postcode: normalisePostcode(get('postcode')),
    streetNumber: normaliseStreetNumber(get('street_number')),
    street: normaliseAddressLine(get('address_1')),
    locality: normaliseAddressLine(get('address_2')),
    town: normaliseAddressLine(get('suburb')),
    region: normaliseAddressLine(get('state')),
    otherId: get('soc_sec_id').replace(/\s+/g, '') || undefined,
  };
  for (const f of MATCH_FIELDS) if (r[f] === undefined) delete r[f];
  return r;
}

/** The true entity of a FEBRL record id, for scoring only: `rec-123-dup-0` → `123`. */
export function febrlEntity(recId: string): string | undefined {
  return /^rec-(\d+)-/.exec(recId)?.[1];
}

/** Splits a FEBRL row: comma-separated, spaces around values trimmed, double quotes honoured. */
function splitRow(line: string): string[] {
  if (!line.includes('"')) return line.split(',').map((c) => c.trim());
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line.charAt(i);
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

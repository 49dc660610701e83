/**
 * NDJSON (one resource per line) read as a stream, in chunks of lines, so that a large file never sits in
 * memory whole. A malformed line becomes an entry with an error naming line and column; the other lines
 * of the chunk are still imported.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ImportBatch, ImportEntry } from '../../records/import/entries.ts';
import { parseJsonText } from './json-text.ts';

export const DEFAULT_CHUNK_LINES = 1000;

/** Parses one NDJSON line (1-based `lineNo`) into an entry. */
export function ndjsonEntry(text: string, lineNo: number): ImportEntry {
  const parsed = parseJsonText(text);
  if (!parsed.ok)
    return { position: lineNo, error: `malformed JSON at line ${lineNo}:${parsed.column} (${parsed.reason})` };
  return { position: lineNo, resource: parsed.value };
}

/** Reads an NDJSON file as batches of at most `chunkLines` entries. */
export async function* readNdjsonFile(
  file: string,
  sourceKey: string,
  chunkLines: number = DEFAULT_CHUNK_LINES,
): AsyncGenerator<ImportBatch> {
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let entries: ImportEntry[] = [];
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const text = lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    if (text.trim() === '') continue;
    entries.push(ndjsonEntry(text, lineNo));
    if (entries.length >= chunkLines) {
      yield { file, sourceKey, unit: 'line', entries, lastOfFile: false };
      entries = [];
    }
  }
  yield { file, sourceKey, unit: 'line', entries, lastOfFile: true };
}

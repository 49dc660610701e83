/**
 * Reads import files as batches for the import use case (`src/records/import/import.ts`): a JSON file (a Bundle
 * or one resource) is one batch, an NDJSON file one batch per chunk of lines. HL7 v2 files and files of
 * other kinds produce a notice, never silence.
 */
import { readFile } from 'node:fs/promises';
import { entriesFromDocument, type ImportBatch } from '../../records/import/entries.ts';
import { parseJsonText } from './json-text.ts';
import type { SourceFile } from './list-files.ts';
import { DEFAULT_CHUNK_LINES, readNdjsonFile } from './ndjson-file.ts';

export const HL7_NOT_YET = 'not yet supported: HL7 v2 import arrives with the feeds issue';

/** Turns the text of a JSON import file into one batch. */
export function jsonBatch(text: string, file: string, sourceKey: string): ImportBatch {
  const base = { file, sourceKey, lastOfFile: true };
  const parsed = parseJsonText(text);
  if (!parsed.ok) {
    return {
      ...base,
      unit: 'file',
      entries: [],
      error: `malformed JSON at line ${parsed.line}:${parsed.column} (${parsed.reason})`,
    };
  }
  const doc = entriesFromDocument(parsed.value);
  if ('error' in doc) return { ...base, unit: 'file', entries: [], error: doc.error };
  return { ...base, unit: doc.unit, entries: doc.entries };
}

async function readJsonFile(f: SourceFile): Promise<ImportBatch> {
  let text: string;
  try {
    text = await readFile(f.path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'read error';
    return {
      file: f.path,
      sourceKey: f.sourceKey,
      unit: 'file',
      entries: [],
      error: `cannot read the file (${code})`,
      lastOfFile: true,
    };
  }
  return jsonBatch(text, f.path, f.sourceKey);
}

/** Batches from the given files, in order. */
export async function* readSources(
  files: readonly SourceFile[],
  opts: { chunkLines?: number } = {},
): AsyncGenerator<ImportBatch> {
  for (const f of files) {
    const base = { file: f.path, sourceKey: f.sourceKey, unit: 'file' as const, entries: [], lastOfFile: true };
    switch (f.kind) {
      case 'json':
        yield await readJsonFile(f);
        break;
      case 'ndjson':
        try {
          yield* readNdjsonFile(f.path, f.sourceKey, opts.chunkLines ?? DEFAULT_CHUNK_LINES);
        } catch (err) {
          const code = (err as { code?: string }).code ?? 'read error';
          yield { ...base, error: `cannot read the file (${code})` };
        }
        break;
      case 'hl7':
        yield { ...base, notice: HL7_NOT_YET };
        break;
      case 'other':
        yield { ...base, notice: 'not an import file (expected .json, .ndjson or .hl7): ignored' };
        break;
    }
  }
}

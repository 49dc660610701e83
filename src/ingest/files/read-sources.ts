/**
 * Reads import files as batches for the import use case (`src/records/import/import.ts`): a JSON file (a Bundle
 * or one resource) is one batch, an NDJSON file one batch per chunk of lines, an HL7 v2 file (one or more
 * messages) one batch of the FHIR its messages map to — through the same parser and mapping as MLLP. Files
 * of other kinds produce a notice, never silence.
 */
import { readFile } from 'node:fs/promises';
import { decodeHl7, Hl7ParseError, parseMessages } from '../hl7v2/parse.ts';
import { mapMessage, MappingError, type MappingContext } from '../mapping/index.ts';
import { entriesFromDocument, type ImportBatch } from '../../records/import/entries.ts';
import { parseJsonText } from './json-text.ts';
import type { SourceFile } from './list-files.ts';
import { DEFAULT_CHUNK_LINES, readNdjsonFile } from './ndjson-file.ts';

export const HL7_NO_FEED = 'HL7 v2 files need the feed they come from (its organisation is the source)';

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

/**
 * The FHIR resources of an HL7 v2 file's messages: one batch per message (a later message about the same
 * patient updates what an earlier one wrote), positioned by message number; a message that cannot be
 * parsed or mapped is a failed entry with the reason (never its content), one of a type with no mapping
 * yet a skipped entry naming the type.
 */
export function hl7Batches(bytes: Buffer, file: string, sourceKey: string, ctx: MappingContext): ImportBatch[] {
  const base = { file, sourceKey };
  let text: string;
  try {
    text = decodeHl7(bytes);
  } catch (err) {
    if (!(err instanceof Hl7ParseError)) throw err;
    return [{ ...base, unit: 'file', entries: [], error: err.message, lastOfFile: true }];
  }
  const messages = parseMessages(text);
  if (messages.length === 0) {
    return [{ ...base, unit: 'file', entries: [], error: 'the file holds no HL7 v2 message', lastOfFile: true }];
  }
  return messages.map((m, n): ImportBatch => {
    const position = n + 1;
    const batch = { ...base, unit: 'message' as const, lastOfFile: position === messages.length };
    if (!m.message) return { ...batch, entries: [{ position, error: `HL7 v2: ${m.error?.message ?? 'malformed'}` }] };
    try {
      const mapped = mapMessage(ctx, m.message);
      if ('unsupported' in mapped) return { ...batch, entries: [{ position, requestMethod: mapped.unsupported }] };
      if (mapped.merges.length > 0) {
        // A merge moves people in the MPI: it is applied on the feed path (MLLP), never half-applied here.
        const error = `HL7 v2: ${m.message.type} (merge) is applied through an MLLP feed, not by import`;
        return { ...batch, entries: [{ position, error }] };
      }
      return { ...batch, entries: mapped.resources.map((resource) => ({ position, resource })) };
    } catch (err) {
      if (!(err instanceof MappingError)) throw err;
      return { ...batch, entries: [{ position, error: `HL7 v2 mapping: ${err.message}` }] };
    }
  });
}

/** Batches from the given files, in order. HL7 v2 files are mapped for the feed given as `hl7`. */
export async function* readSources(
  files: readonly SourceFile[],
  opts: { chunkLines?: number; hl7?: MappingContext } = {},
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
      case 'hl7': {
        if (!opts.hl7) {
          yield { ...base, notice: HL7_NO_FEED };
          break;
        }
        let bytes: Buffer;
        try {
          bytes = await readFile(f.path);
        } catch (err) {
          const code = (err as { code?: string }).code ?? 'read error';
          yield { ...base, error: `cannot read the file (${code})` };
          break;
        }
        yield* hl7Batches(bytes, f.path, f.sourceKey, opts.hl7);
        break;
      }
      case 'other':
        yield { ...base, notice: 'not an import file (expected .json, .ndjson or .hl7): ignored' };
        break;
    }
  }
}

/**
 * What the import use case consumes: batches of entries read from files (by `src/ingest/files/`) or built
 * in memory (the demo load). One batch is one Bundle, one single resource, or one chunk of NDJSON lines;
 * each batch is written with one `putMany` call.
 *
 * `entriesFromDocument` turns a parsed JSON document (a Bundle or a single resource) into entries. It is
 * pure: it knows FHIR Bundle shapes, not files.
 */
import type { ErrorCode } from '../../shared/errors.ts';

/** One resource (or one unreadable line) from a source file. */
export interface ImportEntry {
  /** Entry index in a Bundle (0-based, as in `Bundle.entry[3]`) or line number in NDJSON (1-based). */
  position: number;
  /** The parsed resource; absent when the entry carries none (a DELETE, a GET) or could not be read. */
  resource?: unknown;
  fullUrl?: string;
  /** `request.method` and `request.url` of a transaction or batch entry. */
  requestMethod?: string;
  requestUrl?: string;
  /** Why this entry could not be read (a malformed NDJSON line, an entry that is not an object). */
  error?: string;
  /** The stable code of `error` (default ICR_INVALID_JSON; ICR_LIMIT_EXCEEDED past the JSON limits). */
  errorCode?: ErrorCode;
  /** Where in the resource, as `expression: message` lines (the element past a JSON limit). */
  errorDetails?: string[];
}

export interface ImportBatch {
  /** The file as named to the user. */
  file: string;
  /** Stable key of the file, relative to what was imported: deterministic ids derive from it. */
  sourceKey: string;
  /**
   * How positions are reported: a Bundle's entries, NDJSON lines, HL7 v2 messages (1-based) in a file, or a
   * file holding one resource.
   */
  unit: 'entry' | 'line' | 'message' | 'file';
  entries: ImportEntry[];
  /** A whole-file failure (unreadable, malformed JSON, not FHIR): reported as failed. */
  error?: string;
  /** A whole-file notice (a format that is not imported yet, a file that is not an import file). */
  notice?: string;
  /** The last batch of its file (progress counts files). */
  lastOfFile: boolean;
}

/** Bundle types whose entries are resources to store. */
const IMPORTABLE_BUNDLES: ReadonlySet<string> = new Set([
  'transaction',
  'batch',
  'collection',
  'searchset',
  'document',
  'message',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export type DocumentEntries = { unit: 'entry' | 'file'; entries: ImportEntry[] } | { error: string };

/** The entries of a parsed JSON document: a Bundle's entries, or the document itself as one resource. */
export function entriesFromDocument(doc: unknown): DocumentEntries {
  if (!isObject(doc) || typeof doc.resourceType !== 'string') {
    return { error: 'not a FHIR resource or Bundle (no resourceType)' };
  }
  if (doc.resourceType !== 'Bundle') return { unit: 'file', entries: [{ position: 0, resource: doc }] };
  const type = typeof doc.type === 'string' ? doc.type : '';
  if (!IMPORTABLE_BUNDLES.has(type)) {
    return {
      error: `Bundle type "${type || '(none)'}" is not importable (use transaction, batch, collection or searchset)`,
    };
  }
  const raw = doc.entry ?? [];
  if (!Array.isArray(raw)) return { error: 'Bundle.entry is not an array' };
  const entries = raw.map((e: unknown, position): ImportEntry => {
    if (!isObject(e)) return { position, error: 'the entry is not an object' };
    const entry: ImportEntry = { position };
    if (e.resource !== undefined) entry.resource = e.resource;
    if (typeof e.fullUrl === 'string') entry.fullUrl = e.fullUrl;
    // A searchset's OperationOutcome is about the search, not a record.
    if (isObject(e.search) && e.search.mode === 'outcome') delete entry.resource;
    if (isObject(e.request)) {
      if (typeof e.request.method === 'string') entry.requestMethod = e.request.method.toUpperCase();
      if (typeof e.request.url === 'string') entry.requestUrl = e.request.url;
    }
    return entry;
  });
  return { unit: 'entry', entries };
}

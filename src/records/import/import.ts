/**
 * The import use case (`icr import`, the demo load, the store benchmark): writes batches of entries read
 * from files through the records service — one set write per batch (a Bundle, or a chunk of NDJSON
 * lines), never one round trip per resource. Each batch is validated and prepared (`prepareMany`) before it
 * waits for a free write slot, so the CPU work of the next batch overlaps the writes in flight.
 *
 * - Ids are stable (import-ids.ts), so importing the same files again changes nothing.
 * - Organizations, Practitioners, Locations, PractitionerRoles and Medications that carry an identifier
 *   are deduplicated by identifier, within the run and against what is stored; references to a copy are
 *   rewritten to the resource kept. Synthea sends its Organizations and Practitioners in every bundle.
 * - Types OpenICR does not hold are skipped and counted by type; invalid entries are reported by file and
 *   entry and not written; everything else is stored.
 *
 * It writes only through the records service; it reads stored identifiers through `findByIdentifiers`.
 */
import { isSupportedType, type FhirResource, type Provenance } from '../../fhir/types.ts';
import { type Actor, SYSTEM_ACTOR } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import type { ImportBatch, ImportEntry } from './entries.ts';
import { DEDUPLICATED_TYPES, identifierKeys, referenceKeys, rewriteReferences, stableId } from './ids.ts';
import { type ImportFailure, type ImportSummary, SummaryBuilder } from './summary.ts';
import type { PreparedSet, RecordsService, SetResult } from '../records-service.ts';

/** What the import needs from the records layer. */
export interface ImportTarget {
  prepareMany: RecordsService['prepareMany'];
  writeMany: RecordsService['writeMany'];
  /**
   * Ids of current resources of `resourceType` carrying each identifier, keyed `system|value` (identifiers
   * no resource carries are absent). One call per type per batch.
   */
  findByIdentifiers(
    actor: Actor,
    resourceType: string,
    identifiers: ReadonlyArray<{ system: string; value: string }>,
  ): Promise<Map<string, string[]>>;
}

export interface ImportProgress {
  filesDone: number;
  /** Entries processed so far (stored, skipped or failed). */
  entriesDone: number;
  /** The file of the batch just written. */
  file: string;
}

export interface ImportOptions {
  feedId: string;
  /** ODS code of the source organisation; the feed id when absent. */
  sourceOrg?: string;
  actor?: Actor;
  now?: () => Date;
  onProgress?: (p: ImportProgress) => void;
  /**
   * Set writes in flight at once (default 3). A set spends much of its transaction waiting on round trips
   * (the MPI's are several per Patient), so a third one in flight keeps the database busy; more did not help
   * on two cores (bench/README.md).
   */
  concurrency?: number;
}

interface Pending {
  entry: ImportEntry;
  resource: FhirResource & { id: string };
  provenance: Provenance;
}

function whereOf(batch: ImportBatch, position: number): string {
  if (batch.unit === 'entry') return `entry ${position}`;
  if (batch.unit === 'line') return `line ${position}`;
  if (batch.unit === 'message') return `message ${position}`;
  return '';
}

function failureOf(
  batch: ImportBatch,
  position: number,
  resourceType: string | undefined,
  err: unknown,
): ImportFailure {
  const e =
    err instanceof IcrError ? err : new IcrError('ICR_INTERNAL', 'unexpected error while writing', { cause: err });
  const f: ImportFailure = {
    file: batch.file,
    where: whereOf(batch, position),
    code: e.code,
    message: err instanceof IcrError ? e.message : `${e.message}: ${err instanceof Error ? err.message : String(err)}`,
    details: e.details.map((d) => (d.expression ? `${d.expression}: ${d.message}` : d.message)),
  };
  if (resourceType) f.resourceType = resourceType;
  return f;
}

/** One import run: the summary and the identifiers seen so far. */
class ImportRun {
  readonly #target: ImportTarget;
  readonly #opts: Required<Pick<ImportOptions, 'feedId' | 'sourceOrg' | 'actor'>> & ImportOptions;
  readonly #receivedAt: string;
  readonly summary: SummaryBuilder;
  /** `Type|system|value` → id of the resource kept for that identifier. */
  readonly #byIdentifier = new Map<string, string>();
  /** References to deduplicated copies (`Type/copyId`, their fullUrls) → `Type/keptId`, for the whole run. */
  readonly #redirects = new Map<string, string>();
  readonly #inFlight = new Map<number, Promise<void>>();
  readonly #concurrency: number;
  #seq = 0;
  #filesDone = 0;
  #entriesDone = 0;

  constructor(target: ImportTarget, opts: ImportOptions) {
    this.#target = target;
    this.#concurrency = Math.max(1, opts.concurrency ?? 3);
    this.#opts = { ...opts, sourceOrg: opts.sourceOrg ?? opts.feedId, actor: opts.actor ?? SYSTEM_ACTOR };
    const now = (opts.now ?? (() => new Date()))();
    this.#receivedAt = now.toISOString();
    this.summary = new SummaryBuilder(opts.feedId, this.#opts.sourceOrg, now);
  }

  async batch(batch: ImportBatch): Promise<void> {
    if (batch.notice) {
      this.summary.notice(batch.file, batch.notice);
      this.summary.summary.files.skipped++;
    } else if (batch.error) {
      this.summary.fail({ file: batch.file, where: '', code: 'ICR_IMPORT_FAILED', message: batch.error, details: [] });
    }
    const pending = batch.entries.length > 0 ? await this.#prepare(batch) : [];
    if (pending.length > 0) {
      const items = pending.map((p) => ({ resource: p.resource, provenance: p.provenance }));
      let set: PreparedSet;
      try {
        set = await this.#target.prepareMany(this.#opts.actor, items);
      } catch (err) {
        // Not a refusal of one entry (those come back in the set) but a failure of the whole batch.
        for (const p of pending) this.summary.fail(failureOf(batch, p.entry.position, p.resource.resourceType, err));
        this.#countBatch(batch);
        return;
      }
      // Up to `concurrency` set writes in flight; this batch was prepared while they were being written.
      while (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight.values());
      const seq = this.#seq++;
      this.#inFlight.set(
        seq,
        this.#write(batch, pending, set, seq).finally(() => this.#inFlight.delete(seq)),
      );
    }
    this.#countBatch(batch);
  }

  #countBatch(batch: ImportBatch): void {
    this.#entriesDone += batch.entries.length;
    if (batch.lastOfFile) {
      this.#filesDone++;
      if (!batch.notice) this.summary.summary.files.read++;
    }
    this.#opts.onProgress?.({ filesDone: this.#filesDone, entriesDone: this.#entriesDone, file: batch.file });
  }

  /** Waits for the writes still in flight. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.race(this.#inFlight.values());
  }

  /** Decides the id of every entry, deduplicates, and rewrites references: what to write, in order. */
  async #prepare(batch: ImportBatch): Promise<Pending[]> {
    const pending: Pending[] = [];
    const refMap = new Map(this.#redirects);
    const seenInBatch = new Map<string, number>();
    const stored = await this.#storedIdentifiers(batch);

    for (const entry of batch.entries) {
      if (entry.error !== undefined) {
        this.summary.fail({
          file: batch.file,
          where: whereOf(batch, entry.position),
          code: entry.errorCode ?? (batch.unit === 'message' ? 'ICR_IMPORT_FAILED' : 'ICR_INVALID_JSON'),
          message: entry.error,
          details: entry.errorDetails ?? [],
        });
        continue;
      }
      const res = entry.resource;
      if (res === undefined) {
        this.summary.skip(`(no resource${entry.requestMethod ? `: ${entry.requestMethod}` : ''})`);
        continue;
      }
      if (
        typeof res !== 'object' ||
        res === null ||
        Array.isArray(res) ||
        typeof (res as FhirResource).resourceType !== 'string'
      ) {
        this.summary.fail(
          failureOf(
            batch,
            entry.position,
            undefined,
            new IcrError('ICR_INVALID_RESOURCE', 'not a FHIR resource (no resourceType)'),
          ),
        );
        continue;
      }
      const resource = res as FhirResource;
      const type = resource.resourceType;
      if (!isSupportedType(type)) {
        this.summary.skip(type);
        continue;
      }
      let id = stableId({ ...entry, resource }, this.#opts.feedId, batch.sourceKey, entry.position);
      const keys = referenceKeys(entry.fullUrl, type, resource.id);

      if (DEDUPLICATED_TYPES.has(type)) {
        const kept = this.#keptFor(type, resource, id, stored);
        if (kept.duplicate) {
          for (const k of [...keys, `${type}/${id}`]) {
            if (k !== `${type}/${kept.id}`) {
              refMap.set(k, `${type}/${kept.id}`);
              this.#redirects.set(k, `${type}/${kept.id}`);
            }
          }
          this.summary.deduplicated(type);
          continue;
        }
        id = kept.id;
      }

      const key = `${type}/${id}`;
      const earlier = seenInBatch.get(key);
      if (earlier !== undefined && DEDUPLICATED_TYPES.has(type)) {
        // A copy of reference data sent twice with the same id (and no identifier): the first is kept.
        for (const k of keys) if (k !== key) refMap.set(k, key);
        this.summary.deduplicated(type);
        continue;
      }
      if (earlier !== undefined) {
        const msg = `${key} appears twice in this file (also at ${whereOf(batch, earlier)}); only the first is imported`;
        this.summary.fail(failureOf(batch, entry.position, type, new IcrError('ICR_CONFLICT', msg)));
        continue;
      }
      seenInBatch.set(key, entry.position);
      for (const k of keys) if (k !== key) refMap.set(k, key);
      const provenance: Provenance = {
        feedId: this.#opts.feedId,
        sourceOrg: this.#opts.sourceOrg,
        sourceId:
          entry.fullUrl ??
          (typeof resource.id === 'string' ? `${type}/${resource.id}` : `${batch.sourceKey}#${entry.position}`),
        receivedAt: this.#receivedAt,
      };
      pending.push({ entry, resource: { ...resource, id }, provenance });
    }
    for (const p of pending) rewriteReferences(p.resource, refMap);
    return pending;
  }

  async #write(batch: ImportBatch, pending: Pending[], set: PreparedSet, seq: number): Promise<void> {
    let results: SetResult[];
    try {
      try {
        results = await this.#target.writeMany(this.#opts.actor, set);
      } catch (err) {
        // Another set write in flight touched the same resource (a conflict or a deadlock): nothing of this
        // one was written; retry it once the writes started before it are done.
        if (!isConcurrencyConflict(err) || this.#inFlight.size <= 1) throw err;
        await Promise.allSettled([...this.#inFlight].filter(([k]) => k < seq).map(([, w]) => w));
        results = await this.#target.writeMany(this.#opts.actor, set);
      }
    } catch (err) {
      // The set write failed as a whole (nothing of it was written): every entry of it is reported.
      for (const p of pending) this.summary.fail(failureOf(batch, p.entry.position, p.resource.resourceType, err));
      return;
    }
    for (const r of results) {
      const p = pending[r.index];
      if (!p) continue;
      if ('error' in r) this.summary.fail(failureOf(batch, p.entry.position, p.resource.resourceType, r.error));
      else if (r.outcome === 'excluded') this.summary.excludedSensitive(p.resource.resourceType);
      else this.summary.count(p.resource.resourceType, r.outcome);
    }
  }

  /**
   * Stored resources carrying the identifiers of this batch's deduplicated entries that this run has not
   * met yet: one look-up per type, keyed `Type|system|value`.
   */
  async #storedIdentifiers(batch: ImportBatch): Promise<Map<string, string[]>> {
    const wanted = new Map<string, Map<string, { system: string; value: string }>>();
    for (const e of batch.entries) {
      const r = e.resource;
      if (typeof r !== 'object' || r === null || Array.isArray(r)) continue;
      const type = (r as { resourceType?: unknown }).resourceType;
      if (typeof type !== 'string' || !DEDUPLICATED_TYPES.has(type)) continue;
      for (const i of identifierKeys(r as Record<string, unknown>)) {
        if (this.#byIdentifier.has(`${type}|${i.system}|${i.value}`)) continue;
        let m = wanted.get(type);
        if (!m) {
          m = new Map<string, { system: string; value: string }>();
          wanted.set(type, m);
        }
        m.set(`${i.system}|${i.value}`, i);
      }
    }
    const found = new Map<string, string[]>();
    for (const [type, idents] of wanted) {
      const hits = await this.#target.findByIdentifiers(this.#opts.actor, type, [...idents.values()]);
      for (const [k, ids] of hits) found.set(`${type}|${k}`, ids);
    }
    return found;
  }

  /**
   * The id to keep for a resource of a deduplicated type: an earlier copy in this run (then this one is
   * a duplicate), a stored resource with another id (a duplicate too: the stored one is kept, never
   * overwritten by a copy), or its own id.
   */
  #keptFor(
    type: string,
    resource: FhirResource,
    ownId: string,
    stored: ReadonlyMap<string, string[]>,
  ): { id: string; duplicate: boolean } {
    const idents = identifierKeys(resource);
    if (idents.length === 0) return { id: ownId, duplicate: false };
    const keys = idents.map((i) => `${type}|${i.system}|${i.value}`);
    for (const k of keys) {
      const seen = this.#byIdentifier.get(k);
      if (seen !== undefined) {
        for (const other of keys) if (!this.#byIdentifier.has(other)) this.#byIdentifier.set(other, seen);
        return { id: seen, duplicate: true };
      }
    }
    let kept = ownId;
    for (const k of keys) {
      const ids = stored.get(k);
      if (ids && ids.length > 0) {
        kept = ids.includes(ownId) ? ownId : ([...ids].sort()[0] ?? ownId);
        break;
      }
    }
    for (const k of keys) this.#byIdentifier.set(k, kept);
    return { id: kept, duplicate: kept !== ownId };
  }
}

/** Imports batches in order (reading the next one while the current one is written). */
export async function importBatches(
  target: ImportTarget,
  batches: AsyncIterable<ImportBatch> | Iterable<ImportBatch>,
  opts: ImportOptions,
): Promise<ImportSummary> {
  const run = new ImportRun(target, opts);
  const it = Symbol.asyncIterator in batches ? batches[Symbol.asyncIterator]() : toAsync(batches);
  let next = it.next();
  for (;;) {
    const r = await next;
    if (r.done) break;
    next = it.next();
    next.catch(() => undefined); // awaited on the next turn; avoid an unhandled rejection meanwhile
    await run.batch(r.value);
  }
  await run.drain();
  return run.summary.finish();
}

/** A conflict between two set writes in flight: a unique violation turned ICR_CONFLICT, or a deadlock. */
function isConcurrencyConflict(err: unknown): boolean {
  if (err instanceof IcrError) return err.code === 'ICR_CONFLICT';
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '40P01';
}

async function* toAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

/**
 * The records service: the only door to clinical data (see records-api.ts). It validates writes,
 * assigns ids, and hands reads and writes to the store. Access decisions and audit (a later issue)
 * slot in at the two marked points — `#decide` and `#audit` — so no route needs to change.
 */
import { randomUUID } from 'node:crypto';
import type { SensitiveCodes } from '../fhir/sensitive-codes.ts';
import { type Bundle, type FhirResource, isSupportedType } from '../fhir/types.ts';
import { type AuditLog, type AuditRecord, noAudit } from '../audit/audit-record.ts';
import type { Actor } from '../shared/actor.ts';
import { IcrError } from '../shared/errors.ts';
import type { Db } from '../store/db.ts';
import { countExcludedSensitive } from '../store/feed-store.ts';
import type { ReviewStatus } from '../store/mpi-store-review.ts';
import type { PreparedPutItem, PutItem, ResourceStore, StoredRow } from '../store/resource-store.ts';
import { toInstant } from '../store/resource-store.ts';
import type { MpiPdsService, VerifyResult } from './mpi/pds-service.ts';
import type { MergeVia, MpiService, PersonView, ReviewItem } from './mpi/mpi-service.ts';
import type {
  CreateOptions,
  HistoryQuery,
  RecordsApi,
  SearchOptions,
  StoredResource,
  UpdateOptions,
  WriteResult,
} from './records-api.ts';

/** One resource of a set write (`putMany`), with its provenance. */
export interface SetItem {
  resource: FhirResource & { id: string };
  provenance?: PutItem['provenance'];
}

/**
 * What a set write did with each item, by its index in the set. `excluded`: the item carried a sensitive
 * code and was dropped (counted for its feed), never stored.
 */
export type SetResult =
  { index: number; outcome: 'created' | 'updated' | 'unchanged' | 'excluded' } | { index: number; error: IcrError };

/** A set validated and prepared by `prepareMany`, to be written by `writeMany` (opaque to callers). */
export class PreparedSet {
  readonly refused: readonly SetResult[];
  readonly indexes: readonly number[];
  readonly items: readonly PreparedPutItem[];
  /** Items dropped for a sensitive code, counted by feed id ('' when the item named none). */
  readonly excluded: ReadonlyMap<string, number>;
  constructor(
    refused: readonly SetResult[],
    indexes: readonly number[],
    items: readonly PreparedPutItem[],
    excluded: ReadonlyMap<string, number> = new Map(),
  ) {
    this.refused = refused;
    this.indexes = indexes;
    this.items = items;
    this.excluded = excluded;
  }
}

/** Search, supplied by the store's search engine. */
export interface SearchEngine {
  /** Executes a search and returns the searchset Bundle as JSON text. */
  search(db: Db, resourceType: string, params: URLSearchParams, opts: SearchOptions): Promise<string>;
  /** Ids of current resources of `resourceType` matching `query` (a search query string). */
  findIds(db: Db, resourceType: string, query: string): Promise<string[]>;
}

/** Validation of a resource against the R4 structure definitions; throws IcrError when invalid. */
export type Validator = (resource: unknown) => void;

/** Applies transaction and batch Bundles using a records service bound to one database transaction. */
export type BundleProcessor = (
  records: RecordsApi & { readonly db: Db },
  actor: Actor,
  bundle: FhirResource,
  baseUrl: string,
) => Promise<Bundle>;

/** The master patient index as the records service fronts it (built by records/mpi/mpi-compose.ts). */
export interface PatientIndex {
  /** `Patient/$match`: scored candidates as searchset Bundle JSON text. */
  match(body: unknown, baseUrl: string): Promise<string>;
  /** `Patient/$ihe-pix`: cross-references as a Parameters resource. */
  pix(params: URLSearchParams): Promise<FhirResource>;
  readonly service: Pick<MpiService, 'reviews' | 'review' | 'decide' | 'person' | 'unlink' | 'merge' | 'notSame'>;
  /** The Spine (PDS) use cases; undefined when no PDS is configured. */
  readonly pds: Pick<MpiPdsService, 'verify'> | undefined;
}

export interface RecordsServiceDeps {
  db: Db;
  store: ResourceStore;
  search: SearchEngine;
  validate: Validator;
  processBundle?: BundleProcessor;
  /** The MPI; without it `$match`, `$ihe-pix` and the stewards' operations are refused as not configured. */
  patientIndex?: PatientIndex;
  newId?: () => string;
  /** Where audit entries go (compose.ts wires the hash-chained trail); default none. */
  audit?: AuditLog;
  /**
   * Sensitive code lists (ICR_SENSITIVE_CODES): a resource carrying one of their codes never enters the
   * store — dropped and counted per feed in set writes, refused (ICR_SENSITIVE_EXCLUDED) in single writes.
   */
  sensitive?: SensitiveCodes;
}

/** The role allowed to review and change the MPI's links (a local code until the access issue's catalogue). */
export const STEWARD_ROLE = 'icr-data-steward';

const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
const DEFAULT_HISTORY_COUNT = 50;
const MAX_HISTORY_COUNT = 1000;

/**
 * The resourceType of a request body. Bodies come from the network, so the static type is not trusted:
 * anything that is not a JSON object with a string resourceType is refused here.
 */
export function typeOfBody(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new IcrError('ICR_INVALID_RESOURCE', 'The body is not a FHIR resource (a JSON object)');
  }
  const type = (body as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string') throw new IcrError('ICR_INVALID_RESOURCE', 'The resource has no resourceType');
  return type;
}

export function checkType(resourceType: string): void {
  if (!isSupportedType(resourceType)) {
    throw new IcrError('ICR_UNSUPPORTED_TYPE', `Resource type "${resourceType}" is not supported by this server`);
  }
}

export function checkId(id: string): void {
  if (!ID_PATTERN.test(id)) throw new IcrError('ICR_BAD_REQUEST', `"${id}" is not a valid FHIR id`);
}

/** The Patient a search names (`patient`, `subject`, or `_id` on Patient), for the audit entry. */
function subjectOf(resourceType: string, params: URLSearchParams): string | undefined {
  const raw = params.get('patient') ?? params.get('subject') ?? (resourceType === 'Patient' ? params.get('_id') : null);
  if (!raw) return undefined;
  const id = raw.startsWith('Patient/') ? raw.slice('Patient/'.length) : raw;
  return ID_PATTERN.test(id) ? id : undefined;
}

function toStored(row: StoredRow): StoredResource {
  return {
    resourceType: row.resourceType,
    id: row.id,
    versionId: row.versionId,
    lastUpdated: row.lastUpdated,
    deleted: row.deleted,
    json: row.json,
  };
}

export class RecordsService implements RecordsApi {
  readonly db: Db;
  readonly #deps: RecordsServiceDeps;

  constructor(deps: RecordsServiceDeps) {
    this.#deps = deps;
    this.db = deps.db;
  }

  /** The same service bound to an open transaction (for transaction Bundles and set imports). */
  withTransaction(tx: Db): RecordsService {
    return new RecordsService({ ...this.#deps, db: tx });
  }

  get store(): ResourceStore {
    return this.#deps.store;
  }

  // --- Access and audit seams. The access issue replaces these bodies; callers do not change. ---

  async #decide(actor: Actor, action: 'read' | 'write' | 'search' | 'steward', _resourceType: string): Promise<void> {
    // Linking, unlinking and merging people changes whose record everyone sees: data stewards only.
    if (action === 'steward' && actor.kind === 'user' && actor.role !== STEWARD_ROLE) {
      await this.#audit(this.db, {
        action,
        outcome: 'refused',
        actor,
        what: 'mpi',
        basis: 'none',
        errorCode: 'ICR_ACCESS_DENIED',
      });
      throw new IcrError('ICR_ACCESS_DENIED', `Only a data steward (role ${STEWARD_ROLE}) may review or change links`);
    }
    // Every actor is allowed until the access-control issue lands (see docs/adr and DESIGN.md §6).
  }

  /** One entry per access and per refusal; `db` is the write's transaction when there is one (DESIGN.md §7). */
  async #audit(db: Db, rec: AuditRecord): Promise<void> {
    await (this.#deps.audit ?? noAudit).record(db, rec);
  }

  // --- Writes ---

  #prepare(resource: FhirResource, id?: string): FhirResource & { id: string } {
    checkType(typeOfBody(resource));
    // Sensitive information never enters the store (the code itself is never logged or echoed).
    if (this.#deps.sensitive?.carries(resource)) {
      throw new IcrError(
        'ICR_SENSITIVE_EXCLUDED',
        `The ${resource.resourceType} carries a code from a sensitive code list and is not stored`,
      );
    }
    const finalId = id ?? resource.id ?? (this.#deps.newId ?? randomUUID)();
    checkId(finalId);
    const prepared = { ...resource, id: finalId };
    this.#deps.validate(prepared);
    return prepared;
  }

  async create(actor: Actor, resource: FhirResource, opts: CreateOptions = {}): Promise<WriteResult> {
    checkType(typeOfBody(resource));
    await this.#decide(actor, 'write', resource.resourceType);
    return this.db.transaction(async (tx) => {
      if (opts.ifNoneExist) {
        const existing = await this.#matchOne(tx, resource.resourceType, opts.ifNoneExist);
        if (existing) return { outcome: 'unchanged' as const, resource: existing };
      }
      // A create always gets a new server id: a client-supplied id on POST is ignored (FHIR R4 3.1.0.7.1).
      const prepared = this.#prepare(resource, (this.#deps.newId ?? randomUUID)());
      const item: PutItem = { resource: prepared, mustNotExist: true };
      if (opts.provenance) item.provenance = opts.provenance;
      const [res] = await this.#deps.store.put(tx, [item]);
      if (!res) throw new IcrError('ICR_INTERNAL', 'The store returned no result');
      await this.#audit(tx, {
        action: 'create',
        outcome: 'allowed',
        actor,
        what: `${prepared.resourceType}/${prepared.id}`,
        patientId: res.row.patientId,
        personId: res.row.personId,
      });
      return { outcome: res.outcome === 'unchanged' ? 'unchanged' : 'created', resource: toStored(res.row) };
    });
  }

  /**
   * Set write for feeds and imports: validates every resource, then creates or updates them all in one
   * transaction and one set of statements. Invalid resources are not written; they are returned with
   * the reason, by index, so the caller can name the file and entry. Ids must be set by the caller
   * (stable ids make re-imports idempotent). `prepareMany` then `writeMany`, in one call.
   */
  async putMany(actor: Actor, items: ReadonlyArray<SetItem>): Promise<SetResult[]> {
    return this.writeMany(actor, await this.prepareMany(actor, items));
  }

  /**
   * The first half of `putMany`, which touches no database: the access decision, validation, and what the
   * store computes ahead (content hash, search-index rows). An import prepares the next set while the
   * previous one is being written.
   */
  async prepareMany(actor: Actor, items: ReadonlyArray<SetItem>): Promise<PreparedSet> {
    const refused: SetResult[] = [];
    const valid: Array<{ index: number; item: PutItem }> = [];
    const excluded = new Map<string, number>();
    for (const [index, it] of items.entries()) {
      try {
        await this.#decide(actor, 'write', typeOfBody(it.resource));
        const prepared = this.#prepare(it.resource, it.resource.id);
        valid.push({
          index,
          item: it.provenance ? { resource: prepared, provenance: it.provenance } : { resource: prepared },
        });
      } catch (err) {
        if (!(err instanceof IcrError)) throw err;
        if (err.code === 'ICR_SENSITIVE_EXCLUDED') {
          const feed = it.provenance?.feedId ?? '';
          excluded.set(feed, (excluded.get(feed) ?? 0) + 1);
          refused.push({ index, outcome: 'excluded' });
        } else {
          refused.push({ index, error: err });
        }
      }
    }
    const prepared = this.#deps.store.prepare(valid.map((v) => v.item));
    return new PreparedSet(
      refused,
      valid.map((v) => v.index),
      prepared,
      excluded,
    );
  }

  /** The second half of `putMany`: writes a prepared set in one transaction. It may be called again after a conflict. */
  async writeMany(actor: Actor, set: PreparedSet): Promise<SetResult[]> {
    const written = await this.db.transaction(async (tx) => {
      const out = await this.#deps.store.put(tx, set.items);
      // Only the counts of what was dropped are kept, per feed, in the same commit.
      for (const [feedId, n] of set.excluded) if (feedId) await countExcludedSensitive(tx, feedId, n);
      await this.#audit(tx, { action: 'import', outcome: 'allowed', actor, what: `${set.items.length} resources` });
      return out;
    });
    const results: SetResult[] = [...set.refused];
    written.forEach((w, n) => results.push({ index: set.indexes[n] ?? -1, outcome: w.outcome }));
    return results.sort((a, b) => a.index - b.index);
  }

  async update(actor: Actor, resource: FhirResource & { id: string }, opts: UpdateOptions = {}): Promise<WriteResult> {
    checkType(typeOfBody(resource));
    await this.#decide(actor, 'write', resource.resourceType);
    const prepared = this.#prepare(resource, resource.id);
    return this.db.transaction(async (tx) => {
      const item: PutItem = { resource: prepared };
      if (opts.ifMatch !== undefined) item.ifMatch = opts.ifMatch;
      if (opts.provenance) item.provenance = opts.provenance;
      const [res] = await this.#deps.store.put(tx, [item]);
      if (!res) throw new IcrError('ICR_INTERNAL', 'The store returned no result');
      await this.#audit(tx, {
        // An update that creates (PUT to a new id, a Bundle's create) is audited as the create it is.
        action: res.outcome === 'created' ? 'create' : 'update',
        outcome: 'allowed',
        actor,
        what: `${prepared.resourceType}/${prepared.id}`,
        patientId: res.row.patientId,
        personId: res.row.personId,
      });
      return { outcome: res.outcome, resource: toStored(res.row) };
    });
  }

  async conditionalUpdate(
    actor: Actor,
    resource: FhirResource,
    query: string,
    opts: UpdateOptions = {},
  ): Promise<WriteResult> {
    checkType(typeOfBody(resource));
    await this.#decide(actor, 'write', resource.resourceType);
    return this.db.transaction(async (tx) => {
      const ids = await this.#deps.search.findIds(tx, resource.resourceType, query);
      if (ids.length > 1) {
        throw new IcrError(
          'ICR_MULTIPLE_MATCHES',
          `Conditional update matched ${ids.length} ${resource.resourceType} resources`,
        );
      }
      const matched = ids[0];
      if (matched && resource.id && resource.id !== matched) {
        throw new IcrError('ICR_CONFLICT', `The resource id "${resource.id}" differs from the matched resource`);
      }
      const id = matched ?? resource.id ?? (this.#deps.newId ?? randomUUID)();
      return this.withTransaction(tx).update(actor, { ...resource, id }, opts);
    });
  }

  async delete(actor: Actor, resourceType: string, id: string): Promise<WriteResult | null> {
    checkType(resourceType);
    checkId(id);
    await this.#decide(actor, 'write', resourceType);
    const row = await this.db.transaction(async (tx) => {
      const deleted = await this.#deps.store.delete(tx, resourceType, id);
      await this.#audit(tx, {
        action: 'delete',
        outcome: 'allowed',
        actor,
        what: `${resourceType}/${id}`,
        patientId: deleted?.patientId ?? null,
        personId: deleted?.personId ?? null,
      });
      return deleted;
    });
    return row ? { outcome: 'deleted', resource: toStored(row) } : null;
  }

  // --- Reads ---

  async read(actor: Actor, resourceType: string, id: string): Promise<StoredResource> {
    checkType(resourceType);
    checkId(id);
    await this.#decide(actor, 'read', resourceType);
    const row = await this.#deps.store.read(this.db, resourceType, id);
    if (!row) throw new IcrError('ICR_NOT_FOUND', `${resourceType}/${id} is not known`);
    if (row.deleted) throw new IcrError('ICR_GONE', `${resourceType}/${id} has been deleted`);
    await this.#audit(this.db, {
      action: 'read',
      outcome: 'allowed',
      actor,
      what: `${resourceType}/${id}`,
      patientId: row.patientId,
      personId: row.personId,
      returned: 1,
    });
    return toStored(row);
  }

  async vread(actor: Actor, resourceType: string, id: string, versionId: number): Promise<StoredResource> {
    checkType(resourceType);
    checkId(id);
    if (!Number.isInteger(versionId) || versionId < 1) {
      throw new IcrError('ICR_BAD_REQUEST', `"${versionId}" is not a valid version id`);
    }
    await this.#decide(actor, 'read', resourceType);
    const row = await this.#deps.store.vread(this.db, resourceType, id, versionId);
    if (!row) throw new IcrError('ICR_NOT_FOUND', `${resourceType}/${id} has no version ${versionId}`);
    if (row.deleted) throw new IcrError('ICR_GONE', `${resourceType}/${id} version ${versionId} is a deletion`);
    await this.#audit(this.db, {
      action: 'vread',
      outcome: 'allowed',
      actor,
      what: `${resourceType}/${id}/_history/${versionId}`,
      patientId: row.patientId,
      personId: row.personId,
      returned: 1,
    });
    return toStored(row);
  }

  async history(actor: Actor, q: HistoryQuery, baseUrl: string): Promise<Bundle> {
    if (q.resourceType) checkType(q.resourceType);
    if (q.id) checkId(q.id);
    await this.#decide(actor, 'read', q.resourceType ?? 'Patient');
    const count = Math.min(q.count ?? DEFAULT_HISTORY_COUNT, MAX_HISTORY_COUNT);
    const offset = q.offset ?? 0;
    if (!Number.isInteger(count) || count < 0 || !Number.isInteger(offset) || offset < 0) {
      throw new IcrError('ICR_INVALID_SEARCH', '_count and _offset must be non-negative integers');
    }
    let since: string | undefined;
    if (q.since) {
      const d = new Date(q.since);
      if (Number.isNaN(d.getTime()))
        throw new IcrError('ICR_INVALID_SEARCH', `_since "${q.since}" is not a valid instant`);
      since = d.toISOString();
    }
    let personId: string | undefined;
    if (q.patientId) {
      const patient = await this.#deps.store.read(this.db, 'Patient', q.patientId);
      if (!patient) throw new IcrError('ICR_NOT_FOUND', `Patient/${q.patientId} is not known`);
      personId = patient.personId ?? q.patientId;
    }
    const { rows, total } = await this.#deps.store.history(this.db, {
      ...(q.resourceType && !q.patientId ? { resourceType: q.resourceType } : {}),
      ...(q.id ? { id: q.id } : {}),
      ...(personId ? { personId } : {}),
      ...(since ? { since } : {}),
      count,
      offset,
    });
    const path = q.patientId
      ? `Patient/${q.patientId}/_history`
      : [q.resourceType, q.id, '_history'].filter(Boolean).join('/');
    const link = (o: number) =>
      `${baseUrl}/${path}?_count=${count}&_offset=${o}${since ? `&_since=${encodeURIComponent(since)}` : ''}`;
    const links = [{ relation: 'self', url: link(offset) }];
    if (offset + count < total) links.push({ relation: 'next', url: link(offset + count) });
    if (offset > 0) links.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
    await this.#audit(this.db, {
      action: 'history',
      outcome: 'allowed',
      actor,
      what: path,
      patientId: q.patientId ?? null,
      personId: personId ?? null,
      returned: rows.length,
    });
    return {
      resourceType: 'Bundle',
      type: 'history',
      total,
      link: links,
      entry: rows.map((r) => {
        const fullUrl = `${baseUrl}/${r.resourceType}/${r.id}`;
        const entry: NonNullable<Bundle['entry']>[number] = {
          fullUrl,
          request: {
            method: r.deleted ? 'DELETE' : r.versionId === 1 ? 'POST' : 'PUT',
            url: r.versionId === 1 && !r.deleted ? r.resourceType : `${r.resourceType}/${r.id}`,
          },
          response: {
            status: r.deleted ? '204' : r.versionId === 1 ? '201' : '200',
            etag: `W/"${r.versionId}"`,
            lastModified: toInstant(r.lastUpdated),
          },
        };
        if (r.json) entry.resource = JSON.parse(r.json) as FhirResource;
        return entry;
      }),
    };
  }

  async search(actor: Actor, resourceType: string, params: URLSearchParams, opts: SearchOptions): Promise<string> {
    checkType(resourceType);
    await this.#decide(actor, 'search', resourceType);
    const json = await this.#deps.search.search(this.db, resourceType, params, opts);
    const patientId = subjectOf(resourceType, params);
    await this.#audit(this.db, {
      action: 'search',
      outcome: 'allowed',
      actor,
      what: `${resourceType}?${params.toString()}`,
      ...(patientId ? { patientId } : {}),
    });
    return json;
  }

  async everything(actor: Actor, patientId: string, baseUrl: string): Promise<string> {
    checkId(patientId);
    await this.#decide(actor, 'read', 'Patient');
    const patient = await this.#deps.store.read(this.db, 'Patient', patientId);
    if (!patient) throw new IcrError('ICR_NOT_FOUND', `Patient/${patientId} is not known`);
    if (patient.deleted) throw new IcrError('ICR_GONE', `Patient/${patientId} has been deleted`);
    const personId = patient.personId ?? patientId;
    const rows = await this.#deps.store.everything(this.db, personId);
    await this.#audit(this.db, {
      action: 'everything',
      outcome: 'allowed',
      actor,
      what: `Patient/${patientId}/$everything`,
      patientId,
      personId,
      returned: rows.length,
    });
    // Assemble the Bundle from stored text: entries are never parsed and re-serialised.
    const parts = rows.map(
      (r) =>
        `{"fullUrl":${JSON.stringify(`${baseUrl}/${r.resourceType}/${r.id}`)},"resource":${r.json},"search":{"mode":"match"}}`,
    );
    const self = JSON.stringify(`${baseUrl}/Patient/${patientId}/$everything`);
    return `{"resourceType":"Bundle","type":"searchset","total":${rows.length},"link":[{"relation":"self","url":${self}}],"entry":[${parts.join(',')}]}`;
  }

  async processBundle(actor: Actor, bundle: FhirResource, baseUrl: string): Promise<Bundle> {
    const processor = this.#deps.processBundle;
    if (!processor) throw new IcrError('ICR_NOT_IMPLEMENTED', 'Bundle processing is not configured');
    return processor(this, actor, bundle, baseUrl);
  }

  // --- Identity (the master patient index) ---

  /** Whether an MPI is configured (the CapabilityStatement claims `$match` and `$ihe-pix` only then). */
  get hasPatientIndex(): boolean {
    return this.#deps.patientIndex !== undefined;
  }

  #mpi(): PatientIndex {
    const mpi = this.#deps.patientIndex;
    if (!mpi) throw new IcrError('ICR_NOT_IMPLEMENTED', 'The master patient index is not configured');
    return mpi;
  }

  /** `Patient/$match`: candidates for the Patient in `body`, scored and graded. */
  async matchPatients(actor: Actor, body: unknown, baseUrl: string): Promise<string> {
    const mpi = this.#mpi();
    await this.#decide(actor, 'search', 'Patient');
    const json = await mpi.match(body, baseUrl);
    await this.#audit(this.db, { action: 'match', outcome: 'allowed', actor, what: 'Patient/$match' });
    return json;
  }

  /** `Patient/$ihe-pix`: the identifiers the same person has in other systems. */
  async crossReferences(actor: Actor, params: URLSearchParams): Promise<FhirResource> {
    const mpi = this.#mpi();
    await this.#decide(actor, 'search', 'Patient');
    const out = await mpi.pix(params);
    await this.#audit(this.db, { action: 'pix', outcome: 'allowed', actor, what: 'Patient/$ihe-pix' });
    return out;
  }

  /** Runs a data steward's MPI operation between the access decision and the audit entry. */
  async #steward<T>(actor: Actor, action: string, what: string, fn: (mpi: PatientIndex) => Promise<T>): Promise<T> {
    const mpi = this.#mpi();
    await this.#decide(actor, 'steward', 'Patient');
    const out = await fn(mpi);
    await this.#audit(this.db, { action, outcome: 'allowed', actor, what });
    return out;
  }

  async mpiReviews(actor: Actor, q: { status?: ReviewStatus; limit?: number; offset?: number }): Promise<ReviewItem[]> {
    return this.#steward(actor, 'mpi-reviews', `status=${q.status ?? 'open'}`, (mpi) => mpi.service.reviews(q));
  }

  async mpiReview(actor: Actor, reviewId: string): Promise<ReviewItem> {
    return this.#steward(actor, 'mpi-review', `review/${reviewId}`, (mpi) => mpi.service.review(reviewId));
  }

  async mpiDecide(
    actor: Actor,
    reviewId: string,
    decision: 'link' | 'not-same',
    reason: string,
  ): Promise<{ personId: string | null }> {
    return this.#steward(actor, `mpi-${decision}`, `review/${reviewId}`, (mpi) =>
      mpi.service.decide(actor, reviewId, decision, reason),
    );
  }

  async mpiPerson(actor: Actor, personId: string): Promise<PersonView> {
    return this.#steward(actor, 'mpi-person', `person/${personId}`, (mpi) => mpi.service.person(personId));
  }

  async mpiUnlink(
    actor: Actor,
    patientId: string,
    reason: string,
  ): Promise<{ personId: string; formerPersonId: string }> {
    checkId(patientId);
    return this.#steward(actor, 'mpi-unlink', `Patient/${patientId}`, (mpi) =>
      mpi.service.unlink(actor, patientId, reason),
    );
  }

  async mpiMerge(
    actor: Actor,
    m: { sourcePatientId: string; targetPatientId: string },
    reason: string,
    via: MergeVia,
  ): Promise<{ personId: string }> {
    checkId(m.sourcePatientId);
    checkId(m.targetPatientId);
    return this.#steward(actor, 'mpi-merge', `Patient/${m.sourcePatientId} -> Patient/${m.targetPatientId}`, (mpi) =>
      mpi.service.merge(actor, m, reason, via),
    );
  }

  async mpiNotSame(actor: Actor, patientId: string, otherPatientId: string, reason: string): Promise<void> {
    checkId(patientId);
    checkId(otherPatientId);
    await this.#steward(actor, 'mpi-not-same', `Patient/${patientId} Patient/${otherPatientId}`, (mpi) =>
      mpi.service.notSame(actor, patientId, otherPatientId, reason),
    );
  }

  /** Verifies a source record's NHS number with PDS; a verified record re-links (see MpiPdsService). */
  async mpiVerify(actor: Actor, patientId: string): Promise<VerifyResult> {
    checkId(patientId);
    return this.#steward(actor, 'mpi-verify', `Patient/${patientId}`, (mpi) => {
      if (!mpi.pds) throw new IcrError('ICR_NOT_IMPLEMENTED', 'No PDS is configured (ICR_PDS_URL)');
      return mpi.pds.verify(actor, patientId);
    });
  }

  async #matchOne(tx: Db, resourceType: string, query: string): Promise<StoredResource | null> {
    const ids = await this.#deps.search.findIds(tx, resourceType, query);
    if (ids.length > 1) {
      throw new IcrError(
        'ICR_MULTIPLE_MATCHES',
        `The condition "${query}" matched ${ids.length} ${resourceType} resources`,
      );
    }
    if (!ids[0]) return null;
    const row = await this.#deps.store.read(tx, resourceType, ids[0]);
    return row ? toStored(row) : null;
  }
}

/**
 * The records service contract: the only door to clinical data. The FHIR API, the viewer, the CLI
 * (import, stats) and the ingestion jobs all call this, passing an Actor. Access decisions, masking and
 * audit (a later issue) happen inside the implementation, so no channel can skip them.
 *
 * Reads return stored JSON text as-is (never parsed and re-serialised on the way out).
 */
import type { Actor } from '../shared/actor.ts';
import type { Bundle, FhirResource, Provenance } from '../fhir/types.ts';

/** A stored resource version as it leaves the records service. */
export interface StoredResource {
  resourceType: string;
  id: string;
  versionId: number;
  /** ISO instant with milliseconds, UTC, e.g. 2026-11-22T04:05:06.123Z */
  lastUpdated: string;
  deleted: boolean;
  /** The resource JSON text exactly as stored (meta.versionId / meta.lastUpdated included); null if deleted. */
  json: string | null;
}

export type WriteOutcome = 'created' | 'updated' | 'unchanged' | 'deleted';

export interface WriteResult {
  outcome: WriteOutcome;
  resource: StoredResource;
}

export interface CreateOptions {
  /** Conditional create: a search query string (e.g. `identifier=http://x|123`). When it matches one
   *  resource, nothing is written and that resource is returned with outcome 'unchanged'. */
  ifNoneExist?: string;
  provenance?: Provenance;
}

export interface UpdateOptions {
  /** Version-aware update: the versionId the client last saw (from `If-Match: W/"3"`). */
  ifMatch?: number;
  provenance?: Provenance;
}

export interface SearchOptions {
  /** `Prefer: handling=lenient`: unknown parameters are ignored (and reported) rather than refused. */
  lenient?: boolean;
  /** Absolute base URL of the FHIR endpoint (e.g. http://127.0.0.1:8080/fhir) for fullUrl and paging links. */
  baseUrl: string;
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** History of everything belonging to one patient's person. */
  patientId?: string;
  since?: string;
  count?: number;
  offset?: number;
}

export interface RecordsApi {
  create(actor: Actor, resource: FhirResource, opts?: CreateOptions): Promise<WriteResult>;
  read(actor: Actor, resourceType: string, id: string): Promise<StoredResource>;
  vread(actor: Actor, resourceType: string, id: string, versionId: number): Promise<StoredResource>;
  /** Update (or create with a client-chosen id when absent). Identical content is 'unchanged' (no new version). */
  update(actor: Actor, resource: FhirResource & { id: string }, opts?: UpdateOptions): Promise<WriteResult>;
  /** Conditional update: `PUT /Type?query`. 0 matches creates, 1 updates, more is ICR_MULTIPLE_MATCHES. */
  conditionalUpdate(actor: Actor, resource: FhirResource, query: string, opts?: UpdateOptions): Promise<WriteResult>;
  delete(actor: Actor, resourceType: string, id: string): Promise<WriteResult | null>;
  history(actor: Actor, q: HistoryQuery, baseUrl: string): Promise<Bundle>;
  /** Search; returns the searchset Bundle as JSON text (entries are the stored text, not re-serialised). */
  search(actor: Actor, resourceType: string, params: URLSearchParams, opts: SearchOptions): Promise<string>;
  /** Patient/{id}/$everything as a searchset Bundle JSON text. */
  everything(actor: Actor, patientId: string, baseUrl: string): Promise<string>;
  /** Transaction (atomic) or batch Bundle; returns the transaction-response / batch-response Bundle. */
  processBundle(actor: Actor, bundle: FhirResource, baseUrl: string): Promise<Bundle>;
}

/**
 * The records service: the only door to clinical data (see records-api.ts). It validates writes,
 * assigns ids, and hands reads and writes to the store. Access decisions and audit (a later issue)
 * slot in at the two marked points — `#decide` and `#audit` — so no route needs to change.
 */
import { practitionerIdOf, practitionerOf, USER_PRACTITIONER_PREFIX, userIdOfPractitioner } from '../auth/fhir-user.ts';
import { randomUUID } from 'node:crypto';
import type { SensitiveCodes } from '../fhir/sensitive-codes.ts';
import { STEWARD_ROLE as STEWARD, WRITER_ROLES } from '../access/roles.ts';
import { type AuditLog, type AuditRecord, noAudit } from '../audit/audit-record.ts';
import { categoriesOfType, categoryOf, categoryOfResource } from '../fhir/access-facts.ts';
import { type Bundle, type FhirResource, isSupportedType } from '../fhir/types.ts';
import type { Actor, UserActor } from '../shared/actor.ts';
import { IcrError } from '../shared/errors.ts';
import type { PersonDecision } from '../access/decide.ts';
import { referencedIds } from '../fhir/references.ts';
import type { AccessScope } from '../store/access-sql.ts';
import {
  organisationNames,
  type PersonSummaryRows,
  readPersonSummary,
  SUMMARY_SECTIONS,
  type SummarySection,
  summarySectionTypes,
} from '../store/person-summary.ts';
import type { Db } from '../store/db.ts';
import { countExcludedSensitive } from '../store/feed-store.ts';
import type { ReviewStatus } from '../store/mpi-store-review.ts';
import type { PreparedPutItem, PutItem, ResourceStore, StoredRow } from '../store/resource-store.ts';
import { toInstant } from '../store/resource-store.ts';
import type { MatchFound, PixFound } from './mpi/fhir-operations.ts';
import type { MpiPdsService, VerifyResult } from './mpi/pds-service.ts';
import type { MergeVia, MpiService, PersonView, ReviewItem } from './mpi/mpi-service.ts';
import { AccessDecider, type Decided, NON_PERSON_TYPES, roleRefusal } from './access/access-decider.ts';
import { AccessService } from './access/access-service.ts';
import { personAnchors, usesWithheldElement } from './access/search-anchors.ts';
import { auditedWrite } from './audited-write.ts';
import type { UserDirectory } from '../shared/users.ts';
import { DbUserDirectory } from './users/user-directory.ts';
import { UsersService } from './users/users-service.ts';
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
  | { index: number; outcome: 'excluded' }
  | { index: number; outcome: 'created' | 'updated' | 'unchanged'; resource: StoredResource }
  | { index: number; error: IcrError };

/** A set validated and prepared by `prepareMany`, to be written by `writeMany` (opaque to callers). */
export class PreparedSet {
  readonly refused: readonly SetResult[];
  readonly indexes: readonly number[];
  readonly items: readonly PreparedPutItem[];
  /** Items dropped for a sensitive code, counted by feed id ('' when the item named none). */
  readonly excluded: ReadonlyMap<string, number>;
  /** Set once the refused items' access refusal has been audited (a set written again after a conflict is not). */
  refusalAudited = false;
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

/** A search's answer and what its audit entry records of it. */
export interface SearchFound {
  json: string;
  returned: number;
  /** The persons (MPI) of the resources returned. */
  persons: readonly string[];
  /** The ids of the Patients matched. */
  patients: readonly string[];
}

/** Search, supplied by the store's search engine. */
export interface SearchEngine {
  /**
   * Executes a search and returns the searchset Bundle as JSON text, with what the audit entry says of it:
   * how many resources it carries (matches and includes), the persons they belong to and the Patients
   * matched. `scope` and `personIds` (set by the records service only) are the access decision: applied to
   * matches, includes and chains alike.
   */
  search(
    db: Db,
    resourceType: string,
    params: URLSearchParams,
    opts: SearchOptions & { scope?: AccessScope; personIds?: readonly string[] },
  ): Promise<SearchFound>;
  /** Checks a search's syntax (throws the precise error), before any access decision is made on it. */
  check?(resourceType: string, params: URLSearchParams, opts: SearchOptions): void;
  /** Ids of current resources of `resourceType` matching `query` (a search query string). */
  findIds(db: Db, resourceType: string, query: string): Promise<string[]>;
}

/**
 * Validation of a resource against the R4 structure definitions; throws (or rejects with) IcrError when
 * invalid. The server's runs large resources in a worker thread (src/workers/validation-pool.ts).
 */
export type Validator = (resource: unknown) => void | Promise<void>;

/**
 * Validation of a whole set at once (the server's validation pool: in worker threads, while this thread
 * prepares the set's index rows): for each resource, in order, undefined or the IcrError `Validator` throws.
 */
export type SetValidator = (resources: readonly unknown[]) => Promise<ReadonlyArray<IcrError | undefined>>;

/** Applies transaction and batch Bundles using a records service bound to one database transaction. */
export type BundleProcessor = (
  records: RecordsApi & { readonly db: Db },
  actor: Actor,
  bundle: FhirResource,
  baseUrl: string,
) => Promise<Bundle>;

/** The master patient index as the records service fronts it (built by records/mpi/mpi-compose.ts). */
export interface PatientIndex {
  /** `Patient/$match`: scored candidates as searchset Bundle JSON text, and how many. */
  match(body: unknown, baseUrl: string): Promise<MatchFound>;
  /** `Patient/$ihe-pix`: cross-references as a Parameters resource, with the persons and Patients it names. */
  pix(params: URLSearchParams): Promise<PixFound>;
  readonly service: Pick<MpiService, 'reviews' | 'review' | 'decide' | 'person' | 'unlink' | 'merge' | 'notSame'>;
  /** The Spine (PDS) use cases; undefined when no PDS is configured. */
  readonly pds: Pick<MpiPdsService, 'verify'> | undefined;
}

export interface RecordsServiceDeps {
  db: Db;
  store: ResourceStore;
  search: SearchEngine;
  validate: Validator;
  /** Validates a set write's resources together (default: `validate`, one after the other). */
  validateMany?: SetValidator;
  processBundle?: BundleProcessor;
  /** The MPI; without it `$match`, `$ihe-pix` and the stewards' operations are refused as not configured. */
  patientIndex?: PatientIndex;
  newId?: () => string;
  /** Where audit records go (default: nowhere until the audit log is wired; see src/audit/). */
  audit?: AuditLog;
  /**
   * Sensitive code lists (ICR_SENSITIVE_CODES): a resource carrying one of their codes never enters the
   * store — dropped and counted per feed in set writes, refused (ICR_SENSITIVE_EXCLUDED) in single writes.
   */
  sensitive?: SensitiveCodes;
  /** The access decisions (role → categories matrix, feed visibility, relationship window). */
  decider?: AccessDecider;
  /** The configured users (shared, with its cache, by every records service over the same database). */
  users?: UserDirectory & { invalidate?(userId: string): void };
  /** How long a declared relationship or emergency access lasts (ICR_ACCESS_GRANT_HOURS; default 12). */
  grantHours?: number;
  /**
   * Set by `transaction()` only: refusals audited inside its database transaction wait here and are written
   * after it ends, so a refusal that rolls the transaction back still leaves its entry.
   */
  deferredRefusals?: AuditRecord[];
}

/** The role allowed to review and change the MPI's links (src/access/roles.ts). */
export const STEWARD_ROLE: string = STEWARD;

/** What `RecordsService.summary` returns: the rows (parsed), totals, per-source counts and the decision. */
export interface PersonSummaryRead extends PersonSummaryRows {
  /** The rows' resources, in the rows' order. */
  resources: Array<FhirResource & { id: string }>;
  /** The organisations the rows refer to (for their names), under the same scope. */
  organisations: Array<FhirResource & { id: string }>;
  /** The access decision's grounds (basis, categories, opted out, restricted). */
  decision: PersonDecision;
}

/**
 * What a search's entry records of its answer: how many resources it returned and, when they are all one
 * person's (a lookup by NHS number, the viewer's find-a-patient), that person and a Patient, so that a lookup
 * of someone's demographics is in their access report and the privacy officer's signals like any other
 * access. A search naming its person already has them; one returning several persons' records names none.
 */
function noteFound(rec: AuditDraft, found: SearchFound): void {
  rec.returned = found.returned;
  if (rec.personId !== undefined && rec.personId !== null) return;
  if (found.persons.length !== 1) return;
  rec.personId = found.persons[0] ?? null;
  // One of the person's Patients matched (the first, when their linked records matched together), so that the
  // AuditEvent has its patient entity.
  if (found.patients.length > 0) rec.patientId = found.patients[0] ?? null;
}

/** An audit record before its outcome is known. */
type AuditDraft = Omit<AuditRecord, 'outcome'>;

/** The grounds shown for a read that needed no person decision (a resource shared by all, not a person's). */
function notClinical(): PersonDecision {
  return { basis: 'not-clinical', categories: [], ownOrgOnly: false, restricted: false };
}

/** A search bundle's notice that the person opted out (an OperationOutcome information issue). */
const OPT_OUT_NOTICE = `{"resource":${JSON.stringify({
  resourceType: 'OperationOutcome',
  issue: [
    {
      severity: 'information',
      code: 'suppressed',
      diagnostics:
        "This person has opted out of the shared care record: only your own organisation's records are shown",
    },
  ],
})},"search":{"mode":"outcome"}}`;

function withNotice(bundleJson: string, notice: string): string {
  if (bundleJson.includes(',"entry":[')) return `${bundleJson.slice(0, -2)},${notice}]}`;
  return `${bundleJson.slice(0, -1)},"entry":[${notice}]}`;
}

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

/**
 * A type that a write may store. AuditEvents come from the audit trail alone (DESIGN.md §7): a FHIR write,
 * a Bundle entry, an import or a feed carrying one is refused, so the trail stays the only source.
 */
export function checkWritableType(resourceType: string): void {
  checkType(resourceType);
  if (resourceType === 'AuditEvent') {
    throw new IcrError(
      'ICR_METHOD_NOT_ALLOWED',
      'AuditEvents are written only by the audit trail; they cannot be created, changed, imported or deleted',
    );
  }
}

export function checkId(id: string): void {
  if (!ID_PATTERN.test(id)) throw new IcrError('ICR_BAD_REQUEST', `"${id}" is not a valid FHIR id`);
}

function errorCodeOf(err: unknown): string {
  return err instanceof IcrError ? err.code : 'ICR_INTERNAL';
}

const DEFAULT_DECIDER = new AccessDecider();

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

/** What a feed's credential may do (docs/feeds.md): plain writes of its own data. */
const FEED_WRITES_ONLY = (): IcrError =>
  new IcrError(
    'ICR_ACCESS_DENIED',
    'A feed credential may only write its own data (no reads, searches or conditional writes)',
  );

export class RecordsService implements RecordsApi {
  readonly db: Db;
  readonly #deps: RecordsServiceDeps;
  #users: UsersService | undefined;
  #access: AccessService | undefined;

  constructor(deps: RecordsServiceDeps) {
    this.#deps = deps;
    this.db = deps.db;
  }

  /** The same service bound to an open transaction (for transaction Bundles and set imports). */
  withTransaction(tx: Db): RecordsService {
    return new RecordsService({ ...this.#deps, db: tx });
  }

  /**
   * Runs `fn` with this service bound to one new database transaction (transaction Bundles, conditional
   * updates). Writes' `allowed` entries commit with the transaction; `refused` entries are written after
   * it ends, committed or rolled back, so every refusal inside it leaves its entry (DESIGN.md §7).
   */
  async transaction<T>(fn: (records: RecordsService) => Promise<T>): Promise<T> {
    if (this.db.inTransaction) return fn(this);
    const deferred: AuditRecord[] = [];
    try {
      return await this.db.transaction((tx) =>
        fn(new RecordsService({ ...this.#deps, db: tx, deferredRefusals: deferred })),
      );
    } finally {
      for (const rec of deferred.splice(0)) await this.#audit(this.db, rec);
    }
  }

  get store(): ResourceStore {
    return this.#deps.store;
  }

  get decider(): AccessDecider {
    return this.#deps.decider ?? DEFAULT_DECIDER;
  }

  /** Users and role profiles (records/users/). */
  get users(): UsersService {
    this.#users ??= new UsersService({
      db: this.db,
      directory: this.#deps.users ?? new DbUserDirectory(this.db, { ttlMs: 0 }),
      audit: (db, rec) => this.#audit(db, rec),
    });
    return this.#users;
  }

  /** Declared relationships, emergency access, their review, and opt-out (records/access/). */
  get access(): AccessService {
    this.#access ??= new AccessService({
      db: this.db,
      store: this.#deps.store,
      decider: this.decider,
      audit: (db, rec) => this.#audit(db, rec),
      write: async (tx, actor, resource) => {
        const prepared = await this.#prepare(resource, resource.id);
        const provenance = this.#provenanceOf(actor, undefined);
        const [res] = await this.#deps.store.put(tx, [
          provenance ? { resource: prepared, provenance } : { resource: prepared },
        ]);
        if (!res) throw new IcrError('ICR_INTERNAL', 'The store returned no result');
        return res.row;
      },
      ...(this.#deps.grantHours === undefined ? {} : { grantHours: this.#deps.grantHours }),
    });
    return this.#access;
  }

  // --- Access and audit seams (docs/access.md). Every method audits exactly once: allowed or refused. ---

  /** Decisions that need no person: may this actor do `action` on `resourceType` at all? */
  async #decide(
    actor: Actor,
    action: 'read' | 'write' | 'search' | 'steward' | 'identity',
    resourceType: string,
    resource?: FhirResource,
  ): Promise<void> {
    if (actor.kind !== 'user') {
      // A feed's credential writes its own data and nothing else: no reads, searches or MPI operations.
      if (actor.feedId !== undefined && action !== 'write') throw FEED_WRITES_ONLY();
      return;
    }
    const limits = actor.limits;
    if (limits && (action === 'write' || action === 'steward') && limits.readOnly) {
      throw new IcrError('ICR_ACCESS_DENIED', 'The SMART token grants reads only (scope *.rs)');
    }
    if (limits?.personId !== undefined && action === 'identity') {
      throw new IcrError('ICR_ACCESS_DENIED', 'A patient-scoped SMART token cannot look people up');
    }
    // Linking, unlinking and merging people changes whose record everyone sees: data stewards only.
    if (action === 'steward') {
      if (actor.role !== STEWARD_ROLE) {
        throw new IcrError(
          'ICR_ACCESS_DENIED',
          `Only a data steward (role ${STEWARD_ROLE}) may review or change links`,
        );
      }
      return;
    }
    const cats = this.decider.roleCategories(actor);
    if (action === 'identity') {
      // $match and $ihe-pix find people: roles that see demographics (docs/access.md).
      if (!cats.includes('demographics')) throw roleRefusal(actor, 'demographics');
      return;
    }
    if (resource) {
      // A write: the category of what is written (a resource marked social care is `social-care`).
      const category = categoryOfResource(resource);
      if (!cats.includes(category)) throw roleRefusal(actor, category);
    } else {
      // A read: the role must see some category this type's resources can be in; rows are filtered in SQL.
      const possible = categoriesOfType(resourceType);
      if (!possible.some((c) => cats.includes(c))) throw roleRefusal(actor, possible[0] ?? categoryOf(resourceType));
    }
    if (action === 'write' && !(WRITER_ROLES as readonly string[]).includes(actor.role)) {
      throw new IcrError('ICR_ACCESS_DENIED', `The role ${actor.role} may not write clinical data`);
    }
  }

  /** The audit seam: every access and every refusal, `db` being the write's transaction for writes. */
  async #audit(db: Db, rec: AuditRecord): Promise<void> {
    const deferred = this.#deps.deferredRefusals;
    if (deferred && rec.outcome === 'refused' && db.inTransaction) {
      deferred.push(rec); // written by transaction() once the transaction has ended
      return;
    }
    await (this.#deps.audit ?? noAudit).record(db, rec);
  }

  /** Runs a read, auditing its outcome (a refusal carries the error code) before the answer leaves. */
  async #reading<T>(rec: AuditDraft, fn: (rec: AuditDraft) => Promise<T>): Promise<T> {
    let out: T;
    try {
      out = await fn(rec);
    } catch (err) {
      await this.#audit(this.db, {
        ...rec,
        outcome: 'refused',
        errorCode: errorCodeOf(err),
        basis: rec.basis ?? 'none',
      });
      throw err;
    }
    await this.#audit(this.db, { ...rec, outcome: 'allowed' });
    return out;
  }

  /** Runs a write in one transaction with its audit entry; a refusal is audited outside it. */
  async #writing<T>(
    rec: AuditDraft,
    fn: (tx: Db, rec: AuditDraft) => Promise<T>,
    before?: (rec: AuditDraft) => Promise<void>,
  ): Promise<T> {
    return auditedWrite(this.db, (db, r) => this.#audit(db, r), rec, fn, before);
  }

  /** Decides about the person a row belongs to (or a stand-in when there is no row, for equal timing). */
  async #decideRow(actor: UserActor, row: StoredRow | null, rec: AuditDraft, db: Db): Promise<Decided | null> {
    if (row && row.personId === null) return null;
    const decided = await this.decider.person(db, actor, row?.personId ?? '~none', db.inTransaction);
    if (row) {
      rec.personId = row.personId;
      rec.basis = decided.decision.basis;
      rec.categories = decided.decision.categories;
      if (decided.decision.reason) rec.reason = decided.decision.reason;
    }
    return decided;
  }

  /** Whether a user may see `row`: its person's decision, or the shared categories for a row of no person. */
  async #rowVisible(
    actor: UserActor,
    row: StoredRow | null,
    rec: AuditDraft,
    db: Db = this.db,
  ): Promise<{ visible: boolean; scope?: AccessScope }> {
    const decided = await this.#decideRow(actor, row, rec, db);
    if (!row) return { visible: false };
    const scope = decided?.scope ?? (await this.decider.sharedScope(actor, [], db.inTransaction));
    return { visible: AccessDecider.rowVisible(row, scope), scope };
  }

  /**
   * Reads the current `resourceType/id` for a user and decides about its person in the same round trip
   * (access-decider.ts `row`): the row (content as it may leave the server), whether the user may see it,
   * the scope to read further with, and the decision (null for a row of no person). Records the decision's
   * grounds in `rec` as `#decideRow` does.
   */
  async #readVisible(
    actor: UserActor,
    resourceType: string,
    id: string,
    rec: AuditDraft,
    db: Db = this.db,
  ): Promise<{ row: StoredRow | null; visible: boolean; scope: AccessScope; decided: Decided | null }> {
    const { row, decided, shared } = await this.decider.row(db, actor, resourceType, id, '~none', db.inTransaction);
    if (row && !shared) {
      rec.personId = row.personId;
      rec.basis = decided.decision.basis;
      rec.categories = decided.decision.categories;
      if (decided.decision.reason) rec.reason = decided.decision.reason;
    }
    const scope = shared ?? decided.scope;
    return {
      row,
      visible: row !== null && AccessDecider.rowVisible(row, scope),
      scope,
      decided: shared ? null : decided,
    };
  }

  /**
   * The current `resourceType/id` as the actor may have it: for a user, `#readVisible` (one round trip; a row
   * not seen answers as not found) with the scope to read further with; for any other actor, the row as stored.
   */
  async #readSeen(
    actor: Actor,
    resourceType: string,
    id: string,
    rec: AuditDraft,
    opts: { out?: boolean } = {},
  ): Promise<{ row: StoredRow | null; scope?: AccessScope; decided?: Decided | null }> {
    if (actor.kind !== 'user') return { row: await this.#deps.store.read(this.db, resourceType, id, opts) };
    const seen = await this.#readVisible(actor, resourceType, id, rec);
    if (!seen.visible) throw this.#notFound(resourceType, id);
    return { row: seen.row, scope: seen.scope, decided: seen.decided };
  }

  /** A resource the user may not see answers exactly as one that does not exist. */
  #notFound(resourceType: string, id: string): IcrError {
    return new IcrError('ICR_NOT_FOUND', `${resourceType}/${id} is not known`);
  }

  /** For writes by users: the existing resource must be one they may see (else it "does not exist"). */
  async #checkWritable(tx: Db, actor: Actor, resourceType: string, id: string, rec: AuditDraft): Promise<void> {
    if (actor.kind !== 'user') {
      if (actor.feedId === undefined) return;
      // A feed updates (or deletes) only what it sent itself.
      const row = await this.#deps.store.read(tx, resourceType, id);
      if (row && !row.deleted && row.feedId !== actor.feedId) {
        throw new IcrError(
          'ICR_ACCESS_DENIED',
          `${resourceType}/${id} was sent by another source: a feed may only update its own data`,
        );
      }
      return;
    }
    const row = await this.#deps.store.read(tx, resourceType, id);
    if (!row) return;
    const { visible } = await this.#rowVisible(actor, row, rec, tx);
    if (!visible) throw this.#notFound(resourceType, id);
  }

  /** A user's writes are their organisation's contributions (provenance), unless the caller says otherwise. */
  #provenanceOf(actor: Actor, given: PutItem['provenance']): PutItem['provenance'] {
    // A feed writing with its credential: always that feed's data, whatever the caller says.
    if (actor.kind === 'system' && actor.feedId !== undefined) {
      return { feedId: actor.feedId, ...(actor.orgOds ? { sourceOrg: actor.orgOds } : {}) };
    }
    if (given) return given;
    return actor.kind === 'user' ? { sourceOrg: actor.orgOds } : undefined;
  }

  // --- Writes ---

  async #prepare(resource: FhirResource, id?: string): Promise<FhirResource & { id: string }> {
    const prepared = this.#checked(resource, id);
    await this.#deps.validate(prepared);
    return prepared;
  }

  /** What every write checks before validation: a writable type, no sensitive code, a valid id. */
  #checked(resource: FhirResource, id?: string): FhirResource & { id: string } {
    checkWritableType(typeOfBody(resource));
    // Sensitive information never enters the store (the code itself is never logged or echoed).
    if (this.#deps.sensitive?.carries(resource)) {
      throw new IcrError(
        'ICR_SENSITIVE_EXCLUDED',
        `The ${resource.resourceType} carries a code from a sensitive code list and is not stored`,
      );
    }
    const finalId = id ?? resource.id ?? (this.#deps.newId ?? randomUUID)();
    checkId(finalId);
    if (resource.resourceType === 'Practitioner' && userIdOfPractitioner(finalId) !== null) {
      throw new IcrError(
        'ICR_BAD_REQUEST',
        `Practitioner ids starting "${USER_PRACTITIONER_PREFIX}" are reserved for users (their SMART fhirUser)`,
      );
    }
    return { ...resource, id: finalId };
  }

  async create(actor: Actor, resource: FhirResource, opts: CreateOptions = {}): Promise<WriteResult> {
    const type = String((resource as { resourceType?: unknown } | null)?.resourceType);
    let prepared: FhirResource & { id: string };
    // The access decision and validation come before the transaction (a large resource is validated in a
    // worker; no transaction waits for it).
    const before = async () => {
      checkWritableType(typeOfBody(resource));
      await this.#decide(actor, 'write', resource.resourceType, resource);
      // A conditional create searches all data: not for a feed's credential.
      if (opts.ifNoneExist && actor.kind === 'system' && actor.feedId !== undefined) throw FEED_WRITES_ONLY();
      // A create always gets a new server id: a client-supplied id on POST is ignored (FHIR R4 3.1.0.7.1).
      prepared = await this.#prepare(resource, (this.#deps.newId ?? randomUUID)());
    };
    return this.#writing(
      { action: 'create', actor, what: type.slice(0, 64) },
      async (tx, rec) => {
        if (opts.ifNoneExist) {
          const existing = await this.#matchOne(tx, resource.resourceType, opts.ifNoneExist);
          if (existing) return { outcome: 'unchanged' as const, resource: existing };
        }
        const item: PutItem = { resource: prepared, mustNotExist: true };
        const provenance = this.#provenanceOf(actor, opts.provenance);
        if (provenance) item.provenance = provenance;
        const [res] = await this.#deps.store.put(tx, [item]);
        if (!res) throw new IcrError('ICR_INTERNAL', 'The store returned no result');
        rec.what = `${prepared.resourceType}/${prepared.id}`;
        rec.personId = res.row.personId;
        rec.patientId = res.row.patientId;
        rec.returned = 1;
        return { outcome: res.outcome === 'unchanged' ? 'unchanged' : 'created', resource: toStored(res.row) };
      },
      before,
    );
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
    const refuse = (index: number, it: SetItem, err: unknown) => {
      if (!(err instanceof IcrError)) throw err;
      if (err.code === 'ICR_SENSITIVE_EXCLUDED') {
        const feed = it.provenance?.feedId ?? '';
        excluded.set(feed, (excluded.get(feed) ?? 0) + 1);
        refused.push({ index, outcome: 'excluded' });
      } else {
        refused.push({ index, error: err });
      }
    };
    const checked: Array<{ index: number; item: PutItem }> = [];
    for (const [index, it] of items.entries()) {
      try {
        await this.#decide(actor, 'write', typeOfBody(it.resource), it.resource);
        const resource = this.#checked(it.resource, it.resource.id);
        const provenance = this.#provenanceOf(actor, it.provenance);
        checked.push({ index, item: provenance ? { resource, provenance } : { resource } });
      } catch (err) {
        refuse(index, it, err);
      }
    }
    const validateMany = this.#deps.validateMany;
    let prepared: PreparedPutItem[];
    if (validateMany) {
      // The set is validated in the pool's workers while this thread computes what the store needs (hashes,
      // index rows) for every item; only the valid ones are kept (an invalid item's rows may be anything).
      const verdicts = validateMany(checked.map((c) => c.item.resource));
      const ahead = checked.map((c) => {
        try {
          return this.#deps.store.prepare([c.item])[0];
        } catch (err) {
          return err instanceof Error ? err : new Error(String(err));
        }
      });
      const errors = await verdicts;
      prepared = [];
      checked.forEach((c, n) => {
        const error = errors[n];
        if (error) return refuse(c.index, items[c.index] as SetItem, error);
        const item = ahead[n];
        if (item === undefined || item instanceof Error) throw item ?? new Error('no prepared item');
        valid.push(c);
        prepared.push(item);
      });
    } else {
      for (const c of checked) {
        try {
          await this.#deps.validate(c.item.resource);
          valid.push(c);
        } catch (err) {
          refuse(c.index, items[c.index] as SetItem, err);
        }
      }
      prepared = this.#deps.store.prepare(valid.map((v) => v.item));
    }
    return new PreparedSet(
      refused.sort((a, b) => a.index - b.index),
      valid.map((v) => v.index),
      prepared,
      excluded,
    );
  }

  /** The second half of `putMany`: writes a prepared set in one transaction. It may be called again after a conflict. */
  async writeMany(actor: Actor, set: PreparedSet): Promise<SetResult[]> {
    // Items the access decision refused are a refusal like any other write's: one entry for the set, once.
    const denied = set.refused.filter(
      (r): r is { index: number; error: IcrError } => 'error' in r && r.error.status === 403,
    );
    if (denied.length > 0 && !set.refusalAudited) {
      set.refusalAudited = true;
      await this.#audit(this.db, {
        action: 'import',
        outcome: 'refused',
        actor,
        what: `${String(denied.length)} of ${String(denied.length + set.items.length)} resources`,
        basis: 'none',
        errorCode: errorCodeOf(denied[0]?.error),
      });
      // Nothing else to write: no `allowed` entry for a set that wrote nothing because it was refused (a set
      // that also dropped sensitive items still commits their counts, with its entry, below).
      if (set.items.length === 0 && set.excluded.size === 0) return [...set.refused].sort((a, b) => a.index - b.index);
    }
    const written = await this.#writing(
      { action: 'import', actor, what: `${set.items.length} resources`, returned: set.items.length },
      async (tx, rec) => {
        const out = await this.#deps.store.put(tx, set.items);
        // A set of one person's records (a feed's Bundle, one patient's file) names that person, so the
        // entry is found by person as every single write's is; a set spanning persons names none.
        const persons = new Set(out.map((w) => w.row.personId));
        const patients = new Set(out.map((w) => w.row.patientId).filter((p) => p !== null));
        const [person] = persons;
        if (persons.size === 1 && person) {
          rec.personId = person;
          if (patients.size === 1) rec.patientId = [...patients][0] ?? null;
        }
        // Only the counts of what was dropped are kept, per feed, in the same commit.
        for (const [feedId, n] of set.excluded) if (feedId) await countExcludedSensitive(tx, feedId, n);
        return out;
      },
    );
    const results: SetResult[] = [...set.refused];
    written.forEach((w, n) =>
      results.push({ index: set.indexes[n] ?? -1, outcome: w.outcome, resource: toStored(w.row) }),
    );
    return results.sort((a, b) => a.index - b.index);
  }

  async update(actor: Actor, resource: FhirResource & { id: string }, opts: UpdateOptions = {}): Promise<WriteResult> {
    const body = resource as { resourceType?: unknown; id?: unknown } | null;
    const what = `${String(body?.resourceType).slice(0, 64)}/${String(body?.id).slice(0, 64)}`;
    let prepared: FhirResource & { id: string };
    const before = async () => {
      checkWritableType(typeOfBody(resource));
      await this.#decide(actor, 'write', resource.resourceType, resource);
      prepared = await this.#prepare(resource, resource.id);
    };
    return this.#writing(
      { action: 'update', actor, what },
      async (tx, rec) => {
        await this.#checkWritable(tx, actor, prepared.resourceType, prepared.id, rec);
        const item: PutItem = { resource: prepared };
        if (opts.ifMatch !== undefined) item.ifMatch = opts.ifMatch;
        const provenance = this.#provenanceOf(actor, opts.provenance);
        if (provenance) item.provenance = provenance;
        const [res] = await this.#deps.store.put(tx, [item]);
        if (!res) throw new IcrError('ICR_INTERNAL', 'The store returned no result');
        rec.personId = res.row.personId;
        rec.patientId = res.row.patientId;
        rec.returned = 1;
        // An update that creates (PUT to a new id, a Bundle's create) is audited as the create it is.
        if (res.outcome === 'created') rec.action = 'create';
        return { outcome: res.outcome, resource: toStored(res.row) };
      },
      before,
    );
  }

  async conditionalUpdate(
    actor: Actor,
    resource: FhirResource,
    query: string,
    opts: UpdateOptions = {},
  ): Promise<WriteResult> {
    try {
      checkWritableType(typeOfBody(resource));
      await this.#decide(actor, 'write', resource.resourceType, resource);
      // A conditional write searches all data: not for a feed's credential.
      if (actor.kind === 'system' && actor.feedId !== undefined) throw FEED_WRITES_ONLY();
    } catch (err) {
      // Refused before any lookup: audited like every refusal (the update itself audits from here on).
      const type = String((resource as { resourceType?: unknown } | null)?.resourceType).slice(0, 64);
      await this.#audit(this.db, {
        action: 'update',
        outcome: 'refused',
        actor,
        what: `${type}?${query.slice(0, 2000)}`,
        basis: 'none',
        errorCode: errorCodeOf(err),
      });
      throw err;
    }
    return this.transaction(async (records) => {
      const tx = records.db;
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
      return records.update(actor, { ...resource, id }, opts);
    });
  }

  async delete(actor: Actor, resourceType: string, id: string): Promise<WriteResult | null> {
    return this.#writing(
      { action: 'delete', actor, what: `${resourceType.slice(0, 64)}/${id.slice(0, 64)}` },
      async (tx, rec) => {
        checkWritableType(resourceType);
        checkId(id);
        await this.#decide(actor, 'write', resourceType);
        await this.#checkWritable(tx, actor, resourceType, id, rec);
        const row = await this.#deps.store.delete(tx, resourceType, id);
        rec.returned = row ? 1 : 0;
        return row ? { outcome: 'deleted' as const, resource: toStored(row) } : null;
      },
    );
  }

  // --- Reads ---

  async read(actor: Actor, resourceType: string, id: string): Promise<StoredResource> {
    return this.#reading(
      { action: 'read', actor, what: `${resourceType.slice(0, 64)}/${id.slice(0, 64)}` },
      async (rec) => {
        checkType(resourceType);
        checkId(id);
        await this.#decide(actor, 'read', resourceType);
        const userId = resourceType === 'Practitioner' ? userIdOfPractitioner(id) : null;
        if (userId !== null) return this.#userPractitioner(actor, userId, rec);
        const { row } = await this.#readSeen(actor, resourceType, id, rec, { out: true });
        if (!row) throw this.#notFound(resourceType, id);
        rec.personId ??= row.personId;
        rec.patientId = row.patientId;
        if (row.deleted) throw new IcrError('ICR_GONE', `${resourceType}/${id} has been deleted`);
        rec.returned = 1;
        return toStored(row);
      },
    );
  }

  /**
   * A user's Practitioner (their SMART `fhirUser`), synthesised from the user directory: the reserved
   * `icr-user-` ids are never read from stored data (src/auth/fhir-user.ts). Users only; no patient data.
   */
  async #userPractitioner(actor: Actor, userId: string, rec: AuditDraft): Promise<StoredResource> {
    const id = `Practitioner/${USER_PRACTITIONER_PREFIX}${userId}`;
    if (actor.kind !== 'user') throw new IcrError('ICR_NOT_FOUND', `${id} is not known`);
    const user = await (this.#deps.users ?? new DbUserDirectory(this.db, { ttlMs: 0 })).find(userId);
    if (!user || practitionerIdOf(user.id) === null) throw new IcrError('ICR_NOT_FOUND', `${id} is not known`);
    const lastUpdated = new Date().toISOString();
    rec.returned = 1;
    rec.basis = 'not-clinical';
    return {
      resourceType: 'Practitioner',
      id: `${USER_PRACTITIONER_PREFIX}${userId}`,
      versionId: 1,
      lastUpdated,
      deleted: false,
      json: JSON.stringify(practitionerOf(user, lastUpdated)),
    };
  }

  /**
   * The person (MPI person id) of a Patient the actor may see, for a SMART patient context: the Patient is
   * read as by `read` (access-checked and audited), so a context the user could not open is refused here.
   */
  async personOfPatient(actor: UserActor, patientId: string): Promise<string> {
    await this.read(actor, 'Patient', patientId);
    const row = await this.#deps.store.read(this.db, 'Patient', patientId);
    return row?.personId ?? patientId;
  }

  async vread(actor: Actor, resourceType: string, id: string, versionId: number): Promise<StoredResource> {
    const what = `${resourceType.slice(0, 64)}/${id.slice(0, 64)}/_history/${versionId}`;
    return this.#reading({ action: 'vread', actor, what }, async (rec) => {
      checkType(resourceType);
      checkId(id);
      if (!Number.isInteger(versionId) || versionId < 1) {
        throw new IcrError('ICR_BAD_REQUEST', `"${versionId}" is not a valid version id`);
      }
      await this.#decide(actor, 'read', resourceType);
      const row = await this.#deps.store.vread(this.db, resourceType, id, versionId, { out: true });
      if (actor.kind === 'user') {
        // An item entered in error is hidden with all its versions.
        const current = row ? await this.#deps.store.read(this.db, resourceType, id) : null;
        const { visible } = await this.#rowVisible(actor, row, rec);
        if (!row || !visible || current?.enteredInError) {
          throw new IcrError('ICR_NOT_FOUND', `${resourceType}/${id} has no version ${versionId}`);
        }
      }
      if (!row) throw new IcrError('ICR_NOT_FOUND', `${resourceType}/${id} has no version ${versionId}`);
      rec.personId ??= row.personId;
      rec.patientId = row.patientId;
      if (row.deleted) throw new IcrError('ICR_GONE', `${resourceType}/${id} version ${versionId} is a deletion`);
      rec.returned = 1;
      return toStored(row);
    });
  }

  /** The scope of a history or search that names no person: reference data only, or refused. */
  async #crossPersonScope(actor: UserActor, resourceType: string | undefined): Promise<AccessScope> {
    if (resourceType && NON_PERSON_TYPES.has(resourceType))
      return this.decider.sharedScope(actor, [], this.db.inTransaction);
    if (resourceType === 'Patient' && this.decider.roleCategories(actor).includes('demographics')) {
      // Finding a person: demographics only, for everyone found.
      return this.decider.sharedScope(actor, ['demographics'], this.db.inTransaction);
    }
    throw new IcrError(
      'ICR_CROSS_PERSON_SEARCH',
      `A search of ${resourceType ?? 'the whole record'} must name one person (patient= or subject=): direct care is about one person at a time`,
    );
  }

  async history(actor: Actor, q: HistoryQuery, baseUrl: string): Promise<Bundle> {
    const path = q.patientId
      ? `Patient/${q.patientId.slice(0, 64)}/_history`
      : [q.resourceType?.slice(0, 64), q.id?.slice(0, 64), '_history'].filter(Boolean).join('/');
    return this.#reading({ action: 'history', actor, what: path }, (rec) => this.#history(actor, q, baseUrl, rec));
  }

  async #history(actor: Actor, q: HistoryQuery, baseUrl: string, rec: AuditDraft): Promise<Bundle> {
    if (q.resourceType) checkType(q.resourceType);
    if (q.id) checkId(q.id);
    if (q.patientId) checkId(q.patientId);
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
    let scope: AccessScope | undefined;
    if (q.patientId) {
      const seen = await this.#readSeen(actor, 'Patient', q.patientId, rec);
      const patient = seen.row;
      scope = seen.scope;
      if (!patient) throw this.#notFound('Patient', q.patientId);
      personId = patient.personId ?? q.patientId;
      rec.patientId = q.patientId;
    } else if (q.resourceType && q.id) {
      if (actor.kind === 'user') {
        const current = await this.#deps.store.read(this.db, q.resourceType, q.id);
        const seen = await this.#rowVisible(actor, current, rec);
        if (!seen.visible) throw this.#notFound(q.resourceType, q.id);
        scope = seen.scope;
      }
    } else if (actor.kind === 'user') {
      scope = await this.#crossPersonScope(actor, q.resourceType);
    }
    const { rows, total } = await this.#deps.store.history(
      this.db,
      {
        ...(q.resourceType && !q.patientId ? { resourceType: q.resourceType } : {}),
        ...(q.id ? { id: q.id } : {}),
        ...(personId ? { personId } : {}),
        ...(since ? { since } : {}),
        count,
        offset,
      },
      scope,
    );
    const path = q.patientId
      ? `Patient/${q.patientId}/_history`
      : [q.resourceType, q.id, '_history'].filter(Boolean).join('/');
    const link = (o: number) =>
      `${baseUrl}/${path}?_count=${count}&_offset=${o}${since ? `&_since=${encodeURIComponent(since)}` : ''}`;
    const links = [{ relation: 'self', url: link(offset) }];
    if (offset + count < total) links.push({ relation: 'next', url: link(offset + count) });
    if (offset > 0) links.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
    rec.returned = rows.length;
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
    const what = `${resourceType.slice(0, 64)}?${params.toString().slice(0, 2000)}`;
    return this.#reading({ action: 'search', actor, what }, async (rec) => {
      checkType(resourceType);
      await this.#decide(actor, 'search', resourceType);
      if (actor.kind !== 'user') {
        const found = await this.#deps.search.search(this.db, resourceType, params, opts);
        noteFound(rec, found);
        return found.json;
      }
      this.#deps.search.check?.(resourceType, params, opts);
      const anchors = personAnchors(resourceType, params);
      if (anchors.several) {
        throw new IcrError('ICR_CROSS_PERSON_SEARCH', 'A search must name one person (one patient= or subject= value)');
      }
      let scope: AccessScope;
      let personIds: string[] | undefined;
      let notice = false;
      if (anchors.ids.length > 0) {
        let personId: string;
        let decided: Decided;
        const [only] = anchors.ids;
        if (anchors.ids.length === 1 && only !== undefined) {
          // One anchor (the usual search): its Patient and its person's facts in one round trip.
          const unknown = `~unknown:${only}`;
          const got = await this.decider.row(this.db, actor, 'Patient', only, unknown, this.db.inTransaction);
          // An unknown Patient names a person no one has: the search finds nothing, as for one not seen.
          personId = got.row?.personId ?? got.row?.id ?? unknown;
          decided =
            got.row && got.row.personId === null
              ? await this.decider.person(this.db, actor, personId, this.db.inTransaction)
              : got.decided;
        } else {
          const persons = new Set<string>();
          for (const id of anchors.ids) {
            const p = await this.#deps.store.read(this.db, 'Patient', id);
            persons.add(p?.personId ?? p?.id ?? `~unknown:${id}`);
          }
          if (persons.size > 1) {
            throw new IcrError(
              'ICR_CROSS_PERSON_SEARCH',
              'A search must name one person; these parameters name several',
            );
          }
          personId = [...persons][0] as string;
          decided = await this.decider.person(this.db, actor, personId, this.db.inTransaction);
        }
        rec.personId = personId.startsWith('~') ? null : personId;
        rec.patientId = anchors.ids[0] ?? null;
        rec.basis = decided.decision.basis;
        rec.categories = decided.decision.categories;
        if (decided.decision.reason) rec.reason = decided.decision.reason;
        scope = decided.scope;
        personIds = [personId];
        notice = decided.decision.ownOrgOnly;
      } else {
        scope = await this.#crossPersonScope(actor, resourceType);
      }
      if (usesWithheldElement(params)) scope = { ...scope, excludeRestricted: true };
      const found = await this.#deps.search.search(this.db, resourceType, params, {
        ...opts,
        scope,
        ...(personIds ? { personIds } : {}),
      });
      noteFound(rec, found);
      const { json } = found;
      return notice ? withNotice(json, OPT_OUT_NOTICE) : json;
    });
  }

  async everything(actor: Actor, patientId: string, baseUrl: string): Promise<string> {
    return (await this.#everything(actor, patientId, baseUrl)).json;
  }

  /**
   * `$everything` for the viewer's whole-record page: the same read, decision and ONE audit entry, with the
   * grounds of the decision that was applied (so the page shows the decision its content came from, without
   * deciding a second time).
   */
  async personRecord(
    actor: UserActor,
    patientId: string,
    baseUrl: string,
  ): Promise<{ json: string; decision: PersonDecision }> {
    const { json, decided } = await this.#everything(actor, patientId, baseUrl);
    return { json, decision: decided?.decision ?? notClinical() };
  }

  async #everything(
    actor: Actor,
    patientId: string,
    baseUrl: string,
  ): Promise<{ json: string; decided: Decided | null | undefined }> {
    return this.#reading(
      { action: 'everything', actor, what: `Patient/${patientId.slice(0, 64)}/$everything` },
      async (rec) => {
        checkId(patientId);
        await this.#decide(actor, 'read', 'Patient');
        rec.patientId = patientId;
        const { row: patient, scope, decided } = await this.#readSeen(actor, 'Patient', patientId, rec);
        if (!patient) throw this.#notFound('Patient', patientId);
        if (patient.deleted) throw new IcrError('ICR_GONE', `Patient/${patientId} has been deleted`);
        const personId = patient.personId ?? patientId;
        rec.personId = personId;
        const rows = await this.#deps.store.everything(this.db, personId, scope);
        rec.returned = rows.length;
        // Assemble the Bundle from stored text: entries are never parsed and re-serialised.
        const parts = rows.map(
          (r) =>
            `{"fullUrl":${JSON.stringify(`${baseUrl}/${r.resourceType}/${r.id}`)},"resource":${r.json},"search":{"mode":"match"}}`,
        );
        if (scope?.ownOrgOnly !== undefined) parts.push(OPT_OUT_NOTICE);
        const self = JSON.stringify(`${baseUrl}/Patient/${patientId}/$everything`);
        const json = `{"resourceType":"Bundle","type":"searchset","total":${rows.length},"link":[{"relation":"self","url":${self}}],"entry":[${parts.join(',')}]}`;
        return { json, decided };
      },
    );
  }

  /**
   * A person's summary (the viewer's summary cards; ADR 0045): only the sections `limits` names, each the
   * most recent (appointments: the next) `limits[section]` items, filtered and sorted in SQL, with each
   * section's total; the per-source counts; the referenced organisations. One access decision and ONE audit
   * entry (`summary`, naming the categories read); a section whose categories the decision does not allow
   * is not read at all. `now` decides which appointments are upcoming.
   */
  async summary(
    actor: UserActor,
    patientId: string,
    limits: Partial<Record<SummarySection, number>>,
    now: Date,
  ): Promise<PersonSummaryRead> {
    return this.#reading(
      { action: 'summary', actor, what: `Patient/${patientId.slice(0, 64)}/$summary` },
      async (rec) => {
        checkId(patientId);
        await this.#decide(actor, 'read', 'Patient');
        rec.patientId = patientId;
        const { row: patient, visible, scope, decided } = await this.#readVisible(actor, 'Patient', patientId, rec);
        if (!patient || !visible) throw this.#notFound('Patient', patientId);
        if (patient.deleted) throw new IcrError('ICR_GONE', `Patient/${patientId} has been deleted`);
        const personId = patient.personId ?? patientId;
        rec.personId = personId;
        const allowed: readonly string[] = scope.personCategories;
        const read: Partial<Record<SummarySection, number>> = {};
        const categories = new Set<string>();
        for (const section of SUMMARY_SECTIONS) {
          const limit = limits[section];
          if (limit === undefined) continue;
          const cats = summarySectionTypes(section).flatMap((t) => categoriesOfType(t));
          const seen = cats.filter((c) => allowed.includes(c));
          if (seen.length === 0) continue; // not read at all
          read[section] = limit;
          for (const c of seen) categories.add(c);
        }
        const rows = await readPersonSummary(this.db, personId, scope, read, now);
        const resources = rows.rows.map((r) => JSON.parse(r.json) as FhirResource & { id: string });
        const orgIds = referencedIds(resources, 'Organization');
        const organisations = (await organisationNames(this.db, orgIds, scope)).map(
          (o) => JSON.parse(o.json) as FhirResource & { id: string },
        );
        rec.returned = resources.length + organisations.length;
        rec.categories = [...categories];
        const decision: PersonDecision = decided?.decision ?? notClinical();
        return { ...rows, resources, organisations, decision };
      },
    );
  }

  /**
   * An authenticated request for an endpoint that does not exist (no route matched, so no use case ran):
   * audited as a refused access (`ICR_NOT_FOUND`), so probing the API leaves a trace like any refusal.
   */
  /** Audits a caller refused before any use case ran (a feed's token refused by the HTTP layer's checks). */
  async refusedCaller(actor: Actor, what: string, errorCode: string): Promise<void> {
    await this.#audit(this.db, {
      action: 'authenticate',
      outcome: 'refused',
      actor,
      what: what.slice(0, 220),
      basis: 'none',
      errorCode,
    });
  }

  async unknownEndpoint(actor: Actor, method: string, path: string): Promise<void> {
    await this.#audit(this.db, {
      action: 'unknown-endpoint',
      outcome: 'refused',
      actor,
      what: `${method.slice(0, 16)} ${path.slice(0, 200)}`,
      basis: 'none',
      errorCode: 'ICR_NOT_FOUND',
    });
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
    return this.#reading({ action: 'match', actor, what: 'Patient/$match', basis: 'not-clinical' }, async (rec) => {
      const mpi = this.#mpi();
      await this.#decide(actor, 'identity', 'Patient');
      const { json, returned } = await mpi.match(body, baseUrl);
      rec.returned = returned;
      return json;
    });
  }

  /** `Patient/$ihe-pix`: the identifiers the same person has in other systems. */
  async crossReferences(actor: Actor, params: URLSearchParams): Promise<FhirResource> {
    // What was asked is kept as for a search (the source identifier), and whose identifiers were returned: a
    // lookup of one person's identifiers is in that person's access report.
    const what = `Patient/$ihe-pix?${params.toString().slice(0, 2000)}`;
    return this.#reading({ action: 'pix', actor, what, basis: 'not-clinical' }, async (rec) => {
      const mpi = this.#mpi();
      await this.#decide(actor, 'identity', 'Patient');
      const { parameters, personIds, patientIds, sourcePatientIds } = await mpi.pix(params);
      rec.returned = patientIds.length;
      if (personIds.length === 1) {
        rec.personId = personIds[0] ?? null;
        rec.patientId = sourcePatientIds[0] ?? null; // a Patient that holds the identifier asked about
      }
      return parameters;
    });
  }

  /** Runs a data steward's MPI operation between the access decision and the audit entry. */
  async #steward<T>(actor: Actor, action: string, what: string, fn: (mpi: PatientIndex) => Promise<T>): Promise<T> {
    return this.#reading({ action, actor, what, basis: 'not-clinical' }, async () => {
      const mpi = this.#mpi();
      await this.#decide(actor, 'steward', 'Patient');
      return fn(mpi);
    });
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

/**
 * Versioned FHIR resources: the only code that writes the `resource` and `resource_version` tables.
 *
 * Writes go in sets: `put` takes many resources and writes each table with one statement, and the search
 * index rows for them in the same transaction. A resource sent again with identical content is
 * 'unchanged' and gets no new version, so re-imports are idempotent.
 */
import { createHash } from 'node:crypto';
import { careLinksOf, categoryOfResource, isEnteredInError, isRestrictedPatient } from '../fhir/access-facts.ts';
import { type SummaryFacts, summaryFactsOf } from '../fhir/summary-facts.ts';
import type { FhirResource, Provenance } from '../fhir/types.ts';
import { IcrError } from '../shared/errors.ts';
import { type AccessScope, adder, contentExpr, scopeClause } from './access-sql.ts';
import type { Db, SqlValue } from './db.ts';
import { patientIdOf } from './patient-compartment.ts';
import { boolArray, int4Array, textArray } from './sql-array.ts';

export interface StoredRow {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  deleted: boolean;
  json: string | null;
  personId: string | null;
  patientId: string | null;
  feedId: string | null;
  sourceOrg: string | null;
  sourceId: string | null;
  receivedAt: string | null;
  /** The access category of the resource type (src/fhir/access-facts.ts). */
  category: string | null;
  enteredInError: boolean;
}

export interface PutItem {
  /** The resource to store; `id` is required (the records service assigns ids for creates). */
  resource: FhirResource & { id: string };
  provenance?: Provenance;
  /** Version-aware update: refuse unless the current version is this one. */
  ifMatch?: number;
  /** When true, refuse if the resource already exists (a create with a server-assigned id). */
  mustNotExist?: boolean;
}

/**
 * A put item with what can be computed from it before the transaction (`ResourceStore.prepare`): its
 * content hash, its compartment patient and its search-index rows. Writes of prepared items spend their
 * transaction on the database, not on CPU work between statements.
 */
export interface PreparedPutItem extends PutItem {
  readonly prepared: {
    readonly hash: string;
    readonly patientId: string | null;
    readonly indexRows: unknown;
    readonly access: AccessFacts;
  };
}

/** The access columns of a resource, computed at write time (src/fhir/access-facts.ts). */
interface AccessFacts {
  category: string;
  enteredInError: boolean;
  restricted: boolean;
  careLinks: ReturnType<typeof careLinksOf>;
  /** The viewer summary's status and date columns (src/fhir/summary-facts.ts; ADR 0052). */
  summary: SummaryFacts;
}

function accessFactsOf(resource: FhirResource): AccessFacts {
  return {
    category: categoryOfResource(resource),
    enteredInError: isEnteredInError(resource),
    restricted: isRestrictedPatient(resource),
    careLinks: careLinksOf(resource),
    summary: summaryFactsOf(resource),
  };
}

/** A FHIR date or dateTime as a timestamptz literal (a partial date counts to the end of its year / month). */
function untilInstant(v: string): string | null {
  if (/^\d{4}$/.test(v)) return `${v}-12-31`;
  if (/^\d{4}-\d{2}$/.test(v)) return `${v}-28`;
  return /^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(new Date(v).getTime()) ? v : null;
}

export type PutOutcome = 'created' | 'updated' | 'unchanged';

export interface PutResult {
  outcome: PutOutcome;
  row: StoredRow;
}

/** Maintains the search index for resources written in the same transaction. */
export interface Indexer {
  index(
    tx: Db,
    items: ReadonlyArray<{
      resourceType: string;
      id: string;
      resource: FhirResource;
      personId: string | null;
      /** No row of this resource existed before (a first version): it has no index rows to replace. */
      isNew?: boolean;
      /** The rows `rowsOf` returned for this resource, when it was prepared ahead. */
      rows?: unknown;
    }>,
  ): Promise<void>;
  /** The index rows of a resource, computed ahead of the transaction (`index` extracts them when absent). */
  rowsOf?(resource: FhirResource): unknown;
  remove(tx: Db, resourceType: string, ids: readonly string[]): Promise<void>;
}

/** Maps source patients to the person key (the MPI). Until linked, a patient is its own person. */
export interface PersonResolver {
  /**
   * The person of each patient id. `patients` are the Patient resources being written in the same set,
   * so that they are matched on what is being written rather than on a stored version.
   */
  personsFor(
    tx: Db,
    patientIds: readonly string[],
    patients?: ReadonlyArray<FhirResource>,
  ): Promise<Map<string, string>>;
}

export const identityPersons: PersonResolver = {
  async personsFor(_tx, patientIds) {
    return new Map(patientIds.map((p) => [p, p]));
  },
};

export interface ResourceStoreDeps {
  indexer: Indexer;
  persons?: PersonResolver;
  now?: () => Date;
}

export interface RawRow {
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: string;
  deleted: boolean;
  content: string | null;
  person_id: string | null;
  patient_id: string | null;
  feed_id: string | null;
  source_org: string | null;
  source_id: string | null;
  received_at: string | null;
  category: string | null;
  entered_in_error: boolean;
}

const COLUMNS =
  'resource_type, id, version_id, last_updated, deleted, content, person_id, patient_id, feed_id, source_org, source_id, received_at, category, entered_in_error';

/** COLUMNS with the content as it may leave the server (a restricted person's Patient masked). */
export const OUT_COLUMNS: string = COLUMNS.replace('content', `${contentExpr('r')} as content`)
  .split(', ')
  .map((c) => (c.includes(' as ') ? c : `r.${c}`))
  .join(', ');

/** PostgreSQL renders timestamptz as text in the session time zone; make it a FHIR instant (UTC, ms). */
export function toInstant(pgText: string): string {
  const d = new Date(pgText.includes('T') ? pgText : pgText.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  return Number.isNaN(d.getTime()) ? pgText : d.toISOString();
}

export function fromRaw(r: RawRow): StoredRow {
  return {
    resourceType: r.resource_type,
    id: r.id,
    versionId: Number(r.version_id),
    lastUpdated: toInstant(r.last_updated),
    deleted: r.deleted,
    json: r.content,
    personId: r.person_id,
    patientId: r.patient_id,
    feedId: r.feed_id,
    sourceOrg: r.source_org,
    sourceId: r.source_id,
    receivedAt: r.received_at === null ? null : toInstant(r.received_at),
    category: r.category,
    enteredInError: r.entered_in_error,
  };
}

/** The JSON text to store: meta carries versionId and lastUpdated, placed after id. */
function serialise(resource: FhirResource & { id: string }, versionId: number, lastUpdated: string): string {
  const { resourceType, id, meta, ...rest } = resource;
  return JSON.stringify({ resourceType, id, meta: { ...meta, versionId: String(versionId), lastUpdated }, ...rest });
}

/** Hash of the content that matters: everything but meta.versionId and meta.lastUpdated. */
export function contentHash(resource: FhirResource): string {
  const { meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...metaRest } = meta ?? {};
  const body = Object.keys(metaRest).length > 0 ? { ...rest, meta: metaRest } : rest;
  return createHash('sha256').update(JSON.stringify(body)).digest('base64url');
}

export class ResourceStore {
  readonly #indexer: Indexer;
  readonly #persons: PersonResolver;
  readonly #now: () => Date;

  constructor(deps: ResourceStoreDeps) {
    this.#indexer = deps.indexer;
    this.#persons = deps.persons ?? identityPersons;
    this.#now = deps.now ?? (() => new Date());
  }

  /** The current version; `out` reads the content as it may leave the server (see access-sql.ts). */
  async read(db: Db, resourceType: string, id: string, opts: { out?: boolean } = {}): Promise<StoredRow | null> {
    const res = await db.query<RawRow>(
      `select ${opts.out ? OUT_COLUMNS : COLUMNS} from resource r where r.resource_type = $1 and r.id = $2`,
      [resourceType, id],
      { prepare: true },
    );
    const r = res.rows[0];
    return r ? fromRaw(r) : null;
  }

  async vread(
    db: Db,
    resourceType: string,
    id: string,
    versionId: number,
    opts: { out?: boolean } = {},
  ): Promise<StoredRow | null> {
    const res = await db.query<RawRow>(
      `select ${opts.out ? OUT_COLUMNS : COLUMNS} from resource_version r where r.resource_type = $1 and r.id = $2 and r.version_id = $3`,
      [resourceType, id, versionId],
    );
    const r = res.rows[0];
    return r ? fromRaw(r) : null;
  }

  /** Computes, outside any transaction, what `put` would compute for each item (see `PreparedPutItem`). */
  prepare(items: readonly PutItem[]): PreparedPutItem[] {
    return items.map((item) => this.#prepareOne(item));
  }

  #prepareOne(item: PutItem | PreparedPutItem): PreparedPutItem {
    if ('prepared' in item) return item;
    const { resource } = item;
    const indexRows = this.#indexer.rowsOf?.(resource);
    return {
      ...item,
      prepared: {
        hash: contentHash(resource),
        patientId: patientIdOf(resource),
        indexRows,
        access: accessFactsOf(resource),
      },
    };
  }

  /**
   * Creates or updates many resources in one set of statements. Must run inside a transaction (it
   * locks the current rows it replaces). Results are in the order of `items`.
   */
  async put(tx: Db, given: ReadonlyArray<PutItem | PreparedPutItem>): Promise<PutResult[]> {
    if (given.length === 0) return [];
    if (!tx.inTransaction) return tx.transaction((t) => this.put(t, given));
    const items = given.map((item) => this.#prepareOne(item));
    const seen = new Set<string>();
    for (const it of items) {
      const key = `${it.resource.resourceType}/${it.resource.id}`;
      if (seen.has(key)) throw new IcrError('ICR_CONFLICT', `${key} appears twice in one write`);
      seen.add(key);
    }

    const existing = await tx.query<{
      resource_type: string;
      id: string;
      version_id: number;
      deleted: boolean;
      content_hash: string | null;
    }>(
      `select r.resource_type, r.id, r.version_id, r.deleted, r.content_hash
         from resource r
         join unnest($1::text[], $2::text[]) as k(t, i) on r.resource_type = k.t and r.id = k.i
        for update of r`,
      [textArray(items.map((i) => i.resource.resourceType)), textArray(items.map((i) => i.resource.id))],
      { prepare: true },
    );
    const current = new Map(existing.rows.map((r) => [`${r.resource_type}/${r.id}`, r]));

    const patientIds = items.map((i) => i.prepared.patientId);
    const persons = await this.#persons.personsFor(
      tx,
      [...new Set(patientIds.filter((p): p is string => !!p))],
      items.filter((i) => i.resource.resourceType === 'Patient').map((i) => i.resource),
    );

    const now = this.#now().toISOString();
    const results: PutResult[] = [];
    const toWrite: Array<{
      row: StoredRow;
      hash: string;
      resource: FhirResource & { id: string };
      isNew: boolean;
      rows: unknown;
      access: AccessFacts;
    }> = [];

    items.forEach((item, n) => {
      const { resource } = item;
      const key = `${resource.resourceType}/${resource.id}`;
      const cur = current.get(key);
      if (item.mustNotExist && cur) throw new IcrError('ICR_CONFLICT', `${key} already exists`);
      if (item.ifMatch !== undefined && (cur?.deleted !== false || Number(cur.version_id) !== item.ifMatch)) {
        throw new IcrError(
          'ICR_VERSION_CONFLICT',
          `${key}: If-Match version ${item.ifMatch} is not the current version${cur ? ` (${cur.version_id})` : ''}`,
        );
      }
      const { hash } = item.prepared;
      const patientId = patientIds[n] ?? null;
      const personId = patientId ? (persons.get(patientId) ?? patientId) : null;
      if (cur && !cur.deleted && cur.content_hash === hash) {
        results.push({
          outcome: 'unchanged',
          row: { ...placeholderRow(resource, patientId, personId), versionId: Number(cur.version_id) },
        });
        return;
      }
      const versionId = cur ? Number(cur.version_id) + 1 : 1;
      const prov = item.provenance ?? {};
      const row: StoredRow = {
        resourceType: resource.resourceType,
        id: resource.id,
        versionId,
        lastUpdated: now,
        deleted: false,
        json: serialise(resource, versionId, now),
        personId,
        patientId,
        feedId: prov.feedId ?? null,
        sourceOrg: prov.sourceOrg ?? null,
        sourceId: prov.sourceId ?? null,
        receivedAt: prov.receivedAt ?? now,
        category: item.prepared.access.category,
        enteredInError: item.prepared.access.enteredInError,
      };
      toWrite.push({
        row,
        hash,
        resource,
        isNew: cur === undefined,
        rows: item.prepared.indexRows,
        access: item.prepared.access,
      });
      results.push({ outcome: cur && !cur.deleted ? 'updated' : 'created', row });
    });

    if (toWrite.length > 0) {
      await this.#writeRows(
        tx,
        toWrite.map((w) => w.row),
        toWrite.map((w) => w.hash),
        toWrite.map((w) => w.access.restricted),
        toWrite.map((w) => w.access.summary),
      );
      await this.#writeCareLinks(tx, toWrite);
      await this.#indexer.index(
        tx,
        toWrite.map((w) => ({
          resourceType: w.row.resourceType,
          id: w.row.id,
          resource: w.resource,
          personId: w.row.personId,
          isNew: w.isNew,
          rows: w.rows,
        })),
      );
    }
    // Unchanged results report the stored row as it is.
    const unchanged = results.filter((r) => r.outcome === 'unchanged');
    if (unchanged.length > 0) {
      const stored = await this.#readMany(
        tx,
        unchanged.map((r) => [r.row.resourceType, r.row.id] as const),
      );
      for (const r of unchanged) {
        const s = stored.get(`${r.row.resourceType}/${r.row.id}`);
        if (s) r.row = s;
      }
    }
    return results;
  }

  /** Deletes (tombstones) a resource. Returns null when it does not exist or is already deleted. */
  async delete(tx: Db, resourceType: string, id: string): Promise<StoredRow | null> {
    if (!tx.inTransaction) return tx.transaction((t) => this.delete(t, resourceType, id));
    const cur = await tx.query<RawRow>(
      `select ${COLUMNS} from resource where resource_type = $1 and id = $2 for update`,
      [resourceType, id],
    );
    const r = cur.rows[0];
    if (!r || r.deleted) return null;
    const now = this.#now().toISOString();
    const row: StoredRow = {
      ...fromRaw(r),
      versionId: Number(r.version_id) + 1,
      lastUpdated: now,
      deleted: true,
      json: null,
    };
    await this.#writeRows(tx, [row], [null], [false], [NO_SUMMARY_FACTS]);
    await tx.query('delete from care_link where resource_id = $1 and resource_type = $2', [id, resourceType]);
    await this.#indexer.remove(tx, resourceType, [id]);
    return row;
  }

  /**
   * Everything stored for one person (the Patient records linked to it and every resource about them):
   * one indexed range scan, returning the stored JSON text as it is.
   */
  async everything(
    db: Db,
    personId: string,
    scope?: AccessScope,
  ): Promise<Array<{ resourceType: string; id: string; json: string }>> {
    const values: SqlValue[] = [personId];
    const res = await db.query<{ resource_type: string; id: string; content: string }>(
      `select r.resource_type, r.id, ${contentExpr('r')} as content from resource r
        where r.person_id = $1 and not r.deleted and ${scopeClause(adder(values), 'r', scope)}
        order by r.resource_type = 'Patient' desc, r.resource_type, r.id`,
      values,
    );
    return res.rows.map((r) => ({ resourceType: r.resource_type, id: r.id, json: r.content }));
  }

  /** History newest first: of one resource, one type, one person, or everything. */
  async history(
    db: Db,
    q: { resourceType?: string; id?: string; personId?: string; since?: string; count: number; offset: number },
    scope?: AccessScope,
  ): Promise<{ rows: StoredRow[]; total: number }> {
    const where: string[] = [];
    const values: SqlValue[] = [];
    const add = (sql: string, v: string) => {
      values.push(v);
      where.push(sql.replace('?', `$${values.length}`));
    };
    if (q.resourceType) add('r.resource_type = ?', q.resourceType);
    if (q.id) add('r.id = ?', q.id);
    if (q.personId) add('r.person_id = ?', q.personId);
    if (q.since) add('r.last_updated >= ?::timestamptz', q.since);
    if (scope) {
      where.push(scopeClause(adder(values), 'r', scope));
      // An item entered in error is hidden with all its versions.
      where.push(
        'not exists (select 1 from resource c where c.resource_type = r.resource_type and c.id = r.id and c.entered_in_error)',
      );
    }
    const clause = where.length > 0 ? `where ${where.join(' and ')}` : '';
    const total = await db.query<{ n: number }>(`select count(*)::int as n from resource_version r ${clause}`, values);
    const res = await db.query<RawRow>(
      `select ${OUT_COLUMNS} from resource_version r ${clause}
        order by r.last_updated desc, r.resource_type, r.id, r.version_id desc
        limit ${Math.max(0, Math.trunc(q.count))} offset ${Math.max(0, Math.trunc(q.offset))}`,
      values,
    );
    return { rows: res.rows.map(fromRaw), total: total.rows[0]?.n ?? 0 };
  }

  async #readMany(db: Db, keys: ReadonlyArray<readonly [string, string]>): Promise<Map<string, StoredRow>> {
    const res = await db.query<RawRow>(
      `select ${COLUMNS.split(', ')
        .map((c) => `r.${c}`)
        .join(', ')}
         from resource r join unnest($1::text[], $2::text[]) as k(t, i) on r.resource_type = k.t and r.id = k.i`,
      [keys.map((k) => k[0]), keys.map((k) => k[1])],
    );
    return new Map(res.rows.map((r) => [`${r.resource_type}/${r.id}`, fromRaw(r)]));
  }

  /**
   * Replaces the care links (organisations named, until when) of the written resources: the rows a
   * legitimate relationship is derived from (docs/access.md). A care event's contributing organisation
   * (source_org) counts as named; a Patient's does not (a source patient record alone is no relationship).
   */
  async #writeCareLinks(
    tx: Db,
    written: ReadonlyArray<{ row: StoredRow; isNew: boolean; access: AccessFacts }>,
  ): Promise<void> {
    const stale = written.filter((w) => !w.isNew && w.access.careLinks);
    if (stale.length > 0) {
      await tx.query(
        `delete from care_link c using unnest($1::text[], $2::text[]) as k(t, i)
          where c.resource_id = k.i and c.resource_type = k.t`,
        [textArray(stale.map((w) => w.row.resourceType)), textArray(stale.map((w) => w.row.id))],
      );
    }
    const types: Array<string> = [];
    const ids: Array<string> = [];
    const keys: Array<string> = [];
    const untils: Array<string | null> = [];
    for (const w of written) {
      const links = w.access.careLinks;
      if (!links) continue;
      const orgKeys = new Set(links.orgKeys);
      if (w.row.sourceOrg && w.row.resourceType !== 'Patient') orgKeys.add(`ods:${w.row.sourceOrg}`);
      const until = links.always
        ? null
        : ((links.until === null ? null : untilInstant(links.until)) ?? w.row.receivedAt ?? w.row.lastUpdated);
      for (const key of orgKeys) {
        types.push(w.row.resourceType);
        ids.push(w.row.id);
        keys.push(key);
        untils.push(until);
      }
    }
    if (keys.length === 0) return;
    await tx.query(
      `insert into care_link (resource_type, resource_id, org_key, until)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) on conflict do nothing`,
      [textArray(types), textArray(ids), textArray(keys), untils],
      { prepare: true },
    );
  }

  /**
   * Writes the new version of each row to `resource_version` and `resource` in one fixed, prepared
   * statement. The JSON texts go as one binary `text[]` parameter (no array literal to escape in Node and
   * parse back in PostgreSQL; ADR 0016, 0057), and travel once for both tables.
   */
  async #writeRows(
    tx: Db,
    rows: readonly StoredRow[],
    hashes: ReadonlyArray<string | null>,
    restricted: readonly boolean[],
    summary: readonly SummaryFacts[],
  ): Promise<void> {
    const values: SqlValue[] = [
      textArray(rows.map((r) => r.resourceType)),
      textArray(rows.map((r) => r.id)),
      int4Array(rows.map((r) => r.versionId)),
      rows.map((r) => r.lastUpdated),
      boolArray(rows.map((r) => r.deleted)),
      textArray(hashes),
      textArray(rows.map((r) => r.patientId)),
      textArray(rows.map((r) => r.personId)),
      textArray(rows.map((r) => r.feedId)),
      textArray(rows.map((r) => r.sourceOrg)),
      textArray(rows.map((r) => r.sourceId)),
      rows.map((r) => r.receivedAt),
      textArray(rows.map((r) => r.category)),
      boolArray(rows.map((r) => r.enteredInError)),
      boolArray(restricted),
      textArray(summary.map((f) => f.status)),
      textArray(summary.map((f) => f.date)),
      // The JSON texts as one binary text[] (one copy for both tables): the statement text is then fixed, so
      // PostgreSQL parses it once per connection (ADR 0057).
      textArray(rows.map((r) => r.json)),
    ];
    const names =
      'resource_type, id, version_id, last_updated, deleted, content, content_hash, patient_id, person_id, feed_id, source_org, source_id, received_at, category, entered_in_error, restricted, item_status, item_date';
    const versionNames = names.replace('content_hash, ', '').replace(', restricted, item_status, item_date', '');
    const sql = `with x as (
        select * from unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::bool[], $18::text[],
          $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[],
          $13::text[], $14::bool[], $15::bool[], $16::text[], $17::text[])
          as x(${names})
      ), v as (
        insert into resource_version (${versionNames})
        select ${versionNames} from x
      )
      insert into resource (${names}) select ${names} from x
      on conflict (resource_type, id) do update set
        version_id = excluded.version_id, last_updated = excluded.last_updated, deleted = excluded.deleted,
        content = excluded.content, content_hash = excluded.content_hash, patient_id = excluded.patient_id,
        person_id = excluded.person_id, feed_id = excluded.feed_id, source_org = excluded.source_org,
        source_id = excluded.source_id, received_at = excluded.received_at, category = excluded.category,
        entered_in_error = excluded.entered_in_error, restricted = excluded.restricted,
        item_status = excluded.item_status, item_date = excluded.item_date`;
    try {
      await tx.query(sql, values, { prepare: true });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new IcrError('ICR_CONFLICT', 'A concurrent write changed the same resource; retry', { cause: err });
      }
      throw err;
    }
  }
}

/** A tombstone has no summary status or date. */
const NO_SUMMARY_FACTS: SummaryFacts = { status: null, date: null };

function placeholderRow(
  resource: FhirResource & { id: string },
  patientId: string | null,
  personId: string | null,
): StoredRow {
  return {
    resourceType: resource.resourceType,
    id: resource.id,
    versionId: 0,
    lastUpdated: '',
    deleted: false,
    json: null,
    personId,
    patientId,
    feedId: null,
    sourceOrg: null,
    sourceId: null,
    receivedAt: null,
    category: null,
    enteredInError: false,
  };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

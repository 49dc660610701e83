/**
 * Transaction and batch Bundles (FHIR R4 §3.1.0.11 and http.html#transaction).
 *
 * transaction — all or nothing, in ONE database transaction: entries are checked first (a bad entry or
 *   an unsupported type refuses the whole Bundle, naming the entry), then applied in the order the spec
 *   sets: DELETE, POST, PUT, GET. Every `urn:uuid:` fullUrl gets its id before anything is written, so
 *   resources may refer to each other (even in a cycle); conditional creates (`ifNoneExist`), conditional
 *   updates (`PUT Type?query`) and conditional references (`Patient?identifier=…`, exactly one match)
 *   are resolved inside the same transaction. Any failure rolls everything back.
 * batch — every entry on its own; a failing entry gets its own status and OperationOutcome.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { toOperationOutcome } from '../../fhir/operation-outcome.ts';
import type { Bundle, BundleEntry, FhirResource } from '../../fhir/types.ts';
import type { Actor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import type { Db } from '../../store/db.ts';
import { collectReferences, isConditionalReference, isUrnReference, rewriteReferences } from './references.ts';
import type { RecordsApi, StoredResource, WriteResult } from '../records-api.ts';
import type { BundleProcessor, SetItem, SetResult } from '../records-service.ts';
import { parseEntry, type ParsedEntry } from './entry.ts';

type Records = RecordsApi & {
  readonly db: Db;
  /** The set write (`RecordsService.putMany`): many creates and updates validated, then written at once. */
  putMany?(actor: Actor, items: ReadonlyArray<SetItem>): Promise<SetResult[]>;
};
type TxRecords = Records & { transaction<T>(fn: (records: Records) => Promise<T>): Promise<T> };
type Response = NonNullable<BundleEntry['response']> & { resource?: FhirResource };

const ORDER = { DELETE: 0, POST: 1, PUT: 2, GET: 3 } as const;

function status(code: number): string {
  return `${code} ${STATUS_CODES[code] ?? ''}`.trim();
}

function versionResponse(code: number, r: StoredResource): Response {
  return {
    status: status(code),
    location: `${r.resourceType}/${r.id}/_history/${r.versionId}`,
    etag: `W/"${r.versionId}"`,
    lastModified: r.lastUpdated,
  };
}

function writeResponse(w: WriteResult): Response {
  return versionResponse(w.outcome === 'created' ? 201 : 200, w.resource);
}

/** Re-throws an error as belonging to entry `index`, its element paths rebased onto the entry. */
function atEntry(err: unknown, index: number): never {
  if (!(err instanceof IcrError) || err.message.startsWith('Bundle.entry[')) throw err;
  const where = `Bundle.entry[${index}]`;
  const details = err.details.map((d) => ({
    ...d,
    message: `${where}: ${d.message}`,
    expression: !d.expression
      ? where
      : d.expression.startsWith('Bundle.entry[')
        ? d.expression
        : d.expression.replace(/^[A-Z][A-Za-z]*/, `${where}.resource`),
  }));
  throw new IcrError(err.code, `${where}: ${err.message}`, {
    details: details.length > 0 ? details : [{ message: `${where}: ${err.message}`, expression: where }],
    cause: err,
  });
}

/**
 * Resources matching a search, through the records service (so access rules apply): at most two ids and
 * the number of matches (enough to tell none, one and several apart).
 */
async function matchIds(
  records: Records,
  actor: Actor,
  type: string,
  query: string,
  baseUrl: string,
): Promise<{ ids: string[]; count: number }> {
  const params = new URLSearchParams(query);
  params.set('_count', '2');
  const bundle = JSON.parse(await records.search(actor, type, params, { baseUrl })) as Bundle;
  const ids = (bundle.entry ?? [])
    .filter((e) => (e.search?.mode ?? 'match') === 'match' && e.resource?.resourceType === type)
    .map((e) => e.resource?.id)
    .filter((id): id is string => typeof id === 'string');
  return { ids, count: Math.max(ids.length, typeof bundle.total === 'number' ? bundle.total : 0) };
}

/** Resolves every conditional reference in `resources` to `Type/id` (exactly one match), into `map`. */
async function resolveConditional(
  records: Records,
  actor: Actor,
  entries: readonly ParsedEntry[],
  map: Map<string, string>,
  baseUrl: string,
): Promise<void> {
  for (const e of entries) {
    if (!e.resource) continue;
    for (const ref of collectReferences(e.resource)) {
      if (!isConditionalReference(ref) || map.has(ref)) continue;
      const [type = '', query = ''] = ref.split(/\?(.*)/s, 2);
      try {
        const { ids, count } = await matchIds(records, actor, type, query, baseUrl);
        if (count !== 1 || ids[0] === undefined) {
          throw new IcrError(
            count === 0 ? 'ICR_NOT_FOUND' : 'ICR_MULTIPLE_MATCHES',
            `The conditional reference "${ref}" matched ${count === 0 ? 'no' : 'more than one'} ${type}; it must match exactly one`,
          );
        }
        map.set(ref, `${type}/${ids[0]}`);
      } catch (err) {
        atEntry(err, e.index);
      }
    }
  }
}

async function applyEntry(
  records: Records,
  actor: Actor,
  e: ParsedEntry,
  id: string | undefined,
  baseUrl: string,
): Promise<Response> {
  switch (e.method) {
    case 'DELETE': {
      const r = await records.delete(actor, e.type, e.id ?? '');
      return r ? { status: status(204), etag: `W/"${r.resource.versionId}"` } : { status: status(204) };
    }
    case 'POST': {
      const resource = e.resource as FhirResource;
      if (id !== undefined) return writeResponse(await records.update(actor, { ...resource, id }));
      return writeResponse(await records.create(actor, resource, e.ifNoneExist ? { ifNoneExist: e.ifNoneExist } : {}));
    }
    case 'PUT': {
      const resource = e.resource as FhirResource;
      const opts = e.ifMatch === undefined ? {} : { ifMatch: e.ifMatch };
      const target = id ?? e.id;
      if (target !== undefined) return writeResponse(await records.update(actor, { ...resource, id: target }, opts));
      return writeResponse(await records.conditionalUpdate(actor, resource, e.query ?? '', opts));
    }
    case 'GET': {
      if (e.id === undefined) {
        const json = await records.search(actor, e.type, new URLSearchParams(e.query ?? ''), { baseUrl });
        return { status: status(200), resource: JSON.parse(json) as FhirResource };
      }
      const r =
        e.vid === undefined ? await records.read(actor, e.type, e.id) : await records.vread(actor, e.type, e.id, e.vid);
      return { ...versionResponse(200, r), resource: JSON.parse(r.json ?? '{}') as FhirResource, location: undefined };
    }
  }
}

function clean(r: Response): BundleEntry {
  const { resource, ...response } = r;
  if (response.location === undefined) delete response.location;
  return resource ? { resource, response } : { response };
}

async function transaction(records: TxRecords, actor: Actor, entries: ParsedEntry[], baseUrl: string): Promise<Bundle> {
  // Refusals inside the transaction are audited after it ends (they survive its rollback).
  const responses = await records.transaction(async (r) => {
    const out = new Map<number, Response>();
    const sorted = [...entries].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
    const run = async (e: ParsedEntry, id?: string) => {
      try {
        out.set(e.index, await applyEntry(r, actor, e, id, baseUrl));
      } catch (err) {
        atEntry(err, e.index);
      }
    };
    for (const e of sorted.filter((x) => x.method === 'DELETE')) await run(e);

    // Give every created or updated resource its id, so fullUrls can be resolved before any write.
    const ids = new Map<number, string>();
    const map = new Map<string, string>();
    for (const e of entries) {
      if (e.method !== 'POST' && e.method !== 'PUT') continue;
      let id = e.id;
      try {
        if (e.method === 'POST' && e.ifNoneExist) {
          const found = await matchIds(r, actor, e.type, e.ifNoneExist, baseUrl);
          if (found.count > 1)
            throw new IcrError(
              'ICR_MULTIPLE_MATCHES',
              `ifNoneExist "${e.ifNoneExist}" matched more than one ${e.type}`,
            );
          if (found.ids[0] !== undefined) {
            const existing = await r.read(actor, e.type, found.ids[0]);
            out.set(e.index, versionResponse(200, existing));
            id = found.ids[0];
          }
        } else if (e.method === 'PUT' && id === undefined) {
          const found = await matchIds(r, actor, e.type, e.query ?? '', baseUrl);
          if (found.count > 1)
            throw new IcrError(
              'ICR_MULTIPLE_MATCHES',
              `The condition "${e.query ?? ''}" matched more than one ${e.type}`,
            );
          const match = found.ids[0];
          if (match !== undefined && e.resource?.id && e.resource.id !== match) {
            throw new IcrError('ICR_CONFLICT', `The resource id "${e.resource.id}" differs from the matched resource`);
          }
          id = match ?? e.resource?.id;
        }
      } catch (err) {
        atEntry(err, e.index);
      }
      id ??= randomUUID();
      ids.set(e.index, id);
      if (e.fullUrl) map.set(e.fullUrl, `${e.type}/${id}`);
    }

    await resolveConditional(r, actor, entries, map, baseUrl);
    for (const e of entries) {
      if (!e.resource) continue;
      const dangling = collectReferences(e.resource).find((ref) => isUrnReference(ref) && !map.has(ref));
      if (dangling)
        atEntry(
          new IcrError(
            'ICR_INVALID_RESOURCE',
            `The reference "${dangling}" is not the fullUrl of an entry in this Bundle`,
          ),
          e.index,
        );
      e.resource = rewriteReferences(e.resource, map);
    }

    // A system (a feed or host system; no per-row visibility check applies to it) has its creates and
    // updates written as one set, through the set write `icr import` uses; users' go one by one.
    const writes = sorted.filter(
      (e) => (e.method === 'POST' || e.method === 'PUT') && !out.has(e.index) && e.ifMatch === undefined,
    );
    if (actor.kind === 'system' && r.putMany && writes.length > 1) {
      await writeSet(r.putMany.bind(r), actor, writes, ids, out);
    }
    for (const e of sorted) {
      if (e.method === 'DELETE' || out.has(e.index)) continue;
      await run(e, ids.get(e.index));
    }
    return out;
  });
  return {
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: entries.map((e) => clean(responses.get(e.index) ?? { status: status(500) })),
  };
}

/** The feed a system actor writes for (`feed:<id>`), whose provenance its resources carry. */
function feedOf(actor: Actor): string | undefined {
  return actor.kind === 'system' && actor.systemId.startsWith('feed:') ? actor.systemId.slice(5) : undefined;
}

/**
 * Writes a transaction's creates and updates (ids and references already resolved) in one set write, inside
 * the transaction. An invalid entry refuses the whole Bundle, naming the entry. An entry carrying a sensitive
 * code: from a feed, dropped and counted for the feed (as in its other channels), its response saying so;
 * from any other system, it refuses the Bundle as a single write would.
 */
async function writeSet(
  putMany: NonNullable<Records['putMany']>,
  actor: Actor,
  writes: readonly ParsedEntry[],
  ids: ReadonlyMap<number, string>,
  out: Map<number, Response>,
): Promise<void> {
  const feedId = feedOf(actor);
  const provenance = feedId ? { feedId, ...(actor.orgOds ? { sourceOrg: actor.orgOds } : {}) } : undefined;
  const items: SetItem[] = writes.map((e) => {
    const id = ids.get(e.index) ?? e.id ?? randomUUID();
    const resource = { ...(e.resource as FhirResource), id };
    return provenance ? { resource, provenance } : { resource };
  });
  const results = await putMany(actor, items);
  for (const res of results) {
    const e = writes[res.index];
    if (!e) continue;
    if ('error' in res) atEntry(res.error, e.index);
    if (res.outcome === 'excluded') {
      if (!feedId) {
        atEntry(
          new IcrError(
            'ICR_SENSITIVE_EXCLUDED',
            `The ${e.type} carries a code from a sensitive code list and is not stored`,
          ),
          e.index,
        );
      }
      out.set(e.index, {
        status: status(200),
        outcome: {
          resourceType: 'OperationOutcome',
          issue: [
            {
              severity: 'information',
              code: 'informational',
              diagnostics: 'Not stored: it carries a code from a sensitive code list (counted for the feed)',
            },
          ],
        },
      });
      continue;
    }
    out.set(e.index, versionResponse(res.outcome === 'created' ? 201 : 200, res.resource));
  }
}

async function batch(
  records: Records,
  actor: Actor,
  entries: Array<ParsedEntry | IcrError>,
  baseUrl: string,
): Promise<Bundle> {
  const out: BundleEntry[] = [];
  for (const [index, e] of entries.entries()) {
    try {
      if (e instanceof IcrError) throw e;
      const map = new Map<string, string>();
      await resolveConditional(records, actor, [e], map, baseUrl);
      if (e.resource) {
        const urn = collectReferences(e.resource).find(isUrnReference);
        if (urn)
          throw new IcrError(
            'ICR_INVALID_RESOURCE',
            `Batch entries cannot refer to other entries ("${urn}"); use a transaction`,
          );
        e.resource = rewriteReferences(e.resource, map);
      }
      out.push(clean(await applyEntry(records, actor, e, undefined, baseUrl)));
    } catch (err) {
      let mapped: unknown = err;
      try {
        atEntry(err, index);
      } catch (rebased) {
        mapped = rebased;
      }
      const { status: code, body } = toOperationOutcome(mapped);
      out.push({ response: { status: status(code), outcome: body } });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: out };
}

function entriesOf(bundle: FhirResource): unknown[] {
  if (bundle.resourceType !== 'Bundle') throw new IcrError('ICR_INVALID_RESOURCE', 'The body is not a Bundle');
  const entry = bundle.entry;
  if (entry !== undefined && !Array.isArray(entry)) {
    throw new IcrError('ICR_INVALID_RESOURCE', 'Bundle.entry must be an array', {
      details: [{ message: 'Bundle.entry must be an array', expression: 'Bundle.entry' }],
    });
  }
  return entry ?? [];
}

function hasTransaction(records: Records): records is TxRecords {
  return typeof (records as Partial<TxRecords>).transaction === 'function';
}

export const processBundle: BundleProcessor = async (records, actor, bundle, baseUrl) => {
  const type = bundle.type;
  const raw = entriesOf(bundle);
  if (type === 'transaction') {
    if (!hasTransaction(records))
      throw new IcrError('ICR_INTERNAL', 'Transactions need a records service with transaction()');
    const parsed = raw.map((entry, index) => {
      try {
        return parseEntry(entry, index, baseUrl);
      } catch (err) {
        return atEntry(err, index);
      }
    });
    const fullUrls = new Set<string>();
    for (const e of parsed) {
      if (e.fullUrl === undefined) continue;
      if (fullUrls.has(e.fullUrl))
        atEntry(new IcrError('ICR_INVALID_RESOURCE', `fullUrl "${e.fullUrl}" appears more than once`), e.index);
      fullUrls.add(e.fullUrl);
    }
    return transaction(records, actor, parsed, baseUrl);
  }
  if (type === 'batch') {
    const parsed = raw.map((entry, index) => {
      try {
        return parseEntry(entry, index, baseUrl);
      } catch (err) {
        if (err instanceof IcrError) return err;
        throw err;
      }
    });
    return batch(records, actor, parsed, baseUrl);
  }
  throw new IcrError(
    'ICR_BAD_REQUEST',
    `A Bundle of type "${String(type).slice(0, 64)}" cannot be processed; send a transaction or batch`,
    {
      details: [{ message: 'type must be transaction or batch', expression: 'Bundle.type' }],
    },
  );
};

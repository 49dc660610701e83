import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FhirResource } from '../../fhir/types.ts';
import { SYSTEM_ACTOR } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import type { Db } from '../../store/db.ts';
import { parseEntry } from './entry.ts';
import { processBundle } from './bundle-processor.ts';
import type { RecordsApi, StoredResource, WriteResult } from '../records-api.ts';

const BASE = 'http://example.org/fhir';

function stored(resourceType: string, id: string, versionId = 1): StoredResource {
  return {
    resourceType,
    id,
    versionId,
    lastUpdated: '2026-01-01T00:00:00.000Z',
    deleted: false,
    json: JSON.stringify({ resourceType, id }),
  };
}

/** A records service that logs calls and keeps resources in a Map (no database). */
function fakeRecords() {
  const log: string[] = [];
  const data = new Map<string, FhirResource>();
  let transactions = 0;
  const db = {
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      transactions++;
      return fn(db);
    },
  } as unknown as Db;
  const write = (r: FhirResource & { id: string }): WriteResult => {
    const key = `${r.resourceType}/${r.id}`;
    const outcome = data.has(key) ? 'updated' : 'created';
    data.set(key, r);
    return { outcome, resource: stored(r.resourceType, r.id) };
  };
  const records: RecordsApi & { db: Db; transaction<T>(fn: (r: typeof records) => Promise<T>): Promise<T> } = {
    db,
    transaction: (fn) => db.transaction(() => fn(records)),
    async create(_a, r) {
      log.push(`create ${r.resourceType}`);
      return write({ ...r, id: `new-${data.size}` });
    },
    async update(_a, r) {
      if (r.resourceType === 'Flag') throw new IcrError('ICR_VALIDATION_FAILED', 'bad flag');
      log.push(`update ${r.resourceType}/${r.id}`);
      return write(r);
    },
    async conditionalUpdate(_a, r, q) {
      log.push(`conditionalUpdate ${r.resourceType}?${q}`);
      return write({ ...r, id: 'cond' });
    },
    async delete(_a, t, id) {
      log.push(`delete ${t}/${id}`);
      return data.delete(`${t}/${id}`) ? { outcome: 'deleted', resource: stored(t, id, 2) } : null;
    },
    async read(_a, t, id) {
      log.push(`read ${t}/${id}`);
      const r = data.get(`${t}/${id}`);
      if (!r) throw new IcrError('ICR_NOT_FOUND', `${t}/${id} is not known`);
      return { ...stored(t, id), json: JSON.stringify(r) };
    },
    async vread(_a, t, id) {
      return stored(t, id);
    },
    async history() {
      return { resourceType: 'Bundle', type: 'history' };
    },
    async search(_a, t, params) {
      log.push(`search ${t}?${params.toString()}`);
      return '{"resourceType":"Bundle","type":"searchset","total":0,"entry":[]}';
    },
    async everything() {
      return '{}';
    },
    async processBundle() {
      return { resourceType: 'Bundle', type: 'x' };
    },
  };
  return { records, log, data, transactions: () => transactions };
}

describe('bundle processor', () => {
  it('parses entries: method, type, id, version, query, conditions', () => {
    assert.deepEqual(parseEntry({ request: { method: 'get', url: `${BASE}/Patient/1/_history/2` } }, 0, BASE), {
      index: 0,
      method: 'GET',
      type: 'Patient',
      id: '1',
      vid: 2,
    });
    const put = parseEntry(
      {
        resource: { resourceType: 'Patient' },
        request: { method: 'PUT', url: '/Patient?identifier=a|b', ifMatch: 'W/"4"' },
      },
      3,
      BASE,
    );
    assert.equal(put.query, 'identifier=a|b');
    assert.equal(put.ifMatch, 4);
    const post = parseEntry(
      {
        fullUrl: 'urn:uuid:x',
        resource: { resourceType: 'Patient' },
        request: { method: 'POST', url: 'Patient', ifNoneExist: 'Patient?identifier=a|b' },
      },
      1,
      BASE,
    );
    assert.equal(post.ifNoneExist, 'identifier=a|b');
    assert.throws(() => parseEntry({ request: { method: 'PATCH', url: 'Patient/1' } }, 0, BASE), {
      code: 'ICR_BAD_REQUEST',
    });
    assert.throws(() => parseEntry({ request: { method: 'GET', url: 'Basic/1' } }, 0, BASE), {
      code: 'ICR_UNSUPPORTED_TYPE',
    });
    assert.throws(() => parseEntry({ request: { method: 'POST', url: 'Patient' } }, 0, BASE), {
      code: 'ICR_INVALID_RESOURCE',
    });
    assert.throws(
      () =>
        parseEntry(
          { resource: { resourceType: 'Patient', id: 'a' }, request: { method: 'PUT', url: 'Patient/b' } },
          0,
          BASE,
        ),
      { code: 'ICR_INVALID_RESOURCE' },
    );
    assert.throws(() => parseEntry({ request: { method: 'DELETE', url: 'Patient?x=1' } }, 0, BASE), {
      code: 'ICR_METHOD_NOT_ALLOWED',
    });
  });

  it('runs a transaction in one database transaction, in the order DELETE, POST, PUT, GET', async () => {
    const f = fakeRecords();
    f.data.set('Patient/old', { resourceType: 'Patient', id: 'old' });
    const out = await processBundle(
      f.records,
      SYSTEM_ACTOR,
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { request: { method: 'GET', url: 'Patient/p' } },
          { resource: { resourceType: 'Patient', id: 'p' }, request: { method: 'PUT', url: 'Patient/p' } },
          {
            fullUrl: 'urn:uuid:6c2a4d0e-0000-4000-8000-000000000001',
            resource: { resourceType: 'Encounter', status: 'finished' },
            request: { method: 'POST', url: 'Encounter' },
          },
          { request: { method: 'DELETE', url: 'Patient/old' } },
          {
            resource: {
              resourceType: 'Observation',
              encounter: { reference: 'urn:uuid:6c2a4d0e-0000-4000-8000-000000000001' },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
      BASE,
    );
    assert.equal(f.transactions(), 1);
    assert.deepEqual(
      f.log.map((l) => l.replace(/[0-9a-f-]{36}/, 'ID')),
      ['delete Patient/old', 'update Encounter/ID', 'update Observation/ID', 'update Patient/p', 'read Patient/p'],
    );
    const encounterId = f.log[1]?.split('/')[1];
    const obs = [...f.data.values()].find((r) => r.resourceType === 'Observation');
    assert.deepEqual(obs?.encounter, { reference: `Encounter/${encounterId}` });
    assert.equal(out.type, 'transaction-response');
    assert.deepEqual(
      out.entry?.map((e) => e.response?.status),
      ['200 OK', '201 Created', '201 Created', '204 No Content', '201 Created'],
    );
  });

  it('a failing transaction entry fails the whole Bundle, naming the entry', async () => {
    const f = fakeRecords();
    await assert.rejects(
      processBundle(
        f.records,
        SYSTEM_ACTOR,
        {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: { resourceType: 'Patient', id: 'a' }, request: { method: 'PUT', url: 'Patient/a' } },
            { resource: { resourceType: 'Flag', id: 'f' }, request: { method: 'PUT', url: 'Flag/f' } },
          ],
        },
        BASE,
      ),
      (e: unknown) =>
        e instanceof IcrError && e.code === 'ICR_VALIDATION_FAILED' && e.message.startsWith('Bundle.entry[1]: '),
    );
  });

  it('a batch keeps going past a failing entry', async () => {
    const f = fakeRecords();
    const out = await processBundle(
      f.records,
      SYSTEM_ACTOR,
      {
        resourceType: 'Bundle',
        type: 'batch',
        entry: [
          { resource: { resourceType: 'Flag', id: 'f' }, request: { method: 'PUT', url: 'Flag/f' } },
          { request: { method: 'PATCH', url: 'Patient/a' } },
          { resource: { resourceType: 'Patient' }, request: { method: 'POST', url: 'Patient' } },
        ],
      },
      BASE,
    );
    assert.deepEqual(
      out.entry?.map((e) => e.response?.status),
      ['422 Unprocessable Entity', '400 Bad Request', '201 Created'],
    );
    assert.equal(out.entry?.[0]?.response?.outcome?.resourceType, 'OperationOutcome');
  });

  it('refuses Bundles of other types', async () => {
    const f = fakeRecords();
    await assert.rejects(processBundle(f.records, SYSTEM_ACTOR, { resourceType: 'Bundle', type: 'document' }, BASE), {
      code: 'ICR_BAD_REQUEST',
    });
  });
});

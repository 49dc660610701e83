/**
 * The FHIR REST interactions through the HTTP API (app.inject, no ports): metadata, create, read, vread,
 * update, delete, history, conditional create and update, search, $everything and `Prefer`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';

const FHIR = 'application/fhir+json';
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

for (const kind of testDatabases) {
  describe(`HTTP FHIR interactions (${kind})`, () => {
    let ta: TestApp;
    let auth: string;
    before(async () => {
      ta = await openTestApp(kind);
      auth = await ta.auth();
    });
    after(async () => {
      await ta.close();
    });

    const req = (
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) =>
      ta.app.inject({
        method,
        url,
        headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': FHIR }), ...headers },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });

    it('serves a CapabilityStatement of what is implemented, without a token', async () => {
      const res = await ta.app.inject({ url: '/fhir/metadata' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/fhir\+json; charset=utf-8/);
      const cs = res.json();
      assert.equal(cs.resourceType, 'CapabilityStatement');
      assert.equal(cs.fhirVersion, '4.0.1');
      assert.ok(cs.format.includes('json'));
      const patient = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
      assert.deepEqual(patient.interaction.map((i: { code: string }) => i.code).sort(), [
        'create',
        'delete',
        'history-instance',
        'history-type',
        'read',
        'search-type',
        'update',
        'vread',
      ]);
      assert.equal(patient.conditionalDelete, 'not-supported');
      assert.ok(patient.searchParam.some((p: { name: string }) => p.name === 'identifier'));
      assert.deepEqual(
        patient.operation.map((o: { name: string }) => o.name),
        ['everything', 'match', 'ihe-pix'],
      );
      assert.deepEqual(cs.rest[0].interaction.map((i: { code: string }) => i.code).sort(), [
        'batch',
        'history-system',
        'transaction',
      ]);
      assert.ok(
        !cs.rest[0].resource.some((r: { type: string }) => r.type === 'Questionnaire'),
        'claims no unsupported type',
      );
    });

    it('creates, reads, updates, vreads, deletes (410 after) and keeps the history', async () => {
      const created = await req('POST', '/fhir/Patient', { resourceType: 'Patient', id: 'ignored', gender: 'female' });
      assert.equal(created.statusCode, 201);
      const p = created.json();
      assert.notEqual(p.id, 'ignored', 'a create gets a server id');
      assert.equal(created.headers.etag, 'W/"1"');
      assert.equal(created.headers.location, `http://localhost:80/fhir/Patient/${p.id}/_history/1`);
      assert.ok(created.headers['last-modified']);

      const read = await req('GET', `/fhir/Patient/${p.id}`);
      assert.equal(read.statusCode, 200);
      assert.equal(read.headers.etag, 'W/"1"');
      assert.equal(read.headers['last-modified'], new Date(p.meta.lastUpdated).toUTCString());
      assert.deepEqual(read.json(), p);

      const updated = await req('PUT', `/fhir/Patient/${p.id}`, { ...p, gender: 'male' });
      assert.equal(updated.statusCode, 200);
      assert.equal(updated.headers.etag, 'W/"2"');
      assert.equal(updated.json().gender, 'male');

      const same = await req('PUT', `/fhir/Patient/${p.id}`, { ...p, gender: 'male' });
      assert.equal(same.statusCode, 200);
      assert.equal(same.headers.etag, 'W/"2"', 'identical content makes no new version');

      const v1 = await req('GET', `/fhir/Patient/${p.id}/_history/1`);
      assert.equal(v1.statusCode, 200);
      assert.equal(v1.json().gender, 'female');
      assert.equal((await req('GET', `/fhir/Patient/${p.id}/_history/9`)).statusCode, 404);
      assert.equal((await req('GET', `/fhir/Patient/${p.id}/_history/x`)).statusCode, 400);

      const del = await req('DELETE', `/fhir/Patient/${p.id}`);
      assert.equal(del.statusCode, 204);
      assert.equal(del.headers.etag, 'W/"3"');
      const gone = await req('GET', `/fhir/Patient/${p.id}`);
      assert.equal(gone.statusCode, 410);
      assert.equal(gone.json().resourceType, 'OperationOutcome');
      assert.equal(gone.json().issue[0].code, 'deleted');
      assert.equal((await req('DELETE', `/fhir/Patient/${p.id}`)).statusCode, 204, 'delete is idempotent');

      const hist = await req('GET', `/fhir/Patient/${p.id}/_history`);
      assert.equal(hist.statusCode, 200);
      const h = hist.json();
      assert.equal(h.type, 'history');
      assert.equal(h.total, 3);
      assert.deepEqual(
        h.entry.map((e: { request: { method: string } }) => e.request.method),
        ['DELETE', 'PUT', 'POST'],
      );
      const page = (await req('GET', `/fhir/Patient/${p.id}/_history?_count=1`)).json();
      assert.equal(page.entry.length, 1);
      assert.ok(page.link.some((l: { relation: string }) => l.relation === 'next'));
      assert.equal((await req('GET', `/fhir/Patient/${p.id}/_history?_since=2000-01-01T00:00:00Z`)).json().total, 3);
      assert.equal((await req('GET', `/fhir/Patient/${p.id}/_history?_since=3000-01-01T00:00:00Z`)).json().total, 0);
      assert.equal((await req('GET', `/fhir/Patient/${p.id}/_history?_since=yesterday`)).statusCode, 400);
      assert.equal((await req('GET', '/fhir/Patient/never-was/_history')).statusCode, 404);

      const typeHist = (await req('GET', '/fhir/Patient/_history')).json();
      assert.ok(typeHist.total >= 3);
      // The whole record's history is about everyone: refused to a user (direct care is one person at a time).
      const sysHist = await req('GET', '/fhir/_history?_count=2');
      assert.equal(sysHist.statusCode, 403);
      assert.equal(sysHist.json().issue[0].details.coding[0].code, 'ICR_CROSS_PERSON_SEARCH');
      const sys = await ta.records.history(SYSTEM_ACTOR, { count: 2 }, 'http://x/fhir');
      assert.equal(sys.type, 'history');
      assert.equal(sys.entry?.length, 2);
    });

    it('PUT creates with a client id (201), and refuses an id that differs from the URL', async () => {
      const res = await req('PUT', '/fhir/Patient/http-put-1', { resourceType: 'Patient', id: 'http-put-1' });
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers.location, 'http://localhost:80/fhir/Patient/http-put-1/_history/1');
      const mismatch = await req('PUT', '/fhir/Patient/http-put-1', { resourceType: 'Patient', id: 'other' });
      assert.equal(mismatch.statusCode, 400);
      assert.equal(mismatch.json().issue[0].details.coding[0].code, 'ICR_INVALID_RESOURCE');
      assert.equal((await req('PUT', '/fhir/Patient/http-put-1', { resourceType: 'Patient' })).statusCode, 400);
    });

    it('If-Match: the current version updates, another is 412', async () => {
      await req('PUT', '/fhir/Patient/http-ifmatch', { resourceType: 'Patient', id: 'http-ifmatch' });
      const ok = await req(
        'PUT',
        '/fhir/Patient/http-ifmatch',
        { resourceType: 'Patient', id: 'http-ifmatch', gender: 'other' },
        { 'if-match': 'W/"1"' },
      );
      assert.equal(ok.statusCode, 200);
      const stale = await req(
        'PUT',
        '/fhir/Patient/http-ifmatch',
        { resourceType: 'Patient', id: 'http-ifmatch', gender: 'male' },
        { 'if-match': 'W/"1"' },
      );
      assert.equal(stale.statusCode, 412);
      assert.equal(stale.json().issue[0].details.coding[0].code, 'ICR_VERSION_CONFLICT');
      assert.equal((await req('GET', '/fhir/Patient/http-ifmatch')).json().gender, 'other', 'nothing written');
      const malformed = await req(
        'PUT',
        '/fhir/Patient/http-ifmatch',
        { resourceType: 'Patient', id: 'http-ifmatch' },
        { 'if-match': 'three' },
      );
      assert.equal(malformed.statusCode, 400);
    });

    it('conditional create: If-None-Exist returns the match (200) instead of creating', async () => {
      const body = { resourceType: 'Patient', identifier: [{ system: NHS, value: '9990001001' }] };
      const first = await req('POST', '/fhir/Patient', body, { 'if-none-exist': `identifier=${NHS}|9990001001` });
      assert.equal(first.statusCode, 201);
      const again = await req('POST', '/fhir/Patient', body, { 'if-none-exist': `identifier=${NHS}|9990001001` });
      assert.equal(again.statusCode, 200);
      assert.equal(again.json().id, first.json().id);
      const search = (await req('GET', `/fhir/Patient?identifier=${NHS}|9990001001`)).json();
      assert.equal(search.total, 1);
    });

    it('conditional update: PUT Type?query creates (201) then updates the one match (200)', async () => {
      const q = `/fhir/Patient?identifier=${encodeURIComponent(`${NHS}|9990001002`)}`;
      const body = { resourceType: 'Patient', identifier: [{ system: NHS, value: '9990001002' }], gender: 'female' };
      const created = await req('PUT', q, body);
      assert.equal(created.statusCode, 201);
      const updated = await req('PUT', q, { ...body, gender: 'male' });
      assert.equal(updated.statusCode, 200);
      assert.equal(updated.json().id, created.json().id);
      assert.equal(updated.headers.etag, 'W/"2"');
      assert.equal((await req('PUT', '/fhir/Patient', body)).statusCode, 400, 'PUT without id or query');
      await req('POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'unknown', birthDate: '1901-01-01' });
      await req('POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'unknown', birthDate: '1901-01-01' });
      const many = await req('PUT', '/fhir/Patient?birthdate=1901-01-01', {
        resourceType: 'Patient',
        birthDate: '1901-01-01',
      });
      assert.equal(many.statusCode, 412);
      assert.equal(many.json().issue[0].code, 'multiple-matches');
    });

    it('search: GET and POST _search give the searchset text from the records service', async () => {
      await req('PUT', '/fhir/Patient/http-s1', {
        resourceType: 'Patient',
        id: 'http-s1',
        birthDate: '1950-02-03',
        gender: 'female',
      });
      const get = await req('GET', '/fhir/Patient?birthdate=1950-02-03');
      assert.equal(get.statusCode, 200);
      assert.match(String(get.headers['content-type']), /^application\/fhir\+json/);
      const bundle = get.json();
      assert.equal(bundle.type, 'searchset');
      assert.deepEqual(
        bundle.entry.map((e: { resource: { id: string } }) => e.resource.id),
        ['http-s1'],
      );
      const direct = await ta.records.search(
        { kind: 'system', systemId: 't' },
        'Patient',
        new URLSearchParams('birthdate=1950-02-03'),
        {
          baseUrl: 'http://localhost:80/fhir',
        },
      );
      assert.equal(get.body, direct, 'the reply is the records service text, byte for byte');

      const post = await ta.app.inject({
        method: 'POST',
        url: '/fhir/Patient/_search?gender=female',
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'birthdate=1950-02-03',
      });
      assert.equal(post.statusCode, 200);
      assert.deepEqual(
        post.json().entry.map((e: { resource: { id: string } }) => e.resource.id),
        ['http-s1'],
      );

      const unknown = await req('GET', '/fhir/Patient?nonsense=1');
      assert.equal(unknown.statusCode, 400);
      const lenient = await req('GET', '/fhir/Patient?nonsense=1&birthdate=1950-02-03', undefined, {
        prefer: 'handling=lenient',
      });
      assert.equal(lenient.statusCode, 200);
      assert.ok(lenient.json().entry.some((e: { search: { mode: string } }) => e.search.mode === 'outcome'));
      assert.equal((await req('GET', '/fhir/Patient?birthdate=notadate')).statusCode, 400);
    });

    it('$everything returns the patient and what belongs to them', async () => {
      // Registered at the GP's practice: a relationship derived from the data (docs/access.md).
      await req('PUT', '/fhir/Patient/http-ev', {
        resourceType: 'Patient',
        id: 'http-ev',
        generalPractitioner: [
          { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'A81001' } },
        ],
      });
      await req('POST', '/fhir/Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'pulse' },
        subject: { reference: 'Patient/http-ev' },
      });
      const res = await req('GET', '/fhir/Patient/http-ev/$everything');
      assert.equal(res.statusCode, 200);
      const types = res.json().entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType);
      assert.deepEqual(types, ['Patient', 'Observation']);
      assert.equal((await req('GET', '/fhir/Patient/nobody/$everything')).statusCode, 404);
    });

    it('Prefer: return=minimal and return=OperationOutcome on writes', async () => {
      const minimal = await req('POST', '/fhir/Patient', { resourceType: 'Patient' }, { prefer: 'return=minimal' });
      assert.equal(minimal.statusCode, 201);
      assert.equal(minimal.body, '');
      assert.ok(minimal.headers.location);
      const oo = await req('POST', '/fhir/Patient', { resourceType: 'Patient' }, { prefer: 'return=OperationOutcome' });
      assert.equal(oo.statusCode, 201);
      assert.equal(oo.json().resourceType, 'OperationOutcome');
      assert.equal(oo.json().issue[0].severity, 'information');
      const id = String(oo.headers.location).split('/')[5];
      const del = await req('DELETE', `/fhir/Patient/${id}`, undefined, { prefer: 'return=OperationOutcome' });
      assert.equal(del.statusCode, 200);
      assert.equal(del.json().resourceType, 'OperationOutcome');
    });
  });
}

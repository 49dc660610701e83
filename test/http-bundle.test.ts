/**
 * Transaction and batch Bundles through POST /fhir: atomicity (nothing of a failed transaction is
 * stored), urn:uuid resolution, conditional create/update/references, and batch partial failure.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const P = 'urn:uuid:3f0b5d0e-7a43-4c8a-9a55-1d0f1d6d6b01';
const ACTIVE = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }],
};
const E = 'urn:uuid:3f0b5d0e-7a43-4c8a-9a55-1d0f1d6d6b02';

for (const kind of testDatabases) {
  describe(`HTTP transaction and batch Bundles (${kind})`, () => {
    let ta: TestApp;
    let auth: string;
    before(async () => {
      ta = await openTestApp(kind);
      auth = await ta.auth();
    });
    after(async () => {
      await ta.close();
    });

    const post = (body: unknown) =>
      ta.app.inject({
        method: 'POST',
        url: '/fhir',
        headers: { authorization: auth, 'content-type': 'application/fhir+json' },
        payload: JSON.stringify(body),
      });
    const get = (url: string) => ta.app.inject({ url, headers: { authorization: auth } });
    const count = async (query: string) => (await get(`/fhir/${query}`)).json().total as number;
    const tx = (entry: unknown[], type = 'transaction') => ({ resourceType: 'Bundle', type, entry });

    it('a transaction stores everything and rewrites urn:uuid references to Type/id', async () => {
      const res = await post(
        tx([
          {
            fullUrl: E,
            resource: {
              resourceType: 'Encounter',
              status: 'finished',
              class: { code: 'AMB' },
              subject: { reference: P },
            },
            request: { method: 'POST', url: 'Encounter' },
          },
          {
            fullUrl: P,
            resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: '9990002001' }] },
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'heart rate' },
              subject: { reference: P },
              encounter: { reference: E },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ]),
      );
      assert.equal(res.statusCode, 200, res.body);
      const out = res.json();
      assert.equal(out.type, 'transaction-response');
      assert.deepEqual(
        out.entry.map((e: { response: { status: string } }) => e.response.status),
        ['201 Created', '201 Created', '201 Created'],
      );
      const [enc, pat, obs] = out.entry.map(
        (e: { response: { location: string } }) => e.response.location.split('/_history')[0],
      );
      assert.match(pat, /^Patient\/[0-9a-f-]{36}$/);
      assert.equal(out.entry[0].response.etag, 'W/"1"');
      assert.ok(out.entry[0].response.lastModified);
      const observation = (await get(`/fhir/${obs}`)).json();
      assert.equal(observation.subject.reference, pat);
      assert.equal(observation.encounter.reference, enc);
      assert.equal((await get(`/fhir/${enc}`)).json().subject.reference, pat);
      // The rewritten references are indexed: search by patient finds the observation.
      assert.equal(await count(`Observation?subject=${pat}`), 1);
    });

    it('a transaction with one bad entry stores nothing, and names the entry', async () => {
      const before = await count('Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990002002');
      const res = await post(
        tx([
          {
            fullUrl: P,
            resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: '9990002002' }] },
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: {
              resourceType: 'Observation',
              status: 'not-a-status',
              code: { text: 'x' },
              subject: { reference: P },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ]),
      );
      assert.equal(res.statusCode, 422);
      const oo = res.json();
      assert.equal(oo.resourceType, 'OperationOutcome');
      assert.ok(
        oo.issue.every((i: { diagnostics: string }) => i.diagnostics.startsWith('Bundle.entry[1]')),
        res.body,
      );
      assert.ok(
        oo.issue.some((i: { expression?: string[] }) => i.expression?.[0]?.startsWith('Bundle.entry[1].resource')),
      );
      assert.equal(
        await count('Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990002002'),
        before,
        'the Patient was rolled back',
      );
    });

    it('an unsupported resource type refuses the whole transaction, naming entry and type', async () => {
      const res = await post(
        tx([
          {
            resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: '9990002003' }] },
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: { resourceType: 'Questionnaire', status: 'draft' },
            request: { method: 'POST', url: 'Questionnaire' },
          },
        ]),
      );
      assert.equal(res.statusCode, 404);
      const text = res.json().issue[0].diagnostics as string;
      assert.match(text, /Bundle\.entry\[1\]/);
      assert.match(text, /Questionnaire/);
      assert.equal(res.json().issue[0].details.coding[0].code, 'ICR_UNSUPPORTED_TYPE');
      assert.equal(await count(`Patient?identifier=${NHS}|9990002003`), 0);
    });

    it('a dangling urn:uuid reference fails the transaction', async () => {
      const res = await post(
        tx([
          {
            resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: P } },
            request: { method: 'POST', url: 'Observation' },
          },
        ]),
      );
      assert.equal(res.statusCode, 400);
      assert.match(res.json().issue[0].diagnostics, /Bundle\.entry\[0\].*not the fullUrl/);
    });

    it('conditional create, conditional update and conditional references inside a transaction', async () => {
      const patient = { resourceType: 'Patient', identifier: [{ system: NHS, value: '9990002004' }] };
      const ident = `identifier=${NHS}|9990002004`;
      const first = await post(
        tx([{ fullUrl: P, resource: patient, request: { method: 'POST', url: 'Patient', ifNoneExist: ident } }]),
      );
      assert.equal(first.json().entry[0].response.status, '201 Created');
      const patId = first.json().entry[0].response.location.split('/')[1];
      await ta.relate(patId);

      const second = await post(
        tx([
          { fullUrl: P, resource: patient, request: { method: 'POST', url: 'Patient', ifNoneExist: ident } },
          {
            resource: { resourceType: 'Condition', subject: { reference: P }, code: { text: 'asthma' } },
            request: { method: 'POST', url: 'Condition' },
          },
          {
            resource: {
              resourceType: 'AllergyIntolerance',
              clinicalStatus: ACTIVE,
              patient: { reference: `Patient?${ident}` },
              code: { text: 'peanut' },
            },
            request: { method: 'PUT', url: `AllergyIntolerance?patient=Patient/${patId}` },
          },
        ]),
      );
      assert.equal(second.statusCode, 200, second.body);
      const [p, c, a] = second.json().entry;
      assert.equal(p.response.status, '200 OK', 'the conditional create matched');
      assert.equal(p.response.location, `Patient/${patId}/_history/1`);
      assert.equal(c.response.status, '201 Created');
      assert.equal(a.response.status, '201 Created');
      const cond = (await get(`/fhir/${c.response.location.split('/_history')[0]}`)).json();
      assert.equal(
        cond.subject.reference,
        `Patient/${patId}`,
        'urn of a matched conditional create resolves to the match',
      );
      const allergy = (await get(`/fhir/${a.response.location.split('/_history')[0]}`)).json();
      assert.equal(allergy.patient.reference, `Patient/${patId}`, 'conditional reference resolved');
      assert.equal(await count(`Patient?${ident}`), 1);

      const third = await post(
        tx([
          {
            resource: {
              resourceType: 'AllergyIntolerance',
              clinicalStatus: ACTIVE,
              patient: { reference: `Patient/${patId}` },
              code: { text: 'peanuts' },
            },
            request: { method: 'PUT', url: `AllergyIntolerance?patient=Patient/${patId}` },
          },
        ]),
      );
      assert.equal(third.json().entry[0].response.status, '200 OK', 'conditional update updated the one match');
      assert.equal(await count(`AllergyIntolerance?patient=Patient/${patId}`), 1);

      const none = await post(
        tx([
          {
            resource: {
              resourceType: 'Condition',
              subject: { reference: `Patient?identifier=${NHS}|0000000000` },
              code: { text: 'x' },
            },
            request: { method: 'POST', url: 'Condition' },
          },
        ]),
      );
      assert.equal(none.statusCode, 404);
      assert.match(none.json().issue[0].diagnostics, /Bundle\.entry\[0\].*matched no Patient/);
    });

    it('processes DELETE before POST before PUT before GET, in one transaction', async () => {
      await ta.app.inject({
        method: 'PUT',
        url: '/fhir/Patient/bundle-del',
        headers: { authorization: auth, 'content-type': 'application/fhir+json' },
        payload: JSON.stringify({ resourceType: 'Patient', id: 'bundle-del' }),
      });
      const res = await post(
        tx([
          { request: { method: 'GET', url: 'Patient/bundle-put' } },
          {
            resource: { resourceType: 'Patient', id: 'bundle-put', gender: 'male' },
            request: { method: 'PUT', url: 'Patient/bundle-put' },
          },
          { request: { method: 'DELETE', url: 'Patient/bundle-del' } },
        ]),
      );
      assert.equal(res.statusCode, 200, res.body);
      const [g, u, d] = res.json().entry;
      assert.equal(g.response.status, '200 OK', 'the GET ran after the PUT');
      assert.equal(g.resource.gender, 'male');
      assert.equal(u.response.status, '201 Created');
      assert.equal(d.response.status, '204 No Content');
      assert.equal((await get('/fhir/Patient/bundle-del')).statusCode, 410);
    });

    it('a batch applies each entry on its own: a failing entry gets its own status and outcome', async () => {
      const res = await post(
        tx(
          [
            {
              resource: { resourceType: 'Patient', identifier: [{ system: NHS, value: '9990002005' }] },
              request: { method: 'POST', url: 'Patient' },
            },
            { resource: { resourceType: 'Patient', gender: 'nonsense' }, request: { method: 'POST', url: 'Patient' } },
            { resource: { resourceType: 'Questionnaire' }, request: { method: 'POST', url: 'Questionnaire' } },
            { request: { method: 'GET', url: 'Patient/does-not-exist' } },
            {
              resource: { resourceType: 'Patient', id: 'batch-ok' },
              request: { method: 'PUT', url: 'Patient/batch-ok' },
            },
          ],
          'batch',
        ),
      );
      assert.equal(res.statusCode, 200, res.body);
      const out = res.json();
      assert.equal(out.type, 'batch-response');
      assert.deepEqual(
        out.entry.map((e: { response: { status: string } }) => e.response.status),
        ['201 Created', '422 Unprocessable Entity', '404 Not Found', '404 Not Found', '201 Created'],
      );
      assert.equal(out.entry[1].response.outcome.resourceType, 'OperationOutcome');
      assert.match(out.entry[2].response.outcome.issue[0].diagnostics, /Bundle\.entry\[2\].*Questionnaire/);
      assert.equal(await count(`Patient?identifier=${NHS}|9990002005`), 1);
      assert.equal((await get('/fhir/Patient/batch-ok')).statusCode, 200);
    });

    it('refuses Bundles that are not transaction or batch, and entries without a request', async () => {
      const doc = await post({ resourceType: 'Bundle', type: 'collection', entry: [] });
      assert.equal(doc.statusCode, 400);
      assert.equal(doc.json().issue[0].expression[0], 'Bundle.type');
      const notBundle = await post({ resourceType: 'Patient' });
      assert.equal(notBundle.statusCode, 400);
      const noRequest = await post(tx([{ resource: { resourceType: 'Patient' } }]));
      assert.equal(noRequest.statusCode, 400);
      assert.equal(noRequest.json().issue[0].expression[0], 'Bundle.entry[0].request');
      const condDelete = await post(tx([{ request: { method: 'DELETE', url: 'Patient?gender=male' } }]));
      assert.equal(condDelete.statusCode, 405);
    });
  });
}

/**
 * Attacks on the access decisions through the HTTP API (docs/access.md): id guessing across persons,
 * parameters that widen the scope, _include/_revinclude and chains into another person, a token for one
 * role used with another, a disabled user's token, SQL and script injection. And bad input: unknown user
 * or role, a reason-less emergency access, a relationship for an unknown person. Each is refused, leaks
 * nothing, writes nothing, and leaves exactly one audit record of the refusal.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AuditLog, AuditRecord } from '../src/audit/audit-record.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';

for (const kind of testDatabases) {
  describe(`access attacks and bad input (${kind})`, () => {
    let ta: TestApp;
    const audit: AuditRecord[] = [];
    const log: AuditLog = {
      async record(_db, rec) {
        audit.push(rec);
      },
    };
    let gp: string;
    before(async () => {
      ta = await openTestApp(kind, {}, { audit: log });
      gp = await ta.auth('gp-a81001');
      const r = (resource: Record<string, unknown>, sourceOrg = 'RXX') => ({
        resource: resource as FhirResource & { id: string },
        provenance: { feedId: 'test', sourceOrg },
      });
      const obs = (id: string, patient: string, extra: Record<string, unknown> = {}) =>
        r({
          resourceType: 'Observation',
          id,
          status: 'final',
          code: { text: id },
          subject: { reference: `Patient/${patient}` },
          ...extra,
        });
      const written = await ta.records.putMany(SYSTEM_ACTOR, [
        r({ resourceType: 'Organization', id: 'org-gp', identifier: [{ system: ODS, value: 'A81001' }] }),
        // mine: registered at the GP's practice; theirs: no relationship with anyone here
        r({ resourceType: 'Patient', id: 'mine', generalPractitioner: [{ reference: 'Organization/org-gp' }] }),
        r({ resourceType: 'Patient', id: 'theirs', gender: 'female' }),
        obs('secret', 'theirs'),
        obs('panel', 'mine', { hasMember: [{ reference: 'Observation/secret' }] }),
      ]);
      assert.deepEqual(
        written.filter((w) => 'error' in w),
        [],
      );
    });
    after(async () => {
      await ta.close();
    });
    beforeEach(() => {
      audit.length = 0;
    });

    const get = (url: string, auth = gp) => ta.app.inject({ url, headers: { authorization: auth } });
    const post = (url: string, payload: unknown, auth = gp) =>
      ta.app.inject({
        method: 'POST',
        url,
        headers: { authorization: auth, 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
    const code = (res: { json(): unknown }) =>
      (res.json() as { issue: Array<{ details: { coding: Array<{ code: string }> } }> }).issue[0]?.details.coding[0]
        ?.code;
    const ids = (res: { json(): unknown }) =>
      ((res.json() as { entry?: Array<{ resource: { resourceType: string; id: string } }> }).entry ?? [])
        .map((e) => `${e.resource.resourceType}/${e.resource.id}`)
        .sort();
    const refusals = () => audit.filter((a) => a.outcome === 'refused');

    it('answers a guessed id of another person exactly as an id that does not exist', async () => {
      const guessed = await get('/fhir/Observation/secret');
      const ghost = await get('/fhir/Observation/no-such');
      assert.equal(guessed.statusCode, 404);
      assert.equal(guessed.body.replaceAll('secret', 'X'), ghost.body.replaceAll('no-such', 'X'));
      assert.equal((await get('/fhir/Observation/secret/_history/1')).statusCode, 404);
      assert.equal((await get('/fhir/Observation/secret/_history')).statusCode, 404);
      assert.equal((await get('/fhir/Observation/panel')).statusCode, 200, 'the GP sees their own patient');
      assert.equal(audit.length, 5, 'one audit record per request');
      assert.equal(refusals()[0]?.errorCode, 'ICR_NOT_FOUND');
      assert.equal(refusals()[0]?.personId, 'theirs');
    });

    it('refuses searches that widen the scope beyond one person', async () => {
      for (const q of [
        'Observation',
        'Observation?code=secret',
        'Observation?_id=secret',
        'Observation?patient=mine,theirs',
        'Observation?patient=mine&patient=theirs',
        'Observation?subject=mine&patient=theirs',
        'Observation?subject=Group/all',
        'Observation?patient:missing=true',
        'Observation?subject:Patient.gender=female',
      ]) {
        const res = await get(`/fhir/${q}`);
        assert.ok([400, 403].includes(res.statusCode), `${q}: ${res.statusCode}`);
        assert.ok(!res.body.includes('"resourceType":"Observation"'), q);
      }
      assert.equal(code(await get('/fhir/Observation?patient=mine,theirs')), 'ICR_CROSS_PERSON_SEARCH');
      assert.equal(code(await get('/fhir/_history')), 'ICR_CROSS_PERSON_SEARCH');
      assert.equal(code(await get('/fhir/Observation/_history')), 'ICR_CROSS_PERSON_SEARCH');
      // Anchored on their own patient, a user cannot reach another person's rows by id.
      assert.deepEqual(ids(await get('/fhir/Observation?patient=mine&_id=secret')), []);
      // Without a relationship: the other person's clinical search is empty, like an unknown patient's.
      const theirs = await get('/fhir/Observation?patient=theirs');
      assert.equal(theirs.statusCode, 200);
      assert.deepEqual(ids(theirs), []);
      assert.equal(refusals().length > 0, true);
      assert.ok(refusals().every((a) => a.errorCode !== undefined));
    });

    it('keeps _include, _revinclude, iterate and chains inside the person', async () => {
      const inc = await get('/fhir/Observation?patient=mine&_include=Observation:has-member');
      assert.deepEqual(ids(inc), ['Observation/panel']);
      const iter = await get(
        '/fhir/Patient?_id=mine&_revinclude=Observation:patient&_include:iterate=Observation:has-member',
      );
      assert.deepEqual(ids(iter), ['Observation/panel', 'Patient/mine']);
      const chain = await get('/fhir/Observation?patient=mine&has-member:Observation.code=secret');
      assert.deepEqual(ids(chain), [], 'a chain cannot test another person’s data');
      const cross = await get('/fhir/Patient?gender=female&_revinclude=Observation:patient');
      assert.deepEqual(ids(cross), ['Patient/theirs'], 'finding a person shows demographics only');
      const rev = await get('/fhir/Patient?_id=theirs&_revinclude=Observation:patient');
      assert.deepEqual(ids(rev), ['Patient/theirs']);
    });

    it('refuses a token for a role or organisation its user does not hold, and a disabled user’s token', async () => {
      const asPrivacy = `Bearer ${await ta.tokens.issue({ id: 'gp-a81001', name: 'x', org: 'A81001', role: 'R0001' })}`;
      const otherOrg = `Bearer ${await ta.tokens.issue({ id: 'gp-a81001', name: 'x', org: 'RNS', role: 'R8000' })}`;
      const nobody = `Bearer ${await ta.tokens.issue({ id: 'nobody', name: 'x', org: 'A81001', role: 'R8000' })}`;
      for (const [auth, status] of [
        [asPrivacy, 403],
        [otherOrg, 403],
        [nobody, 401],
      ] as const) {
        const res = await get('/fhir/Patient/mine', auth);
        assert.equal(res.statusCode, status);
        assert.equal(res.json<{ resourceType: string }>().resourceType, 'OperationOutcome');
      }
      assert.deepEqual(
        refusals().map((a) => [a.action, a.errorCode]),
        [
          ['authenticate', 'ICR_ACCESS_DENIED'],
          ['authenticate', 'ICR_ACCESS_DENIED'],
          ['authenticate', 'ICR_UNAUTHENTICATED'],
        ],
      );
      const admin = await ta.auth('system-admin');
      assert.equal((await post('/api/admin/users/admin-clerk/disable', {}, admin)).statusCode, 200);
      const clerk = await get('/fhir/Patient/mine', await ta.auth('admin-clerk'));
      assert.equal(clerk.statusCode, 401);
      assert.equal((await post('/api/admin/users/admin-clerk/enable', {}, admin)).statusCode, 200);
      assert.equal((await get('/fhir/Patient/mine', await ta.auth('admin-clerk'))).statusCode, 200);
      assert.equal((await get('/api/admin/users', gp)).statusCode, 403, 'only a system administrator manages users');
    });

    it('treats SQL and script injection in parameters as data', async () => {
      for (const url of [
        `/fhir/Observation?patient=${encodeURIComponent("mine' or '1'='1")}`,
        `/fhir/Patient?name=${encodeURIComponent("' or 1=1; drop table resource; --")}`,
        `/fhir/Observation?patient=mine&code=${encodeURIComponent('<script>alert(1)</script>')}`,
        `/fhir/Observation/${encodeURIComponent("x';delete from resource;--")}`,
        `/fhir/Patient?_id=${encodeURIComponent('mine) or (1=1')}&_revinclude=Observation:patient`,
      ]) {
        const res = await get(url);
        assert.ok(res.statusCode < 500, `${url}: ${res.statusCode}`);
        assert.match(String(res.headers['content-type']), /json/);
        assert.ok(!res.body.includes('"id":"secret"'), url);
      }
      const bad = await post('/api/access/relationships', {
        patient: "x' or 1=1 --",
        kind: 'declared',
        reason: 'direct-care',
      });
      assert.equal(bad.statusCode, 400);
      assert.equal((await get('/fhir/Observation?patient=mine')).statusCode, 200, 'the tables are still there');
    });

    it('refuses bad input precisely, audits it and writes nothing', async () => {
      const admin = await ta.auth('system-admin');
      const count = async (sql: string) => Number((await ta.t.db.query<{ n: number }>(sql)).rows[0]?.n);
      const users = await count('select count(*)::int as n from icr_user');
      const grants = await count('select count(*)::int as n from access_grant');
      const cases: Array<[() => Promise<{ statusCode: number; json(): unknown }>, number, string, RegExp, string]> = [
        [
          () =>
            post('/api/admin/users', { id: 'new-user', name: 'N', profiles: [{ org: 'RNS', role: 'R9999' }] }, admin),
          400,
          'ICR_UNKNOWN_ROLE',
          /Unknown role "R9999"; known roles: R8000, R8001/,
          'user-add',
        ],
        [
          () => post('/api/admin/users/ghost/disable', {}, admin),
          404,
          'ICR_UNKNOWN_USER',
          /No user "ghost"/,
          'user-disable',
        ],
        [
          () =>
            post('/api/access/relationships', { patient: 'theirs', kind: 'emergency', reason: 'emergency-treatment' }),
          400,
          'ICR_BAD_REQUEST',
          /Emergency access needs text/,
          'access-emergency',
        ],
        [
          () => post('/api/access/relationships', { patient: 'theirs', kind: 'declared', reason: 'because' }),
          400,
          'ICR_BAD_REQUEST',
          /reason must be one of: direct-care/,
          'access-declared',
        ],
        [
          () => post('/api/access/relationships', { patient: 'nobody-here', kind: 'declared', reason: 'referral' }),
          404,
          'ICR_NOT_FOUND',
          /Patient\/nobody-here is not known/,
          'access-declared',
        ],
      ];
      for (const [send, status, errorCode, message, action] of cases) {
        audit.length = 0;
        const res = await send();
        assert.equal(res.statusCode, status, String(message));
        assert.equal(code(res), errorCode);
        assert.match((res.json() as { issue: Array<{ diagnostics: string }> }).issue[0]?.diagnostics ?? '', message);
        assert.equal(audit.length, 1, `one audit record for ${action}`);
        assert.deepEqual([audit[0]?.action, audit[0]?.outcome, audit[0]?.errorCode], [action, 'refused', errorCode]);
      }
      assert.equal(await count('select count(*)::int as n from icr_user'), users);
      assert.equal(await count('select count(*)::int as n from access_grant'), grants);
    });

    it('grants emergency access with a reason, for a while, and queues it for the privacy officer', async () => {
      const before = await get('/fhir/Observation?patient=theirs');
      assert.deepEqual(ids(before), []);
      const grant = await post('/api/access/relationships', {
        patient: 'theirs',
        kind: 'emergency',
        reason: 'patient-unconscious',
        text: 'brought in unconscious',
      });
      assert.equal(grant.statusCode, 201);
      const g = grant.json<{ id: string; expiresAt: string }>();
      const hours = (Date.parse(g.expiresAt) - Date.now()) / 3600_000;
      assert.ok(hours > 11.9 && hours <= 12, `lasts 12 hours (${hours})`);
      assert.deepEqual(ids(await get('/fhir/Observation?patient=theirs')), ['Observation/secret']);
      const last = audit.at(-1);
      assert.deepEqual([last?.action, last?.basis, last?.reason], ['search', 'emergency', 'patient-unconscious']);
      const privacy = await ta.auth('privacy-officer');
      assert.equal((await get('/api/access/reviews', gp)).statusCode, 403);
      const queue = (await get('/api/access/reviews', privacy)).json<{
        items: Array<{ id: string; text: string }>;
      }>();
      assert.ok(queue.items.some((i) => i.id === g.id && i.text === 'brought in unconscious'));
      assert.equal(
        (await post(`/api/access/reviews/${g.id}/reviewed`, { note: 'appropriate' }, privacy)).statusCode,
        200,
      );
      const after = (await get('/api/access/reviews', privacy)).json<{ items: Array<{ id: string }> }>();
      assert.ok(!after.items.some((i) => i.id === g.id));
      assert.equal((await post(`/api/access/reviews/${g.id}/reviewed`, {}, privacy)).statusCode, 404);
    });

    it('opts a person out and back in: others see only their own organisation’s records, with a notice', async () => {
      await ta.records.putMany(SYSTEM_ACTOR, [
        {
          resource: {
            resourceType: 'Observation',
            id: 'gp-own',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: 'Patient/mine' },
          },
          provenance: { feedId: 'gp', sourceOrg: 'A81001' },
        },
      ]);
      const all = ['Observation/gp-own', 'Observation/panel'];
      assert.deepEqual(ids(await get('/fhir/Observation?patient=mine')), all);
      const out = await post('/api/access/optout', { patient: 'mine' }, await ta.auth('admin-clerk'));
      assert.equal(out.statusCode, 201, out.body);
      assert.equal(audit.at(-1)?.action, 'optout');
      const opted = await get('/fhir/Observation?patient=mine');
      assert.deepEqual(
        ids(opted).filter((i) => !i.startsWith('OperationOutcome')),
        ['Observation/gp-own'],
      );
      assert.match(opted.body, /opted out of the shared care record/);
      await post('/api/access/optout', { patient: 'mine', in: true }, await ta.auth('admin-clerk'));
      assert.equal(audit.at(-1)?.action, 'optin');
      assert.deepEqual(ids(await get('/fhir/Observation?patient=mine')), all);
    });
  });
}

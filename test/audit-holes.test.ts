/**
 * The holes left in access and audit (issue 9), through the HTTP API on both databases:
 * - AuditEvents are never stored by a FHIR write, a transaction Bundle or an import: the audit trail is their
 *   only source; each refusal is a precise OperationOutcome and an audit entry.
 * - A refusal inside a transaction Bundle leaves its audit entry after the rollback (and the rolled-back
 *   write leaves none).
 * - An authenticated request for an endpoint that does not exist (a 404 before any use case runs) is audited
 *   as a refused access; an unauthenticated one names no one and leaves nothing.
 * - `$match` withholds a restricted person's address, telecom and GP, and does not score on them (no oracle
 *   for where a restricted person lives); `$ihe-pix` answers identifiers and ids only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyAuditTrail } from '../src/audit/audit-verify.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const FHIR = 'application/fhir+json';
const R = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
const LOCAL = 'https://holes.example/mrn';

interface Entry {
  action: string;
  outcome: string;
  error_code: string | null;
  what: string;
  actor_id: string;
}

for (const kind of testDatabases) {
  describe(`audit and access holes (${kind})`, () => {
    let ta: TestApp;
    let gp: string;
    let clerk: string;
    before(async () => {
      ta = await openTestApp(kind);
      gp = await ta.auth('gp-a81001');
      clerk = await ta.auth('admin-clerk');
    });
    after(async () => {
      await ta.close();
    });

    const req = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, auth?: string, body?: unknown) =>
      ta.app.inject({
        method,
        url,
        headers: {
          ...(auth ? { authorization: auth } : {}),
          ...(body === undefined ? {} : { 'content-type': FHIR }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    /** Entries written since `afterSeq`, oldest first. */
    const entriesAfter = async (afterSeq: number): Promise<Entry[]> =>
      (
        await ta.t.db.query<Entry>(
          'select action, outcome, error_code, what, actor_id from audit_entry where seq > $1 order by seq',
          [afterSeq],
        )
      ).rows;
    const lastSeq = async (): Promise<number> =>
      Number(
        (await ta.t.db.query<{ s: number | string | null }>('select max(seq) as s from audit_entry')).rows[0]?.s ?? 0,
      );
    const storedCount = async (type: string, id?: string): Promise<number> =>
      Number(
        (
          await ta.t.db.query<{ n: number | string }>(
            `select count(*) as n from resource where resource_type = $1 ${id ? 'and id = $2' : ''}`,
            id ? [type, id] : [type],
          )
        ).rows[0]?.n,
      );
    const auditEvent = (id: string) => ({
      resourceType: 'AuditEvent',
      id,
      type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110' },
      recorded: '2026-01-01T00:00:00Z',
      agent: [{ requestor: true, who: { display: 'forger' } }],
      source: { observer: { display: 'elsewhere' } },
    });

    it('refuses AuditEvents on every write path, precisely and audited', async () => {
      const before = await lastSeq();
      for (const [method, url, body] of [
        ['POST', '/fhir/AuditEvent', auditEvent('ae-post')],
        ['PUT', '/fhir/AuditEvent/ae-put', auditEvent('ae-put')],
        ['DELETE', '/fhir/AuditEvent/ae-del', undefined],
      ] as const) {
        const res = await req(method, url, gp, body);
        assert.equal(res.statusCode, 405, `${method} ${url}: ${res.body}`);
        const oo = res.json();
        assert.equal(oo.resourceType, 'OperationOutcome');
        assert.match(oo.issue[0].diagnostics, /written only by the audit trail/);
      }
      const entries = await entriesAfter(before);
      assert.deepEqual(
        entries.map((e) => [e.action, e.outcome, e.error_code]),
        [
          ['create', 'refused', 'ICR_METHOD_NOT_ALLOWED'],
          ['update', 'refused', 'ICR_METHOD_NOT_ALLOWED'],
          ['delete', 'refused', 'ICR_METHOD_NOT_ALLOWED'],
        ],
      );
      // An import (a set write, as feeds and `icr import` use) refuses the AuditEvent item and keeps the rest.
      const results = await ta.records.putMany(SYSTEM_ACTOR, [
        { resource: { resourceType: 'Patient', id: 'import-ok', name: [{ family: 'Imported' }] } },
        { resource: auditEvent('ae-import') },
      ]);
      assert.equal('outcome' in results[0]! && results[0].outcome, 'created');
      const refused = results[1]!;
      assert.ok('error' in refused, 'the AuditEvent item is refused');
      assert.equal(refused.error.code, 'ICR_METHOD_NOT_ALLOWED');
      assert.equal(await storedCount('AuditEvent'), 0, 'no AuditEvent is ever stored');
      assert.equal(await storedCount('Patient', 'import-ok'), 1);
    });

    it('keeps the audit entry of a refusal inside a transaction Bundle after the rollback', async () => {
      const before = await lastSeq();
      const bundle = {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:0f2a3c5e-1111-4c2b-9d1e-000000000001',
            resource: { resourceType: 'Patient', name: [{ family: 'Rolledback' }] },
            request: { method: 'POST', url: 'Patient' },
          },
          {
            resource: auditEvent('ae-tx'),
            request: { method: 'PUT', url: 'AuditEvent/ae-tx' },
          },
        ],
      };
      const res = await req('POST', '/fhir', gp, bundle);
      assert.equal(res.statusCode, 405, res.body);
      assert.equal(res.json().resourceType, 'OperationOutcome');
      const entries = await entriesAfter(before);
      const refusal = entries.filter((e) => e.outcome === 'refused');
      assert.deepEqual(
        refusal.map((e) => [e.action, e.error_code, e.what, e.actor_id]),
        [['update', 'ICR_METHOD_NOT_ALLOWED', 'AuditEvent/ae-tx', 'gp-a81001']],
      );
      // The Patient's create rolled back with its `allowed` entry: the trail does not claim a write that never was.
      assert.equal(
        entries.filter((e) => e.outcome === 'allowed' && e.action === 'create').length,
        0,
        JSON.stringify(entries),
      );
      const found = await ta.t.db.query(
        `select 1 from resource where resource_type = 'Patient' and content like '%Rolledback%'`,
      );
      assert.equal(found.rows.length, 0, 'nothing of the transaction is stored');

      // An access refusal (a role that may not write clinical data) inside a transaction: audited too.
      const before2 = await lastSeq();
      const byClerk = await req('POST', '/fhir', clerk, {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            resource: {
              resourceType: 'Observation',
              id: 'clerk-obs',
              status: 'final',
              code: { text: 'x' },
              subject: { reference: 'Patient/import-ok' },
            },
            request: { method: 'PUT', url: 'Observation/clerk-obs' },
          },
        ],
      });
      assert.equal(byClerk.statusCode, 403, byClerk.body);
      const after2 = await entriesAfter(before2);
      assert.ok(
        after2.some(
          (e) => e.outcome === 'refused' && e.error_code === 'ICR_ACCESS_DENIED' && e.actor_id === 'admin-clerk',
        ),
        JSON.stringify(after2),
      );
      const verified = await verifyAuditTrail(ta.t.db, { sealFirst: true });
      assert.equal(verified.status, 'intact');
    });

    it('audits a conditional update refused before any lookup', async () => {
      const before = await lastSeq();
      const res = await req('PUT', '/fhir/Observation?identifier=https://holes.example/obs|1', clerk, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: 'Patient/import-ok' },
      });
      assert.equal(res.statusCode, 403, res.body);
      assert.deepEqual(
        (await entriesAfter(before)).map((e) => [e.action, e.outcome, e.error_code, e.what, e.actor_id]),
        [
          [
            'update',
            'refused',
            'ICR_ACCESS_DENIED',
            'Observation?identifier=https://holes.example/obs|1',
            'admin-clerk',
          ],
        ],
      );
    });

    it('audits an authenticated request for an endpoint that does not exist', async () => {
      const before = await lastSeq();
      const res = await req('GET', '/fhir/Patient/import-ok/not/a/route', gp);
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().resourceType, 'OperationOutcome');
      const entries = await entriesAfter(before);
      assert.deepEqual(
        entries.map((e) => [e.action, e.outcome, e.error_code, e.what, e.actor_id]),
        [['unknown-endpoint', 'refused', 'ICR_NOT_FOUND', 'GET /fhir/Patient/import-ok/not/a/route', 'gp-a81001']],
      );
      // No token: no one to name, nothing was reached (401 on the API; 404 elsewhere): no entry.
      const anonymous = await req('GET', '/no-such-page');
      assert.equal(anonymous.statusCode, 404);
      assert.deepEqual(await entriesAfter(before + entries.length), []);
    });

    it('$match withholds and does not score on a restricted person’s address and telecom; $ihe-pix names ids only', async () => {
      const person = (id: string, given: string, birthDate: string, restricted: boolean) => ({
        resourceType: 'Patient',
        id,
        ...(restricted ? { meta: { security: [R] } } : {}),
        identifier: [{ system: LOCAL, value: id }],
        name: [{ family: 'Quillfeather', given: [given] }],
        gender: 'female',
        birthDate,
        address: [{ line: ['1 Hidden Way'], postalCode: 'ZZ99 1AA' }],
        telecom: [{ system: 'phone', value: '01632 960000' }],
        generalPractitioner: [{ display: 'Practice' }],
      });
      for (const p of [
        person('hidden-1', 'Robin', '1980-05-06', true),
        person('open-1', 'Samira', '1955-01-02', false),
      ]) {
        const res = await req('PUT', `/fhir/Patient/${p.id}`, gp, p);
        assert.ok(res.statusCode === 201 || res.statusCode === 200, res.body);
      }
      const match = async (postalCode: string, given = 'Robin', birthDate?: string) => {
        const right = postalCode === 'ZZ99 1AA';
        const res = await req('POST', '/fhir/Patient/$match', gp, {
          resourceType: 'Parameters',
          parameter: [
            {
              name: 'resource',
              resource: {
                resourceType: 'Patient',
                name: [{ family: 'Quillfeather', given: [given] }],
                gender: 'female',
                ...(birthDate ? { birthDate } : {}),
                address: [{ line: [right ? '1 Hidden Way' : '9 Other Road'], postalCode }],
                telecom: [{ system: 'phone', value: right ? '01632 960000' : '01632 960999' }],
              },
            },
          ],
        });
        assert.equal(res.statusCode, 200, res.body);
        const byId = new Map<string, { resource: Record<string, unknown>; search: { score: number } }>();
        for (const e of res.json().entry) byId.set(e.resource.id, e);
        return byId;
      };
      const right = await match('ZZ99 1AA');
      const wrong = await match('AB1 2CD');
      const hidden = right.get('hidden-1');
      assert.ok(hidden, 'a restricted person can still be found by name and birth date');
      for (const element of ['address', 'telecom', 'generalPractitioner'])
        assert.equal(hidden.resource[element], undefined, `${element} withheld`);
      const open = await match('ZZ99 1AA', 'Samira', '1955-01-02');
      assert.ok(open.get('open-1')?.resource.address, 'an unrestricted person keeps their address');
      assert.ok(open.get('open-1')?.resource.telecom, 'and their telecom');
      assert.equal(
        hidden.search.score,
        wrong.get('hidden-1')?.search.score,
        'the right address and phone do not raise a restricted person’s score',
      );
      const pix = await req(
        'GET',
        `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${LOCAL}|hidden-1`)}`,
        gp,
      );
      assert.equal(pix.statusCode, 200, pix.body);
      const names = new Set(pix.json().parameter.map((p: { name: string }) => p.name));
      assert.deepEqual([...names].sort(), ['targetId']);
      assert.doesNotMatch(pix.body, /Hidden Way|ZZ99|01632/);
    });
  });
}

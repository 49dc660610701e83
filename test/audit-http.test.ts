/**
 * The privacy officer's work over HTTP with the real records service: AuditEvent search (IHE BALP) by
 * user, person, organisation, time, action and outcome, read by id, the person's access report as HTML
 * and PDF, and the signals. Everyone but privacy officers (R0001) and Caldicott guardians (R5105) is
 * refused, and the refusal is itself in the trail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAuditLog } from '../src/audit/audit-log.ts';
import { SYSTEM_ACTOR, type UserActor } from '../src/shared/actor.ts';
import { NHS, observation, patient } from './mpi-fixtures.ts';
import { auditTestUsers } from './helpers/audit-users.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ED: UserActor = {
  kind: 'user',
  userId: 'ed-smith',
  orgOds: 'RNS',
  role: 'R8000',
  displayName: 'Dr Jane Smith',
  via: { channel: 'viewer' },
};

describe('audit trail over HTTP', () => {
  let h: TestApp;
  let gp: string;
  let po: string;
  let cg: string;
  let ed: string;
  const get = async (url: string, auth: string) =>
    h.app.inject({ method: 'GET', url, headers: { authorization: auth } });
  const events = async (query: string, auth = po): Promise<Json> => {
    const res = await get(`/fhir/AuditEvent?${query}`, auth);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Json>();
  };

  before(async () => {
    h = await openTestApp('pglite', {}, { users: auditTestUsers() });
    gp = await h.auth('gp-a81001');
    const bearer = async (id: string, name: string, org: string, role: string) =>
      `Bearer ${await h.tokens.issue({ id, name, org, role })}`;
    po = await bearer('po-1', 'Priya Officer', 'ICR01', 'R0001');
    cg = await bearer('cg-1', 'Colin Guardian', 'ICR01', 'R5105');
    ed = await bearer('ed-smith', 'Dr Jane Smith', 'RNS', 'R8000');
    const alice = { family: 'Smith', given: 'Alice', birthDate: '1956-04-09', gender: 'female', postcode: 'LS1 4AP' };
    await h.records.update(SYSTEM_ACTOR, patient({ id: 'p1', nhs: NHS[0], verified: true, ...alice }));
    await h.records.update(SYSTEM_ACTOR, patient({ id: 'p2', nhs: NHS[0], verified: true, ...alice }));
    await h.records.update(
      SYSTEM_ACTOR,
      patient({ id: 'q1', nhs: NHS[1], verified: true, family: 'Jones', given: 'Bob' }),
    );
    await h.records.update(SYSTEM_ACTOR, observation('o1', 'p2'));
    // Relationships (docs/access.md): the GP and the ED doctor declare theirs, as the access rules require.
    await h.relate('p1', 'gp-a81001');
    await h.relate('p2', 'ed-smith');
    await h.relate('q1', 'ed-smith');
    // The GP reads the first source record; the ED doctor the second (same person), then q1.
    assert.equal((await get('/fhir/Patient/p1', gp)).statusCode, 200);
    assert.equal((await get('/fhir/Observation?patient=p2', ed)).statusCode, 200);
    assert.equal((await get('/fhir/Observation/o1', ed)).statusCode, 200);
    assert.equal((await get('/fhir/Patient/q1/$everything', ed)).statusCode, 200);
    // An emergency access as the access branch records it (basis and stated reason), on a Sunday night.
    await createAuditLog({ now: () => new Date('2026-11-29T02:30:00Z') }).record(h.t.db, {
      action: 'read',
      outcome: 'allowed',
      actor: ED,
      patientId: 'p1',
      personId: 'p1',
      what: 'AllergyIntolerance/a1',
      returned: 1,
      categories: ['allergies'],
      basis: 'emergency',
      reason: 'Unconscious in ED, no relationship yet',
    });
    // The GP tries the audit trail and is refused.
    assert.equal((await get('/fhir/AuditEvent', gp)).statusCode, 403);
  });
  after(async () => h?.close());

  it('refuses everyone but privacy officers and Caldicott guardians, and audits the refusal', async () => {
    for (const url of [
      '/fhir/AuditEvent',
      '/fhir/AuditEvent/x',
      `/api/audit/report?nhs-number=${NHS[0]}`,
      '/api/audit/signals',
    ]) {
      const res = await get(url, ed);
      assert.equal(res.statusCode, 403, url);
      assert.equal(res.json<Json>().resourceType, 'OperationOutcome');
    }
    assert.equal((await get('/fhir/AuditEvent', cg)).statusCode, 200);
    const refused = await events('agent=gp-a81001&outcome=4');
    assert.equal(refused.total, 1);
    const ev = refused.entry[0].resource;
    assert.equal(ev.outcome, '4');
    assert.match(ev.outcomeDesc, /ICR_ACCESS_DENIED/);
    assert.equal(ev.subtype.find((c: Json) => c.system.endsWith('audit-action')).code, 'audit-search');
  });

  it('answers as IHE BALP AuditEvents', async () => {
    const bundle = await events('agent=gp-a81001&subtype=read');
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.total, 1);
    const ev = bundle.entry[0].resource;
    assert.deepEqual(ev.meta.profile, [
      'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead',
    ]);
    assert.deepEqual(ev.type, {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'Restful Operation',
    });
    assert.deepEqual(ev.subtype[0], { system: 'http://hl7.org/fhir/restful-interaction', code: 'read' });
    assert.equal(ev.action, 'R');
    assert.equal(ev.outcome, '0');
    const user = ev.agent.find((a: Json) => a.requestor === true);
    assert.equal(user.who.identifier.value, 'gp-a81001');
    assert.equal(user.who.display, 'Dr Asha Demo-Patel');
    assert.equal(user.role[0].coding[0].code, 'R8000');
    const org = ev.agent.find((a: Json) => a.who.identifier?.system === 'https://fhir.nhs.uk/Id/ods-organization-code');
    assert.equal(org.who.identifier.value, 'A81001');
    assert.ok(
      ev.agent.some((a: Json) => a.type.coding[0].code === '110152'),
      'server agent',
    );
    assert.ok(
      ev.agent.some((a: Json) => a.type.coding[0].code === '110153'),
      'client agent',
    );
    assert.equal(ev.source.type[0].code, '4');
    const pat = ev.entity.find((e: Json) => e.role?.code === '1');
    assert.equal(pat.what.reference, 'Patient/p1');
    const req = ev.entity.find((e: Json) => e.type.code === 'XrequestId');
    assert.ok(req.what.identifier.value, 'the request id is recorded');
    const read = await get(`/fhir/AuditEvent/${ev.id}`, po);
    assert.equal(read.statusCode, 200);
    assert.deepEqual(read.json<Json>(), ev);
    assert.equal((await get('/fhir/AuditEvent/no-such-event', po)).statusCode, 404);
  });

  it('records a search as a BALP query with the query itself', async () => {
    const bundle = await events(
      'agent=ed-smith&subtype=https://openicr.org/fhir/CodeSystem/audit-action|search&outcome=0',
    );
    assert.equal(bundle.total, 1);
    const ev = bundle.entry[0].resource;
    assert.equal(ev.subtype[0].code, 'search-type');
    assert.equal(ev.action, 'E');
    const q = ev.entity.find((e: Json) => e.role?.code === '24');
    assert.equal(Buffer.from(q.query, 'base64').toString(), 'Observation?patient=p2');
  });

  it('searches by person: every source record of the person counts', async () => {
    const byP1 = await events('patient=Patient/p1');
    const whats = byP1.entry.map((e: Json) => e.resource.entity.at(-1)?.description ?? '');
    const ids = byP1.entry.map((e: Json) => e.resource.entity.find((x: Json) => x.role?.code === '1')?.what.reference);
    assert.ok(ids.includes('Patient/p2'), `p2 is the same person: ${JSON.stringify(ids)}`);
    assert.ok(!ids.includes('Patient/q1'), 'another person is not included');
    assert.ok(whats.length >= 3);
  });

  it('searches by organisation, action, outcome and time', async () => {
    const rns = await events('organization=RNS');
    assert.ok(rns.total >= 4);
    for (const e of rns.entry) {
      assert.ok(e.resource.agent.some((a: Json) => a.who.identifier?.value === 'RNS'));
    }
    const reads = await events('agent=ed-smith&action=R');
    assert.ok(reads.entry.every((e: Json) => e.resource.action === 'R'));
    const execs = await events('agent=ed-smith&action=E');
    assert.ok(execs.entry.length >= 2 && execs.entry.every((e: Json) => e.resource.action === 'E'));
    const night = await events('date=ge2026-11-29&date=lt2026-11-30');
    assert.equal(night.total, 1);
    assert.equal(night.entry[0].resource.recorded, '2026-11-29T02:30:00.000Z');
    const after = await events('date=gt2026-11-29');
    assert.ok(after.entry.every((e: Json) => e.resource.recorded >= '2026-11-30'));
    const paged = await events('_count=2');
    assert.equal(paged.entry.length, 2);
    assert.ok(paged.link.some((l: Json) => l.relation === 'next'));
  });

  it('refuses writes of AuditEvents through the FHIR API', async () => {
    for (const [method, url] of [
      ['POST', '/fhir/AuditEvent'],
      ['PUT', '/fhir/AuditEvent/x'],
      ['DELETE', '/fhir/AuditEvent/x'],
    ] as const) {
      const res = await h.app.inject({
        method,
        url,
        headers: { authorization: po, 'content-type': 'application/fhir+json' },
        ...(method === 'DELETE' ? {} : { payload: JSON.stringify({ resourceType: 'AuditEvent', id: 'x' }) }),
      });
      assert.equal(res.statusCode, 405, `${method} ${url}`);
    }
  });

  it('refuses bad search input precisely', async () => {
    for (const [q, code] of [
      ['nonsense=1', 400],
      ['date=yesterday', 400],
      ['action=X', 400],
      ['outcome=2', 400],
      ['_count=100000', 400],
      ["agent=x'%20or%201=1", 400],
    ] as const) {
      const res = await get(`/fhir/AuditEvent?${q}`, po);
      assert.equal(res.statusCode, code, q);
      assert.equal(res.json<Json>().resourceType, 'OperationOutcome');
    }
  });

  it('produces the access report as HTML: who, role, organisation, what, the stated reason', async () => {
    const res = await get(`/api/audit/report?nhs-number=${NHS[0]}`, po);
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.headers['content-type'] as string, /text\/html/);
    const html = res.body;
    assert.match(html, /Who has viewed my record/);
    assert.match(html, /Alice SMITH, NHS No\. 999 000 0018/);
    assert.match(
      html,
      /Dr Asha Demo-Patel<\/td><td>Clinical practitioner<\/td><td>A81001<\/td><td>Viewed personal details/,
    );
    assert.match(
      html,
      /Dr Jane Smith<\/td><td>Clinical practitioner<\/td><td>RNS<\/td><td>Looked through test results and observations/,
    );
    assert.match(
      html,
      /29-Nov-2026 02:30<\/td><td>Dr Jane Smith.*Viewed allergies and reactions<\/td><td>Emergency access: Unconscious in ED, no relationship yet/,
    );
    assert.doesNotMatch(html, /everything|Patient\/q1/i, 'another person is not in the report');
    assert.doesNotMatch(html, /Priya Officer/, 'the privacy officer’s own work is not an access to the record');
    const ranged = await get(`/api/audit/report?nhs-number=${NHS[0]}&from=2026-11-29&to=2026-11-29`, po);
    assert.equal((ranged.body.match(/<tr><td>/g) ?? []).length, 1);
  });

  it('produces the access report as PDF', async () => {
    const res = await get(`/api/audit/report?nhs-number=${NHS[0]}&format=pdf`, cg);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/pdf');
    assert.equal(res.rawPayload.subarray(0, 5).toString(), '%PDF-');
    assert.match(res.rawPayload.subarray(-6).toString(), /%%EOF/);
  });

  it('refuses a bad or unknown NHS number precisely', async () => {
    assert.equal((await get('/api/audit/report?nhs-number=1234567890', po)).statusCode, 400);
    assert.equal((await get('/api/audit/report?nhs-number=9990000034&from=2026-13-01', po)).statusCode, 400);
    assert.equal((await get('/api/audit/report?nhs-number=9990000034', po)).statusCode, 404);
    assert.equal((await get(`/api/audit/report?nhs-number=${NHS[0]}&format=doc`, po)).statusCode, 400);
  });

  it('lists signals: emergency access, out of hours, a user viewing someone with their surname', async () => {
    const res = await get('/api/audit/signals?from=2026-11-01&to=2030-01-01', po);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<Json>();
    const kinds = body.signals.map((s: Json) => `${s.kind}:${s.userId}`);
    assert.ok(kinds.includes('emergency-access:ed-smith'), JSON.stringify(kinds));
    assert.ok(kinds.includes('out-of-hours:ed-smith'), 'Sunday 02:30 is out of hours');
    assert.ok(kinds.includes('same-surname:ed-smith'), 'Dr Jane Smith viewed Alice Smith');
    assert.ok(!kinds.includes('same-surname:gp-a81001'));
    assert.equal(body.reviewQueue, '/api/access/reviews');
  });
});

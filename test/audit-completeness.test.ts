/**
 * Audit completeness: a scripted session through every channel that exists today — the FHIR API (create,
 * read, update, vread, search, history, $everything, $match, $ihe-pix, transaction Bundle, delete), the
 * stewards' API, the privacy officer's API and a set import — leaves exactly one entry per access (one per
 * resource in a Bundle) with the right action, outcome and channel; then the chain verifies intact.
 * Channels still to come (the viewer, MLLP feeds, context launch, exports) add their steps here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyAuditTrail } from '../src/audit/audit-verify.ts';
import type { SystemActor, UserActor } from '../src/shared/actor.ts';
import { NHS, patient } from './mpi-fixtures.ts';
import { auditTestUsers } from './helpers/audit-users.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

interface Seen {
  action: string;
  outcome: string;
  channel: string | null;
  actor: string;
}

describe('audit completeness: one entry per access on every channel', () => {
  let h: TestApp;
  let last = 0;
  const tokens: Record<string, string> = {};

  /** Entries written since the previous call. */
  async function newEntries(): Promise<Seen[]> {
    const res = await h.t.db.query<{
      seq: number;
      action: string;
      outcome: string;
      channel: string | null;
      actor_id: string;
    }>('select seq, action, outcome, channel, actor_id from audit_entry where seq > $1 order by seq', [last]);
    const rows = res.rows;
    if (rows.length > 0) last = Number(rows.at(-1)?.seq);
    return rows.map((r) => ({ action: r.action, outcome: r.outcome, channel: r.channel, actor: r.actor_id }));
  }

  async function step(
    who: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    body: unknown,
    status: number,
    expected: Array<[string, string]>,
  ): Promise<Record<string, unknown>> {
    const res = await h.app.inject({
      method,
      url,
      headers: {
        authorization: tokens[who] ?? '',
        ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    assert.equal(res.statusCode, status, `${method} ${url}: ${res.body.slice(0, 300)}`);
    const seen = await newEntries();
    const channel = url.startsWith('/api/') ? 'api' : 'fhir';
    assert.deepEqual(
      seen,
      expected.map(([action, outcome]) => ({ action, outcome, channel, actor: who })),
      `${method} ${url}`,
    );
    // JSON answers parsed; any other answer (the HTML access report) as its text.
    if (!res.body.startsWith('{')) return { text: res.body };
    return JSON.parse(res.body) as Record<string, unknown>;
  }

  before(async () => {
    h = await openTestApp('pglite', {}, { users: auditTestUsers() });
    tokens['gp-a81001'] = await h.auth('gp-a81001');
    tokens['data-steward'] = await h.auth('data-steward');
    tokens['po-1'] =
      `Bearer ${await h.tokens.issue({ id: 'po-1', name: 'Priya Officer', org: 'ICR01', role: 'R0001' })}`;
    await newEntries();
  });
  after(async () => h?.close());

  it('a scripted session leaves exactly the expected entries, and the chain verifies', async () => {
    const gp = 'gp-a81001';
    const created = await step(
      gp,
      'POST',
      '/fhir/Patient',
      patient({
        id: 'ignored',
        nhs: NHS[2],
        verified: true,
        family: 'Complete',
        given: 'Carl',
        birthDate: '1970-03-03',
      }),
      201,
      [['create', 'allowed']],
    );
    const id = String(created.id);
    // A new record is no relationship (docs/access.md): the GP declares one, itself an audited access.
    await step(
      gp,
      'POST',
      '/api/access/relationships',
      { patient: id, kind: 'declared', reason: 'direct-care', text: 'registering today' },
      201,
      [['access-declared', 'allowed']],
    );
    await step(gp, 'GET', `/fhir/Patient/${id}`, undefined, 200, [['read', 'allowed']]);
    await step(gp, 'PUT', `/fhir/Patient/${id}`, { ...created, gender: 'male' }, 200, [['update', 'allowed']]);
    await step(gp, 'GET', `/fhir/Patient/${id}/_history/1`, undefined, 200, [['vread', 'allowed']]);
    await step(gp, 'GET', '/fhir/Patient?family=Complete', undefined, 200, [['search', 'allowed']]);
    // A lookup that finds one person's records names that person (it is in their access report and signals).
    const whoFound = async () =>
      (
        await h.t.db.query<{ patient_id: string | null; person_id: string | null; returned: number | null }>(
          'select patient_id, person_id, returned from audit_entry where seq = $1',
          [last],
        )
      ).rows[0];
    const lookup = await whoFound();
    assert.equal(lookup?.patient_id, id);
    assert.ok(lookup?.person_id, 'the person the lookup found');
    assert.equal(lookup?.returned, 1);
    await step(gp, 'GET', `/fhir/Patient/${id}/_history`, undefined, 200, [['history', 'allowed']]);
    await step(gp, 'GET', `/fhir/Patient/${id}/$everything`, undefined, 200, [['everything', 'allowed']]);
    await step(
      gp,
      'POST',
      '/fhir/Patient/$match',
      { resourceType: 'Patient', name: [{ family: 'Complete', given: ['Carl'] }], birthDate: '1970-03-03' },
      200,
      [['match', 'allowed']],
    );
    await step(
      gp,
      'GET',
      `/fhir/Patient/$ihe-pix?sourceIdentifier=https://fhir.nhs.uk/Id/nhs-number|${NHS[2]}`,
      undefined,
      200,
      [['pix', 'allowed']],
    );
    // A cross-reference lookup names whose identifiers it returned (so it is in that person's access report)
    // and what was asked; $match says how many candidates it showed.
    const pix = (
      await h.t.db.query<{
        what: string;
        returned: number | null;
        patient_id: string | null;
        person_id: string | null;
      }>('select what, returned, patient_id, person_id from audit_entry where seq = $1', [last])
    ).rows[0];
    assert.equal(
      pix?.what,
      `Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`https://fhir.nhs.uk/Id/nhs-number|${NHS[2]}`)}`,
    );
    assert.equal(pix?.returned, 1);
    assert.equal(pix?.patient_id, id);
    assert.ok(pix?.person_id, 'the person whose identifiers were returned');
    const matched = (
      await h.t.db.query<{ returned: number | null }>("select returned from audit_entry where action = 'match'")
    ).rows;
    assert.deepEqual(
      matched.map((r) => r.returned),
      [1],
    );
    const bundle = await step(
      gp,
      'POST',
      '/fhir',
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:0a0a0a0a-0000-4000-8000-000000000001',
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'pulse' },
              subject: { reference: `Patient/${id}` },
            },
            request: { method: 'POST', url: 'Observation' },
          },
          {
            fullUrl: 'urn:uuid:0a0a0a0a-0000-4000-8000-000000000002',
            resource: {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'weight' },
              subject: { reference: `Patient/${id}` },
            },
            request: { method: 'POST', url: 'Observation' },
          },
        ],
      },
      200,
      [
        ['create', 'allowed'],
        ['create', 'allowed'],
      ],
    );
    const obs = String(
      ((bundle.entry as Array<{ response: { location: string } }>)[0]?.response.location ?? '').split('/')[1],
    );
    await step(gp, 'DELETE', `/fhir/Observation/${obs}`, undefined, 204, [['delete', 'allowed']]);
    // A search's entry says how many resources it returned (matches and includes), as a read's does.
    const returnedOfLast = async () =>
      (await h.t.db.query<{ returned: number | null }>('select returned from audit_entry where seq = $1', [last]))
        .rows[0]?.returned;
    const found = await step(
      gp,
      'GET',
      `/fhir/Observation?patient=${id}&_include=Observation:subject`,
      undefined,
      200,
      [['search', 'allowed']],
    );
    const resources = (found.entry as Array<{ resource: { resourceType: string } }>).filter(
      (e) => e.resource.resourceType !== 'OperationOutcome',
    );
    assert.deepEqual(resources.map((e) => e.resource.resourceType).sort(), ['Observation', 'Patient']);
    assert.equal(await returnedOfLast(), 2);
    await step(gp, 'GET', `/fhir/Observation?patient=${id}&code:text=nothing-like-this`, undefined, 200, [
      ['search', 'allowed'],
    ]);
    assert.equal(await returnedOfLast(), 0);
    await step(gp, 'GET', '/api/mpi/reviews', undefined, 403, [['mpi-reviews', 'refused']]);
    await step('data-steward', 'GET', '/api/mpi/reviews', undefined, 200, [['mpi-reviews', 'allowed']]);
    await step(gp, 'GET', '/fhir/AuditEvent', undefined, 403, [['audit-search', 'refused']]);
    await step('po-1', 'GET', `/fhir/AuditEvent?patient=${id}`, undefined, 200, [['audit-search', 'allowed']]);
    const report = await step('po-1', 'GET', `/api/audit/report?nhs-number=${NHS[2]}`, undefined, 200, [
      ['audit-report', 'allowed'],
    ]);
    // The person's access report shows the identifier lookup among the accesses.
    assert.match(String(report.text), /Looked up the person to confirm who they are/);
    await step('po-1', 'GET', '/api/audit/signals', undefined, 200, [['audit-signals', 'allowed']]);

    // A set import (icr import, feeds): one entry per set, in the set's transaction. A user whose role may not
    // write gets one refusal for the set and no `allowed` entry (nothing was written).
    const importer: UserActor = {
      kind: 'user',
      userId: 'importer',
      orgOds: 'X26',
      role: 'icr-integration-engineer',
      via: { channel: 'import' },
    };
    const refused = await h.records.putMany(importer, [
      { resource: patient({ id: 'imp-1', family: 'Imported' }) },
      { resource: patient({ id: 'imp-2', family: 'Imported' }) },
    ]);
    assert.deepEqual(
      refused.map((r) => ('error' in r ? r.error.code : r.outcome)),
      ['ICR_ACCESS_DENIED', 'ICR_ACCESS_DENIED'],
    );
    assert.deepEqual(await newEntries(), [
      { action: 'import', outcome: 'refused', channel: 'import', actor: 'importer' },
    ]);
    // A feed's set: two persons' records name neither; one person's (a feed's Bundle) names that person, so the
    // person's trail shows who wrote to their record.
    const feed: SystemActor = { kind: 'system', systemId: 'feed:audit-feed', feedId: 'audit-feed', orgOds: 'X26' };
    const whose = async () =>
      (
        await h.t.db.query<{ patient_id: string | null; person_id: string | null }>(
          'select patient_id, person_id from audit_entry where seq = $1',
          [last],
        )
      ).rows[0];
    await h.records.putMany(feed, [
      { resource: patient({ id: 'imp-1', family: 'Imported' }) },
      { resource: patient({ id: 'imp-2', family: 'Imported' }) },
    ]);
    assert.deepEqual(await newEntries(), [
      { action: 'import', outcome: 'allowed', channel: null, actor: 'feed:audit-feed' },
    ]);
    assert.deepEqual({ ...(await whose()) }, { patient_id: null, person_id: null });
    const written = await h.records.putMany(feed, [
      { resource: patient({ id: 'imp-3', family: 'Imported' }) },
      {
        resource: {
          resourceType: 'Observation',
          id: 'imp-3-obs',
          status: 'final',
          code: { text: 'Pulse' },
          subject: { reference: 'Patient/imp-3' },
        },
      },
    ]);
    assert.deepEqual(
      written.map((r) => ('error' in r ? r.error.code : r.outcome)),
      ['created', 'created'],
    );
    assert.deepEqual(await newEntries(), [
      { action: 'import', outcome: 'allowed', channel: null, actor: 'feed:audit-feed' },
    ]);
    const one = await whose();
    assert.equal(one?.patient_id, 'imp-3');
    assert.ok(one?.person_id, 'the person the set belongs to');

    // A search that returns several persons' records names none of them.
    await step(gp, 'GET', '/fhir/Patient?_count=50', undefined, 200, [['search', 'allowed']]);
    const several = await whoFound();
    assert.equal(several?.person_id, null);
    assert.equal(several?.patient_id, null);
    assert.ok((several?.returned ?? 0) >= 2, `returned ${several?.returned}`);

    const result = await verifyAuditTrail(h.t.db);
    assert.equal(result.status, 'intact');
    assert.equal(result.checked, last);
  });
});

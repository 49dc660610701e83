/**
 * The one-round-trip read (ADR 0051): `AccessDecider.row` reads a resource and its person's access facts in
 * one statement, and must give exactly what the two-step path gives — `ResourceStore.read` (content as it
 * may leave the server) then `AccessDecider.person` for the row's person, or the shared scope for a row of no
 * person — for related, unrelated, opted-out, restricted and granted persons, unknown ids, reference data,
 * and a patient-scoped SMART token; on PGlite and, when configured, PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServices } from '../src/compose.ts';
import { ODS_SYSTEM } from '../src/fhir/access-facts.ts';
import { AccessDecider } from '../src/records/access/access-decider.ts';
import { SYSTEM_ACTOR, type UserActor } from '../src/shared/actor.ts';
import type { RecordsService } from '../src/records/records-service.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';

const GP: UserActor = { kind: 'user', userId: 'gp-a81001', orgOds: 'A81001', role: 'R8000' };
const OTHER: UserActor = { kind: 'user', userId: 'nurse-x', orgOds: 'RX100', role: 'R8001' };

async function seed(records: RecordsService): Promise<void> {
  const put = (r: Record<string, unknown>) => records.update(SYSTEM_ACTOR, r as never);
  await put({ resourceType: 'Organization', id: 'org-gp', identifier: [{ system: ODS_SYSTEM, value: 'A81001' }] });
  const gp = [{ reference: 'Organization/org-gp' }];
  await put({ resourceType: 'Patient', id: 'p-rel', name: [{ family: 'Related' }], generalPractitioner: gp });
  await put({ resourceType: 'Patient', id: 'p-none', name: [{ family: 'Stranger' }] });
  await put({ resourceType: 'Patient', id: 'p-out', name: [{ family: 'Optedout' }], generalPractitioner: gp });
  await put({
    resourceType: 'Patient',
    id: 'p-r',
    meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] },
    name: [{ family: 'Restricted' }],
    address: [{ postalCode: 'ZZ99 3ZZ' }],
    generalPractitioner: gp,
  });
  for (const p of ['p-rel', 'p-none', 'p-out', 'p-r']) {
    await put({
      resourceType: 'Observation',
      id: `obs-${p}`,
      status: 'final',
      code: { text: 'Pulse' },
      subject: { reference: `Patient/${p}` },
    });
  }
  await records.access.optOut(SYSTEM_ACTOR, { patientId: 'p-out' }, false);
  await records.access.declare(OTHER, {
    patient: 'p-none',
    kind: 'emergency',
    reason: 'patient-unconscious',
    text: 'ED',
  });
}

for (const which of testDatabases) {
  describe(`a read and its access facts in one round trip (${which})`, () => {
    let t: TestDb;
    let records: RecordsService;
    const decider = new AccessDecider();

    before(async () => {
      t = await openTestDb(which);
      records = createServices(t.db).records;
      await seed(records);
    });
    after(async () => {
      await t.close();
    });

    /** The two-step path the one statement replaces. */
    async function twoStep(actor: UserActor, type: string, id: string) {
      const row = await records.store.read(t.db, type, id, { out: true });
      if (row && row.personId === null) return { row, shared: await decider.sharedScope(actor, []) };
      return { row, decided: await decider.person(t.db, actor, row?.personId ?? '~none') };
    }

    const cases: Array<[string, string]> = [
      ['Patient', 'p-rel'],
      ['Observation', 'obs-p-rel'],
      ['Patient', 'p-none'],
      ['Observation', 'obs-p-none'],
      ['Observation', 'obs-p-out'],
      ['Patient', 'p-r'],
      ['Observation', 'obs-p-r'],
      ['Organization', 'org-gp'],
      ['Observation', 'no-such-id'],
    ];

    it('gives the same row and the same decision as reading, then deciding', async () => {
      const person = (await records.store.read(t.db, 'Patient', 'p-rel'))?.personId ?? undefined;
      assert.ok(person, 'the related Patient has a person');
      const limited: UserActor = { ...GP, limits: { clientId: 'app', readOnly: true, personId: person } };
      for (const actor of [GP, OTHER, limited]) {
        for (const [type, id] of cases) {
          const one = await decider.row(t.db, actor, type, id, '~none');
          const two = await twoStep(actor, type, id);
          const label = `${actor.userId}${actor.limits ? ' (SMART)' : ''} ${type}/${id}`;
          assert.deepEqual(one.row, two.row, `${label}: row`);
          if ('shared' in two) {
            assert.deepEqual(one.shared, two.shared, `${label}: shared scope`);
          } else {
            assert.equal(one.shared, undefined, `${label}: a person's row`);
            assert.deepEqual(one.decided, two.decided, `${label}: decision`);
          }
        }
      }
    });

    it('decides as the rules say: related, none, opted out, restricted, granted, unknown', async () => {
      const basis = async (actor: UserActor, type: string, id: string) =>
        (await decider.row(t.db, actor, type, id, '~none')).decided.decision;
      assert.equal((await basis(GP, 'Observation', 'obs-p-rel')).basis, 'relationship');
      assert.ok((await basis(GP, 'Observation', 'obs-p-rel')).categories.includes('results'));
      assert.equal((await basis(GP, 'Observation', 'obs-p-none')).basis, 'not-clinical');
      assert.deepEqual((await basis(GP, 'Observation', 'obs-p-none')).categories, ['demographics']);
      assert.equal((await basis(GP, 'Observation', 'obs-p-out')).ownOrgOnly, true);
      assert.equal((await basis(GP, 'Patient', 'p-r')).restricted, true);
      assert.equal((await basis(OTHER, 'Observation', 'obs-p-none')).basis, 'emergency');
      assert.equal((await basis(GP, 'Observation', 'no-such-id')).basis, 'not-clinical');
      assert.equal((await decider.row(t.db, GP, 'Observation', 'no-such-id', '~none')).row, null);
      const restricted = await decider.row(t.db, GP, 'Patient', 'p-r', '~none');
      assert.ok(restricted.row?.json && !restricted.row.json.includes('ZZ99'), 'the address stays withheld');
    });
  });
}

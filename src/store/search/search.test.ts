/** End-to-end search over `resource` and the index tables, on PGlite (and PostgreSQL when configured). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, testDatabases, type TestDb } from '../../../test/helpers/db.ts';
import { seed } from '../../../test/helpers/search-seed.ts';
import { LOINC, NHS, searchFixtures } from '../../../test/fixtures/search-fixtures.ts';
import { executeSearch } from './execute.ts';
import { parseSearch } from './parse.ts';

for (const kind of testDatabases) {
  describe(`search (${kind})`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb(kind);
      await seed(t.db, searchFixtures);
    });
    after(async () => t.close());

    const run = async (type: string, q: string) => executeSearch(t.db, parseSearch(type, new URLSearchParams(q)));
    const ids = async (type: string, q: string) => (await run(type, q)).matches.map((m) => m.id).sort();
    const ordered = async (type: string, q: string) => (await run(type, q)).matches.map((m) => m.id);

    test('token: code, system|code, |code, system|, OR, :not, :text', async () => {
      assert.deepEqual(await ids('Observation', 'code=2339-0'), ['obs1', 'obs3']);
      assert.deepEqual(await ids('Observation', `code=${LOINC}|2339-0`), ['obs1', 'obs3']);
      assert.deepEqual(await ids('Observation', 'code=|2339-0'), []);
      assert.deepEqual(await ids('Observation', `code=${LOINC}|`), ['obs1', 'obs2', 'obs3', 'obs4']);
      assert.deepEqual(await ids('Observation', 'code=2339-0,8867-4'), ['obs1', 'obs2', 'obs3']);
      assert.deepEqual(await ids('Observation', 'code:not=2339-0'), ['obs2', 'obs4', 'obs5']);
      assert.deepEqual(await ids('Observation', 'code:text=glucose'), ['obs1', 'obs3']);
      assert.deepEqual(await ids('Observation', 'code:text=TEST'), ['obs5']);
      assert.deepEqual(await ids('Observation', 'status=amended'), ['obs4']);
      assert.deepEqual(await ids('Patient', `identifier=${NHS}|9990000018`), ['p1']);
      assert.deepEqual(await ids('Patient', 'gender=male,other'), ['p2', 'p3']);
      assert.deepEqual(await ids('Patient', 'deceased=true'), ['p3']);
      assert.deepEqual(await ids('Patient', '_tag=http://example.org/tags|demo'), ['p1']);
      assert.deepEqual(await ids('Observation', '_id=obs1,obs2'), ['obs1', 'obs2']);
    });

    test('string: starts-with ignoring case and accents, :exact, :contains', async () => {
      assert.deepEqual(await ids('Patient', 'name=smi'), ['p1']);
      assert.deepEqual(await ids('Patient', 'family=SM'), ['p1', 'p2']);
      assert.deepEqual(await ids('Patient', 'family:exact=Smith'), ['p1']);
      assert.deepEqual(await ids('Patient', 'family:exact=smith'), []);
      assert.deepEqual(await ids('Patient', 'family:contains=yth'), ['p2']);
      assert.deepEqual(await ids('Patient', 'given=zoe'), ['p2']);
      assert.deepEqual(await ids('Patient', 'address=northampton'), ['p1']);
      assert.deepEqual(await ids('Patient', 'address-postalcode=nn1'), ['p1']);
      assert.deepEqual(await ids('Organization', 'name=north'), ['o1']);
      assert.deepEqual(await ids('Observation', 'value-string=positive'), ['obs5']);
    });

    test('date: partial dates as ranges with every prefix', async () => {
      assert.deepEqual(await ids('Patient', 'birthdate=1970'), ['p1']);
      assert.deepEqual(await ids('Patient', 'birthdate=1970-03'), ['p1']);
      assert.deepEqual(await ids('Patient', 'birthdate=1970-03-04'), ['p1']);
      assert.deepEqual(await ids('Patient', 'birthdate=1970-03-05'), []);
      assert.deepEqual(await ids('Patient', 'birthdate=eq1985-06'), []); // 1985 is wider than June 1985
      assert.deepEqual(await ids('Patient', 'birthdate=ne1985'), ['p1', 'p3']);
      assert.deepEqual(await ids('Patient', 'birthdate=lt1980'), ['p1']);
      assert.deepEqual(await ids('Patient', 'birthdate=gt1985'), ['p3']);
      assert.deepEqual(await ids('Patient', 'birthdate=ge1985'), ['p2', 'p3']);
      assert.deepEqual(await ids('Patient', 'birthdate=le1985'), ['p1', 'p2']);
      assert.deepEqual(await ids('Patient', 'birthdate=sa1985'), ['p3']);
      assert.deepEqual(await ids('Patient', 'birthdate=eb1985'), ['p1']);
      assert.deepEqual(await ids('Patient', 'birthdate=ap1985-06'), ['p2']);
      assert.deepEqual(await ids('Patient', 'birthdate=ge1970&birthdate=lt2000'), ['p1', 'p2']);
    });

    test('date: time zones, instants and periods', async () => {
      assert.deepEqual(await ids('Observation', 'date=2024-01'), ['obs1', 'obs3']);
      assert.deepEqual(await ids('Observation', 'date=2023'), []);
      assert.deepEqual(await ids('Observation', 'date=2024-01-10T10:00:00+01:00'), ['obs1']);
      assert.deepEqual(await ids('Observation', 'date=2022-05'), ['obs4']);
      assert.deepEqual(await ids('Observation', 'date=2022-05-02'), []);
      assert.deepEqual(await ids('Observation', 'date=ge2024-02-01'), ['obs2']);
      assert.deepEqual(await ids('Observation', 'date=lt2023'), ['obs4']);
      assert.deepEqual(await ids('Observation', 'date:missing=true'), ['obs5']);
      assert.deepEqual(await ids('Patient', '_lastUpdated=gt2024-06'), ['p2']);
      assert.deepEqual(await ids('Patient', '_lastUpdated=2024-05-01'), ['p1', 'p3']);
    });

    test('quantity: precision, prefixes, units; composites', async () => {
      assert.deepEqual(await ids('Observation', 'value-quantity=5.4'), ['obs1']);
      assert.deepEqual(await ids('Observation', 'value-quantity=5'), ['obs1']); // 5 means [4.5, 5.5)
      assert.deepEqual(await ids('Observation', 'value-quantity=5.40'), ['obs1']); // [5.395, 5.405)
      assert.deepEqual(await ids('Observation', 'value-quantity=5.41'), []);
      assert.deepEqual(await ids('Observation', 'value-quantity=5.4|http://unitsofmeasure.org|mmol/L'), ['obs1']);
      assert.deepEqual(await ids('Observation', 'value-quantity=5.4|http://unitsofmeasure.org|mg'), []);
      assert.deepEqual(await ids('Observation', 'value-quantity=gt6||mmol/L'), ['obs3']);
      assert.deepEqual(await ids('Observation', 'value-quantity=ge72'), ['obs2']);
      assert.deepEqual(await ids('Observation', 'value-quantity=lt6'), ['obs1']);
      assert.deepEqual(await ids('Observation', 'value-quantity=le7.1'), ['obs1', 'obs3']);
      assert.deepEqual(await ids('Observation', 'value-quantity=ne5.4'), ['obs2', 'obs3']);
      assert.deepEqual(await ids('Observation', 'value-quantity=ap7'), ['obs3']);
      assert.deepEqual(await ids('Observation', 'value-quantity:missing=true'), ['obs4', 'obs5']);
      assert.deepEqual(await ids('Observation', 'component-value-quantity=gt120'), ['obs4']);
      assert.deepEqual(await ids('Observation', `code-value-quantity=${LOINC}|2339-0$gt6`), ['obs3']);
      assert.deepEqual(await ids('Observation', 'code-value-quantity=2339-0$lt6|http://unitsofmeasure.org|mmol/L'), [
        'obs1',
      ]);
      assert.deepEqual(await ids('Observation', `component-code-value-quantity=${LOINC}|8480-6$130`), ['obs4']);
      assert.deepEqual(await ids('Observation', 'combo-code-value-quantity=8480-6$130,2339-0$5.4'), ['obs1', 'obs4']);
    });

    test('reference: by id, type/id, absolute URL, :Type, :identifier, :missing', async () => {
      assert.deepEqual(await ids('Observation', 'subject=Patient/p1'), ['obs1', 'obs2']);
      assert.deepEqual(await ids('Observation', 'patient=p1'), ['obs1', 'obs2']);
      assert.deepEqual(await ids('Observation', 'subject:Patient=p1'), ['obs1', 'obs2']);
      assert.deepEqual(await ids('Observation', 'subject=https://icr.example/fhir/Patient/p1'), ['obs1', 'obs2']);
      assert.deepEqual(await ids('Observation', 'patient=p2'), ['obs3']);
      assert.deepEqual(await ids('Observation', 'subject=https://other.example/fhir/Patient/p2'), ['obs3']);
      assert.deepEqual(await ids('Observation', `subject:identifier=${NHS}|9990000018`), ['obs5']);
      assert.deepEqual(await ids('Observation', 'performer=Practitioner/d1'), ['obs1']);
      assert.deepEqual(await ids('Observation', 'performer:missing=false'), ['obs1']);
      assert.deepEqual(await ids('Patient', 'general-practitioner=Organization/o1'), ['p1']);
      assert.deepEqual(await ids('Observation', 'code=2339-0,8867-4&patient=p1'), ['obs1', 'obs2']);
    });

    test('parameters stored as others: combo-code and patient read code, component-code and subject rows', async () => {
      assert.deepEqual(await ids('Observation', 'combo-code=8480-6'), ['obs4']);
      assert.deepEqual(await ids('Observation', `combo-code=${LOINC}|2339-0`), ['obs1', 'obs3']);
      assert.deepEqual(await ids('Observation', 'combo-code:not=2339-0'), ['obs2', 'obs4', 'obs5']);
      assert.deepEqual(await ids('Observation', 'combo-code:text=free'), ['obs5']);
      assert.deepEqual(await ids('Observation', 'combo-value-quantity=gt100'), ['obs4']);
      // obs5's subject is an identifier with no type: a `subject`, not a `patient`.
      assert.deepEqual(await ids('Observation', 'patient:missing=true'), ['obs5']);
      assert.deepEqual(await ids('Observation', 'subject:missing=true'), []);
      assert.deepEqual(await ids('Observation', 'patient:Patient=p3'), ['obs4']);
      assert.deepEqual(await ordered('Observation', '_sort=-patient'), ['obs4', 'obs3', 'obs1', 'obs2', 'obs5']);
      assert.deepEqual(await ids('Provenance', 'patient=p1'), ['pv1']);
      const withPatient = await run('Observation', '_id=obs1&_include=Observation:patient');
      assert.deepEqual(
        withPatient.includes.map((r) => `${r.resourceType}/${r.id}`),
        ['Patient/p1'],
      );
      const rev = await run('Patient', '_id=p1&_revinclude=Observation:patient');
      assert.deepEqual(rev.includes.map((r) => r.id).sort(), ['obs1', 'obs2']);
    });

    test('chaining one level on the subject / patient reference', async () => {
      assert.deepEqual(await ids('Observation', 'subject:Patient.name=smith'), ['obs1', 'obs2']);
      assert.deepEqual(await ids('Observation', `patient.identifier=${NHS}|9990000026`), ['obs3']);
      assert.deepEqual(await ids('Observation', 'subject.family=jones'), ['obs4']);
      assert.deepEqual(await ids('Observation', 'subject:Patient.birthdate=lt1980'), ['obs1', 'obs2']);
      assert.deepEqual(await ids('Observation', 'subject:Patient.family:exact=Smyth'), ['obs3']);
      assert.deepEqual(await ids('Condition', 'patient.gender=female'), ['c1']);
    });

    test('uri', async () => {
      assert.deepEqual(await ids('Patient', '_profile=https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'), [
        'p1',
      ]);
      assert.deepEqual(await ids('Patient', '_profile:below=https://fhir.hl7.org.uk/'), ['p1']);
      assert.deepEqual(
        await ids('Patient', '_profile:above=https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient/extra'),
        ['p1'],
      );
    });

    test('_sort by date, string, token, _id and _lastUpdated, several keys, descending', async () => {
      assert.deepEqual(await ordered('Patient', '_sort=birthdate'), ['p1', 'p2', 'p3']);
      assert.deepEqual(await ordered('Patient', '_sort=-birthdate'), ['p3', 'p2', 'p1']);
      assert.deepEqual(await ordered('Patient', '_sort=family'), ['p3', 'p1', 'p2']);
      assert.deepEqual(await ordered('Patient', '_sort=-_lastUpdated,_id'), ['p2', 'p1', 'p3']);
      assert.deepEqual(await ordered('Observation', '_sort=code,-date'), ['obs1', 'obs3', 'obs4', 'obs2', 'obs5']);
      assert.deepEqual(await ordered('Observation', '_sort=-_id'), ['obs5', 'obs4', 'obs3', 'obs2', 'obs1']);
    });

    test('paging: _count, _offset, total, _summary=count, _total=none', async () => {
      const p1 = await run('Observation', '_count=2&_sort=_id');
      assert.deepEqual(
        p1.matches.map((m) => m.id),
        ['obs1', 'obs2'],
      );
      assert.equal(p1.total, 5);
      assert.equal(p1.hasMore, true);
      const p3 = await run('Observation', '_count=2&_offset=4&_sort=_id');
      assert.deepEqual(
        p3.matches.map((m) => m.id),
        ['obs5'],
      );
      assert.equal(p3.total, 5);
      assert.equal(p3.hasMore, false);
      const past = await run('Observation', '_count=2&_offset=10');
      assert.deepEqual([past.matches.length, past.total], [0, 5]);
      const c = await run('Observation', 'patient=p1&_summary=count');
      assert.deepEqual([c.total, c.matches.length], [2, 0]);
      assert.equal((await run('Observation', '_total=none')).total, undefined);
    });

    test('_include and _revinclude, with a target type, * and :iterate', async () => {
      const inc = await run('Observation', '_id=obs1&_include=Observation:subject&_include=Observation:performer');
      assert.deepEqual(inc.includes.map((r) => r.id).sort(), ['d1', 'p1']);
      assert.deepEqual((await run('Observation', '_id=obs1&_include=Observation:subject:Practitioner')).includes, []);
      assert.deepEqual((await run('Observation', '_id=obs1&_include=*')).includes.map((r) => r.id).sort(), [
        'd1',
        'p1',
      ]);
      const rev = await run('Patient', '_id=p1&_revinclude=Observation:subject&_revinclude=Provenance:target');
      assert.deepEqual(rev.includes.map((r) => r.id).sort(), ['obs1', 'obs2', 'pv1']);
      assert.deepEqual((await run('Patient', '_id=p1&_revinclude=*')).includes.map((r) => r.id).sort(), [
        'c1',
        'obs1',
        'obs2',
        'pv1',
      ]);
      const it = await run('Provenance', '_id=pv1&_include=Provenance:target&_include:iterate=Observation:performer');
      assert.deepEqual(it.includes.map((r) => r.id).sort(), ['d1', 'obs1', 'p1']);
      const noIt = await run('Provenance', '_id=pv1&_include=Provenance:target');
      assert.deepEqual(noIt.includes.map((r) => r.id).sort(), ['obs1', 'p1']);
    });

    test('_elements keeps the named elements and marks the resource SUBSETTED', async () => {
      const r = await run('Observation', '_id=obs1&_elements=code,status');
      const obs = JSON.parse(r.matches[0]?.json ?? '{}');
      assert.deepEqual(Object.keys(obs).sort(), ['code', 'id', 'meta', 'resourceType', 'status']);
      assert.ok(obs.meta.tag.some((t: { code: string }) => t.code === 'SUBSETTED'));
      assert.equal(obs.meta.versionId, '1');
      const v = JSON.parse((await run('Observation', '_id=obs1&_elements=value[x]')).matches[0]?.json ?? '{}');
      assert.deepEqual(v.valueQuantity.value, 5.4);
    });

    test('rows are the stored text, with version and lastUpdated', async () => {
      const r = await run('Patient', '_id=p2');
      const row = r.matches[0];
      assert.equal(row?.versionId, 1);
      assert.equal(row?.lastUpdated, '2024-07-01T00:00:00.000Z');
      const stored = await t.db.query<{ content: string }>(
        "select content from resource where resource_type = 'Patient' and id = 'p2'",
      );
      assert.equal(row?.json, stored.rows[0]?.content);
    });

    test('person restriction (set by the records service)', async () => {
      const req = parseSearch('Observation', new URLSearchParams('_include=Observation:performer'));
      const res = await executeSearch(t.db, { ...req, personIds: ['p1'] });
      assert.deepEqual(res.matches.map((m) => m.id).sort(), ['obs1', 'obs2']);
      assert.deepEqual(
        res.includes.map((m) => m.id),
        ['d1'],
      );
    });
  });
}

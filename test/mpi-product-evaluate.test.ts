/**
 * `icr mpi evaluate --product` as a library: the UK-shaped county set written through the records service
 * (the product's write path) and scored against the truth, on PGlite and PostgreSQL when configured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServices } from '../src/compose.ts';
import { parseFebrlRows } from '../src/mpi/febrl.ts';
import { loadRules } from '../src/mpi/rules/load-rules.ts';
import { countySet } from '../src/mpi/synthetic-county.ts';
import { coreMatchEngine } from '../src/records/mpi/engine.ts';
import { evaluateProductPath, febrlAsPatients, reviewClass } from '../src/records/mpi/product-evaluate.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';

describe('the county synthetic set', () => {
  it('is deterministic by seed and has every variation and hard non-match', () => {
    const a = countySet({ seed: 7, people: 1500 });
    const b = countySet({ seed: 7, people: 1500 });
    assert.deepEqual(
      a.sources.map((s) => s.patients.length),
      b.sources.map((s) => s.patients.length),
    );
    assert.deepEqual(a.sources[1]?.patients[5], b.sources[1]?.patients[5]);
    assert.deepEqual(
      a.sources.map((s) => s.name),
      ['gp', 'acute', 'social-care', 'ambulance'],
    );
    for (const v of [
      'twin pairs',
      'parent and child with the same name',
      'common name and date of birth pairs',
      'nickname or short form',
      'initial for the given name',
      'double-barrelled surname written differently',
      'surname history kept (use: old)',
      'older source holds the surname before a change',
      'older source holds the address before a move',
      'missing postcode',
      'partial postcode (outward code only)',
      'day and month swapped',
      'single-digit date of birth typo',
      'transposed NHS number',
      'mistyped NHS number',
      'missing NHS number (social-care)',
      'missing NHS number (ambulance)',
      'initial and year of birth only',
    ])
      assert.ok((a.stats[v] ?? 0) > 0, v);
    assert.ok(a.sources.flatMap((s) => s.patients).every((p) => a.truth.has(p.id)));
  });
});

describe('review classes from the rules’ own explanation', () => {
  const v = (levels: Record<string, string>) =>
    Object.fromEntries(Object.entries(levels).map(([k, level]) => [k, { level, weight: 0 }]));
  it('plain match needs names, date of birth and the same address or NHS number', () => {
    assert.equal(
      reviewClass(v({ given: 'nickname', family: 'exact', birthDate: 'exact', sex: 'exact', postcode: 'exact' })),
      'plain-match',
    );
    assert.equal(
      reviewClass(
        v({ given: 'exact', family: 'exact', birthDate: 'exact', postcode: 'different', street: 'different' }),
      ),
      'uncertain',
      'a common name with the same date of birth elsewhere looks just like this',
    );
    assert.equal(reviewClass(v({ given: 'different', family: 'different', birthDate: 'exact' })), 'plain-non-match');
    assert.equal(
      reviewClass(v({ given: 'exact', family: 'exact', birthDate: 'different', sex: 'different' })),
      'plain-non-match',
    );
  });
});

describe('FEBRL rows as Patients', () => {
  it('maps the columns, the NHS number column and its verification, and leaves out impossible dates', () => {
    const rows = parseFebrlRows(
      'rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id, nhs, ok\n' +
        'rec-1-org, amy, lee, 4, oak road, , leeds, LS6 1AA, wyk, 19800230, 123, 9990000018, 1\n',
      'x.csv',
      ['nhs', 'ok'],
    );
    const [p] = febrlAsPatients(rows, { source: 'x', nhsNumberColumn: 'nhs', verified: 'ok' });
    assert.equal(p?.id, 'rec-1-org');
    assert.equal(p?.birthDate, undefined, '30 February is left out');
    const ids = p?.identifier as Array<{ system: string; value: string; extension?: unknown[] }>;
    assert.equal(ids[1]?.value, '9990000018');
    assert.match(JSON.stringify(ids[1]?.extension), /"code":"01"/);
    assert.deepEqual(p?.address, [
      { use: 'home', line: ['4 oak road'], city: 'leeds', district: 'wyk', postalCode: 'LS6 1AA' },
    ]);
  });
});

for (const which of testDatabases) {
  describe(`evaluate the product path (${which})`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb(which);
    });
    after(async () => t?.close());

    it('writes the county through the records service and scores persons, reviews and false links', async () => {
      const set = countySet({ seed: 3, people: 300 });
      const rules = loadRules();
      const { records } = createServices(t.db, { mpiRules: rules });
      const stages = new Set<string>();
      const report = await evaluateProductPath({
        db: t.db,
        engine: coreMatchEngine(rules),
        sources: set.sources,
        entityOf: (id) => set.truth.get(id),
        onProgress: (stage) => stages.add(stage),
        write: async (patients) =>
          (
            await records.putMany(
              SYSTEM_ACTOR,
              patients.map((resource) => ({ resource })),
            )
          ).flatMap((r) => ('error' in r ? [{ index: r.index, error: r.error.message }] : [])),
      });
      const written = set.sources.reduce((n, s) => n + s.patients.length, 0);
      assert.equal(report.records, written);
      assert.deepEqual(report.refused, []);
      assert.deepEqual([...stages], ['linking gp', 'linking acute', 'linking social-care', 'linking ambulance']);
      assert.equal(report.entities, new Set(set.truth.values()).size);
      assert.ok(report.truePairs > 0);
      assert.ok(report.clusters.precision >= 0.99, JSON.stringify(report.falseLinks));
      assert.ok(report.clusters.recall >= 0.9, JSON.stringify(report.clusters));
      assert.ok(report.pairsCompleteness >= 0.99);
      assert.ok(report.reviews.shareOfRecords <= 0.05);
      assert.equal(report.falseLinks.length, report.falseLinkCount);
      for (const f of report.falseLinks) {
        assert.notEqual(f.entity, f.others[0]?.entity, 'a false link joins two entities');
        assert.ok(f.record.id === f.patient);
      }
      assert.equal(
        report.missedPairs.total,
        report.truePairs - report.clusters.truePositives,
        'every true pair is either linked or missed',
      );
    });
  });
}

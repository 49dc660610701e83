/**
 * A bulk link (ADR 0054) makes exactly the decisions of the normal write path: the same UK-shaped county
 * records (src/mpi/synthetic-county.ts: verified and unverified NHS numbers, twins, parents and children,
 * changed names, house moves…) are assigned on two identical databases, once set by set through
 * `assignPatients` (candidates read by SQL under the per-key locks) and once through `withBulkLink`
 * (candidates answered by the in-memory index); every row the MPI writes must be identical. Run with the
 * product's rules and with rules whose candidate limit and block size are tiny (so the ranking, the limit and
 * the too-common keys decide which candidates are scored). A set that fails in the middle of its write leaves
 * nothing of itself, and the linker goes on correctly after it. Both databases.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { countySet } from '../src/mpi/synthetic-county.ts';
import { loadRules } from '../src/mpi/rules/load-rules.ts';
import type { MatchRules } from '../src/mpi/rules/rules.ts';
import { assignPatients, mpiContext, type MpiContext } from '../src/records/mpi/assign.ts';
import { withBulkLink } from '../src/records/mpi/bulk-link.ts';
import { createServices } from '../src/compose.ts';
import { importTargetFor } from '../src/records/import/target.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { coreMatchEngine } from '../src/records/mpi/engine.ts';
import type { Db, SqlValue } from '../src/store/db.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';
import type { Patient } from './mpi-fixtures.ts';

const SET = 40;
const NOW = new Date('2026-12-06T12:00:00Z');

/** A context whose ids and clock are deterministic (the same calls give the same ids on both databases). */
function contextOf(rules: MatchRules): MpiContext {
  let n = 0;
  return mpiContext(coreMatchEngine(rules), { now: () => NOW, newId: () => `id-${String(++n).padStart(6, '0')}` });
}

/** The county's records: the GP practice and the hospital held first, then the others arriving in sets. */
function workload() {
  const county = countySet({ people: 260, seed: 2026 });
  const of = (name: string) => county.sources.find((s) => s.name === name)?.patients ?? [];
  const held = [...of('gp'), ...of('acute')];
  const incoming = [...of('social-care'), ...of('ambulance')];
  // Some held records sent again with changed demographics (a refresh of their keys) among the incoming.
  const changed = held.slice(0, 12).map((p, i) => {
    const c = structuredClone(p) as Patient & { address?: Array<{ postalCode?: string }> };
    if (i % 2 === 0 && Array.isArray(c.address) && c.address[0]) c.address[0].postalCode = 'ZZ9 9ZZ';
    else c.birthDate = '1901-01-01';
    return c;
  });
  const arriving = [...incoming];
  changed.forEach((c, i) => arriving.splice(Math.min(arriving.length, 17 + i * 23), 0, c));
  return { held, arriving };
}

function sets<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Every row the MPI writes, in a stable order (person ids and review ids are deterministic here). */
async function mpiRows(db: Db) {
  const q = async (text: string) => (await db.query(text)).rows;
  return {
    persons: await q('select id, golden, conflicts, restricted from person order by id'),
    links: await q(
      `select patient_id, person_id, kind, method, score, vector, rule_version, record, nhs_number, nhs_verified,
              retired_into from person_link order by patient_id`,
    ),
    identifiers: await q('select system, value, patient_id from person_identifier order by system, value, patient_id'),
    blocks: await q('select key, patient_id from person_block order by key, patient_id'),
    counts: await q('select key, n from person_block_count order by key'),
    reviews: await q(
      'select id, patient_id, candidate_id, score, vector, rule_version, status, reasons from mpi_review order by id',
    ),
    events: await q('select kind, actor, person_id, patient_ids, detail from mpi_event order by id'),
  };
}

/** Each record's decision, its person named by the person's first record (person and review ids aside). */
async function shape(db: Db) {
  return (
    await db.query(
      `select l.patient_id, (select min(m.patient_id) from person_link m where m.person_id = l.person_id) as founder,
              l.kind, l.method, l.score
         from person_link l order by l.patient_id`,
    )
  ).rows;
}

/** The reviews opened (review ids aside). */
async function reviews(db: Db) {
  return (
    await db.query('select patient_id, candidate_id, score, reasons from mpi_review order by patient_id, candidate_id')
  ).rows;
}

/** `db` whose transactions fail at the assignment's write statement while `fail.on` is set. */
function failingDb(db: Db, fail: { on: boolean }): Db {
  const wrap = (h: Db): Db => ({
    kind: h.kind,
    inTransaction: h.inTransaction,
    async query<R>(text: string, values?: readonly SqlValue[], options?: Parameters<Db['query']>[2]) {
      if (fail.on && h.inTransaction && text.includes('insert into mpi_event')) throw new Error('disk full (test)');
      return h.query<R>(text, values, options);
    },
    exec: (text) => h.exec(text),
    transaction: (fn) => h.transaction((tx) => fn(wrap(tx))),
    close: () => h.close(),
  });
  return wrap(db);
}

for (const which of testDatabases) {
  describe(`MPI bulk link: the same decisions as the write path (${which})`, () => {
    const opened: TestDb[] = [];
    const open = async () => {
      const t = await openTestDb(which);
      opened.push(t);
      return t.db;
    };
    after(async () => {
      for (const t of opened) await t.close();
    });

    for (const [name, rules] of [
      ['the product rules', loadRules()],
      [
        'a candidate limit of 3 and blocks of at most 4 records',
        { ...loadRules(), candidateLimit: 3, maxBlockSize: 4 },
      ],
    ] as const) {
      it(`with ${name}: every MPI row identical`, async () => {
        const { held, arriving } = workload();
        const [normal, bulk] = [await open(), await open()];
        const ctxNormal = contextOf(rules);
        const ctxBulk = contextOf(rules);
        for (const [db, ctx] of [
          [normal, ctxNormal],
          [bulk, ctxBulk],
        ] as const)
          for (const s of sets(held, SET)) await db.transaction((tx) => assignPatients(tx, ctx, s, 'system:mpi'));

        for (const s of sets(arriving, SET))
          await normal.transaction((tx) => assignPatients(tx, ctxNormal, s, 'system:mpi'));
        const stats = await withBulkLink(bulk, ctxBulk, async (linker) => {
          for (const s of sets(arriving, SET)) await linker.link(s);
          return linker.stats;
        });
        assert.equal(stats.links, held.length, 'the index read every held link');
        assert.equal(stats.records, arriving.length);

        const [a, b] = [await mpiRows(normal), await mpiRows(bulk)];
        // Not a vacuous comparison: the workload makes every kind of decision.
        const kinds = new Set(a.links.map((l) => `${String(l.kind)}/${String(l.method)}`));
        for (const k of ['new/none', 'deterministic/nhs-number', 'probabilistic/probabilistic'])
          assert.ok(kinds.has(k), `the workload makes ${k} links (${[...kinds].join(', ')})`);
        assert.ok(a.reviews.length > 0, 'the workload opens reviews');
        for (const table of Object.keys(a) as Array<keyof typeof a>) {
          assert.equal(b[table].length, a[table].length, `${table}: as many rows`);
          // Row by row, so that a difference names its row.
          a[table].forEach((row, n) =>
            assert.deepEqual(b[table][n], row, `${table}: the bulk link wrote what the write path wrote`),
          );
        }
      });
    }

    it('while a bulk link holds the MPI, a normal write waits, then links to what the bulk link wrote', async () => {
      const rules = loadRules();
      const db = await open();
      const ctx = contextOf(rules);
      const { held } = workload();
      const verified = held.filter((p) => JSON.stringify(p).includes('"code":"01"'));
      const [first, again] = [verified[0], verified[1]];
      assert.ok(first && again);
      // The same person sent by another source: a verified NHS number link to the bulk link's new person.
      const copy = {
        ...structuredClone(first),
        id: 'other-source-1',
        identifier: (first.identifier as unknown[]).filter((i) => JSON.stringify(i).includes('nhs-number')),
      };
      let normalDone = false;
      let release: () => void = () => undefined;
      const released = new Promise<void>((r) => (release = r));
      let normal: Promise<unknown> | undefined;
      await withBulkLink(db, ctx, async (linker) => {
        await linker.link([first]);
        normal = db.transaction((tx) => assignPatients(tx, ctx, [copy], 'system:mpi')).then(() => (normalDone = true));
        setTimeout(release, which === 'postgres' ? 400 : 0);
        await released;
        if (which === 'postgres')
          assert.equal(normalDone, false, 'the normal write waits while the bulk link holds the MPI');
      });
      await normal;
      const persons = await db.query<{ patient_id: string; person_id: string; method: string }>(
        'select patient_id, person_id, method from person_link order by patient_id',
      );
      const of = new Map(persons.rows.map((r) => [r.patient_id, r]));
      assert.equal(of.get('other-source-1')?.person_id, of.get(first.id)?.person_id);
      assert.equal(of.get('other-source-1')?.method, 'nhs-number');
    });

    it('through the records service (as `icr import --bulk` writes): the same persons and reviews', async () => {
      const { held, arriving } = workload();
      const [normal, bulk] = [await open(), await open()];
      const plain = [createServices(normal).records, createServices(bulk)] as const;
      for (const s of sets(held, SET)) {
        await plain[0].putMany(
          SYSTEM_ACTOR,
          s.map((resource) => ({ resource })),
        );
        await plain[1].records.putMany(
          SYSTEM_ACTOR,
          s.map((resource) => ({ resource })),
        );
      }
      for (const s of sets(arriving, SET))
        await plain[0].putMany(
          SYSTEM_ACTOR,
          s.map((resource) => ({ resource })),
        );
      const mpi = plain[1].mpi;
      assert.ok(mpi);
      await withBulkLink(bulk, mpi.ctx, async (linker) => {
        const target = importTargetFor(createServices(bulk, { mpiContext: () => linker.ctx }).records, () =>
          linker.committed(),
        );
        for (const s of sets(arriving, SET)) {
          const prepared = await target.prepareMany(
            SYSTEM_ACTOR,
            s.map((resource) => ({ resource })),
          );
          const results = await target.writeMany(SYSTEM_ACTOR, prepared);
          assert.deepEqual(
            results.filter((r) => 'error' in r),
            [],
          );
        }
      });
      assert.deepEqual(await shape(bulk), await shape(normal));
      assert.deepEqual(await reviews(bulk), await reviews(normal));
      // Clinical rows follow their person: every stored Patient carries its link's person.
      const mismatched = await bulk.query(
        `select r.id from resource r join person_link l on l.patient_id = r.id
          where r.resource_type = 'Patient' and r.person_id is distinct from l.person_id`,
      );
      assert.deepEqual(mismatched.rows, []);
    });

    it('a set that fails in its write leaves nothing of itself; the next sets decide as the write path', async () => {
      const rules = loadRules();
      const { held, arriving } = workload();
      const [normal, bulk] = [await open(), await open()];
      const ctxNormal = contextOf(rules);
      const ctxBulk = contextOf(rules);
      for (const [db, ctx] of [
        [normal, ctxNormal],
        [bulk, ctxBulk],
      ] as const)
        for (const s of sets(held, SET)) await db.transaction((tx) => assignPatients(tx, ctx, s, 'system:mpi'));
      const fail = { on: false };
      const [first, second, ...rest] = sets(arriving, SET);
      assert.ok(first && second);
      await withBulkLink(failingDb(bulk, fail), ctxBulk, async (linker) => {
        await linker.link(first);
        const before = await mpiRows(bulk);
        fail.on = true;
        await assert.rejects(linker.link(second), /disk full/);
        fail.on = false;
        assert.deepEqual(await mpiRows(bulk), before, 'nothing of the failed set was written');
        // The failed set again, then the rest: the index is read again and the decisions are the write path's.
        for (const s of [second, ...rest]) await linker.link(s);
      });
      // The failed attempt drew ids the normal path did not: compare what does not depend on them.
      for (const s of [first, second, ...rest])
        await normal.transaction((tx) => assignPatients(tx, ctxNormal, s, 'system:mpi'));
      assert.deepEqual(await shape(bulk), await shape(normal));
      assert.deepEqual(await reviews(bulk), await reviews(normal));
    });
  });
}

/**
 * `node bench/mpi-bulk-decide.ts`: Node's share of a bulk link (ADR 0054, 0058) with no database — the
 * deciding of incoming records (`decideSet`: candidates from the in-memory `BulkIndex`, screening, scoring)
 * against N held synthetic persons, and the index learning each set's links and keys. The same synthetic
 * persons and incoming mix (a third verified NHS number, a third typo, a third new) as bench/mpi-db.ts.
 *
 *   node bench/mpi-bulk-decide.ts [--sizes 100000,300000,1000000] [--records 3000] [--set 1000] [--rounds 3]
 *                                 [--no-write]
 *
 * Prints, per size: CPU µs per record (deciding, index learning), candidates per record (distribution),
 * pairs screened and scored per record. Writes the section "## MPI bulk-link deciding (no database)" of
 * bench/README.md (and nothing else). 1,000,000 persons need about 3 GiB of heap and 2 minutes to build.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { machine, writeSection } from './report.ts';
import { toPatient, uuidFor } from './synthetic-patient.ts';
import { loadRules } from '../src/mpi/rules/load-rules.ts';
import { seededRandom, type SyntheticPerson, syntheticPerson, withTypo } from '../src/mpi/synthetic.ts';
import type { MatchRecord } from '../src/mpi/types.ts';
import { decideSet, identifiersOf, mpiContext, type MpiContext } from '../src/records/mpi/assign.ts';
import { BulkIndex } from '../src/records/mpi/bulk-index.ts';
import { coreMatchEngine, type MatchEngine } from '../src/records/mpi/engine.ts';
import type { Db } from '../src/store/db.ts';
import type { Held } from '../src/store/mpi-store-assign.ts';
import type { LinkRow } from '../src/store/mpi-store.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,300000,1000000' },
    records: { type: 'string', default: '3000' },
    set: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
  },
});
const startedAt = machine();

interface Row {
  persons: number;
  buildSeconds: number;
  heapMiB: number;
  /** CPU µs per record of each round: all, deciding, the index learning the links. */
  rounds: Array<{ all: number; decide: number; learn: number }>;
  candidates: { mean: number; p50: number; p90: number };
  screened: number;
  scored: number;
  outcome: { link: number; new: number };
}
const rows: Row[] = [];
const SOURCE_A = 'https://trust-a.example/Id/mrn';
const SOURCE_B = 'https://trust-b.example/Id/mrn';

/** A database that answers every statement with no rows (decideSet writes only reviews with it). */
const noDb: Db = {
  kind: 'pglite',
  inTransaction: true,
  query: async () => ({ rows: [] }) as never,
  exec: async () => undefined,
  transaction: async (fn) => fn(noDb),
  close: async () => undefined,
};

async function runSize(engine: MatchEngine, size: number): Promise<void> {
  const row: Row = {
    persons: size,
    buildSeconds: 0,
    heapMiB: 0,
    rounds: [],
    candidates: { mean: 0, p50: 0, p90: 0 },
    screened: 0,
    scored: 0,
    outcome: { link: 0, new: 0 },
  };
  rows.push(row);
  const rand = seededRandom(20_261_101);
  const sampleRand = seededRandom(7);
  const sample: SyntheticPerson[] = [];
  const index = new BulkIndex();
  const byNhs = new Map<string, LinkRow>();
  const t0 = performance.now();
  const links: Array<{ id: string; record: MatchRecord; blocks: string[] }> = [];
  for (let n = 0; n < size; n++) {
    const p = syntheticPerson(rand, n);
    if (sample.length < 6000) sample.push(p);
    else {
      const j = Math.floor(sampleRand() * (n + 1));
      if (j < 6000) sample[j] = p;
    }
    const id = uuidFor(0xa0000000, n);
    const record = engine.record(toPatient(p, id, SOURCE_A, `A${n}`));
    links.push({ id, record, blocks: engine.blockingKeys(record) });
    if (record.nhsVerified === true && record.nhsNumber !== undefined)
      byNhs.set(record.nhsNumber, {
        patientId: id,
        personId: id,
        record,
        nhsNumber: record.nhsNumber,
        nhsVerified: true,
        retiredInto: null,
      } as LinkRow);
  }
  // As the loader reads them: links in patient-id order, then keys.
  for (const l of links) index.addLink({ patientId: l.id, personId: l.id, record: l.record, retired: false });
  index.markOrdered();
  for (const l of links) for (const k of l.blocks) index.addKey(k, l.id);
  links.length = 0;
  const build = (performance.now() - t0) / 1000;
  const mem = process.memoryUsage();
  row.buildSeconds = build;
  row.heapMiB = mem.heapUsed / 2 ** 20;
  process.stdout.write(
    `${size} persons: index of ${index.records} records, ${index.keys} keys built in ${build.toFixed(1)} s; heap ${Math.round(mem.heapUsed / 2 ** 20)} MiB\n`,
  );

  const candCounts: number[] = [];
  let screened = 0;
  let scored = 0;
  const counting: MatchEngine = {
    ...engine,
    couldMatch: (a, b) => {
      screened++;
      return engine.couldMatch?.(a, b) ?? true;
    },
    score: (a, b) => {
      scored++;
      return engine.score(a, b);
    },
  };
  const ctx = (e: MatchEngine): MpiContext =>
    mpiContext(e, {
      reads: {
        candidates: async (_tx, q) => {
          const out = index.candidates(q);
          for (const c of out.candidates) candCounts.push(c.length);
          return out;
        },
        nhsOfPersons: async (_tx, ids) => index.nhsOfPersons(ids),
        nhsOfPersonsNow: (ids) => index.nhsOfPersons(ids),
      },
    });
  const records = Number(args.records);
  const setSize = Number(args.set);
  const verified = sample.filter((p) => p.nhsVerified === true);
  for (let round = 0; round < Number(args.rounds); round++) {
    const r = seededRandom(1000 + size + round);
    const incoming = Array.from({ length: records }, (_, i) => {
      const id = uuidFor(0xc0000000 + round, i);
      const kind = i % 3;
      let m: MatchRecord;
      if (kind === 0) m = verified[Math.floor(r() * verified.length)] as SyntheticPerson;
      else if (kind === 1) {
        m = withTypo(r, sample[Math.floor(r() * sample.length)] as SyntheticPerson, r() < 0.5 ? 'given' : 'family');
        delete m.nhsNumber;
        delete m.nhsVerified;
      } else m = syntheticPerson(r, 900_000_000 + i, { nhsShare: 0 });
      return toPatient(m, id, SOURCE_B, `B-${round}-${i}`);
    });
    const e = round === 0 ? counting : engine;
    const c0 = process.cpuUsage();
    let decideUs = 0;
    let learnUs = 0;
    const outcome = { link: 0, new: 0 };
    for (let s = 0; s < incoming.length; s += setSize) {
      const set = incoming.slice(s, s + setSize);
      const d0 = process.cpuUsage();
      const prepared = set.map((p) => {
        const record = engine.record(p);
        return { patientId: p.id, record, identifiers: identifiersOf(p), blocks: engine.blockingKeys(record) };
      });
      const held: Held = {
        links: new Map(),
        hashes: new Map(),
        bySource: [],
        byNhs: prepared.flatMap((p) => {
          const l = p.record.nhsVerified === true ? byNhs.get(p.record.nhsNumber ?? '') : undefined;
          return l ? [l] : [];
        }),
        personIds: new Set(),
      };
      const decided = await decideSet(noDb, ctx(e), prepared, held);
      const d1 = process.cpuUsage(d0);
      decideUs += d1.user + d1.system;
      const l0 = process.cpuUsage();
      decided.forEach((a, n) => {
        const p = prepared[n] as (typeof prepared)[number];
        if (a.personId !== '') outcome.link++;
        else outcome.new++;
        const personId = a.personId !== '' ? a.personId : p.patientId;
        index.addLink({ patientId: p.patientId, personId, record: p.record, retired: false });
        for (const k of p.blocks) index.addKey(k, p.patientId);
      });
      const l1 = process.cpuUsage(l0);
      learnUs += l1.user + l1.system;
    }
    const cu = process.cpuUsage(c0);
    const sorted = [...candCounts].sort((a, b) => a - b);
    const q = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? 0;
    row.rounds.push({
      all: (cu.user + cu.system) / records,
      decide: decideUs / records,
      learn: learnUs / records,
    });
    if (round === 0) {
      row.candidates = {
        mean: candCounts.reduce((a, b) => a + b, 0) / Math.max(1, candCounts.length),
        p50: q(0.5),
        p90: q(0.9),
      };
      row.screened = screened / records;
      row.scored = scored / records;
      row.outcome = { ...outcome };
    }
    process.stdout.write(
      `  round ${round}: ${records} records: CPU ${((cu.user + cu.system) / records).toFixed(0)} µs/record ` +
        `(decide ${(decideUs / records).toFixed(0)}, learn ${(learnUs / records).toFixed(0)}); ` +
        `${outcome.link} linked, ${outcome.new} new` +
        (round === 0
          ? `; candidates per record read: mean ${(candCounts.reduce((a, b) => a + b, 0) / Math.max(1, candCounts.length)).toFixed(1)}, p50 ${q(0.5)}, p90 ${q(0.9)}, max ${q(1)} (${candCounts.length} reads); screened ${(screened / records).toFixed(1)}, scored ${(scored / records).toFixed(1)} per record`
          : '') +
        '\n',
    );
  }
}

const engine = coreMatchEngine(loadRules());
for (const size of args.sizes.split(',').map(Number)) await runSize(engine, size);

const int = (n: number) => Math.round(n).toLocaleString('en-GB');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const text = [
  '## MPI bulk-link deciding (no database)',
  '',
  `Run with \`node bench/mpi-bulk-decide.ts\` (bench/mpi-bulk-decide.ts). Machine: ${startedAt}; load average at the end ${machine().split('load average at start ')[1] ?? ''}.`,
  '',
  "Node's share of a bulk link (ADR 0054, 0058) without the database: N synthetic persons (the persons of",
  '`bench:mpi-db`) held in a `BulkIndex`, then sets of 1,000 incoming records (a third duplicates with a verified',
  'NHS number, a third with a typo in a name and no NHS number, a third new people) decided by `decideSet` with',
  "the bulk link's reads, and the index told each set's links and keys. CPU time of the process per record",
  '(user + system; the median of the rounds, each on fresh records); "deciding" excludes the index learning the',
  'links. The database\'s share (writing the rows, about 0.4–0.6 ms of backend CPU a record) is in "MPI matching in',
  'the database" above.',
  '',
  '| persons | index built (s) | heap MiB | CPU µs / record (rounds) | of which deciding | candidates read per record: mean / p50 / p90 | screened / scored per record | linked / new (first round) |',
  '| ------: | --------------: | -------: | -----------------------: | ----------------: | -------------------------------------------: | ---------------------------: | -------------------------: |',
  ...rows.map(
    (r) =>
      `| ${int(r.persons)} | ${r.buildSeconds.toFixed(0)} | ${int(r.heapMiB)} | ${int(median(r.rounds.map((x) => x.all)))} (${r.rounds.map((x) => int(x.all)).join(', ')}) | ${int(median(r.rounds.map((x) => x.decide)))} | ${r.candidates.mean.toFixed(1)} / ${r.candidates.p50} / ${r.candidates.p90} | ${r.screened.toFixed(1)} / ${r.scored.toFixed(1)} | ${r.outcome.link} / ${r.outcome.new} |`,
  ),
  '',
].join('\n');
process.stdout.write(`\n${text}\n`);
if (!args['no-write'])
  await writeSection(path.resolve(import.meta.dirname, 'README.md'), '## MPI bulk-link deciding (no database)', text);

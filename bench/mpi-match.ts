/**
 * MPI matching benchmark: time to match one incoming record against 100,000 and 1,000,000 synthetic
 * persons (p50, p95, p99), and linking throughput during a bulk load (match, then index, each record).
 *
 * The candidate index is the in-memory one (`InMemoryCandidateIndex`): the matching core alone. The
 * product's write path matches against the `person_block` table; bench/mpi-db.ts measures that. Persons come from a seeded PRNG and small UK-flavoured lists, so every
 * run sees the same people. Writes the "## MPI matching" section of bench/README.md (and nothing else).
 *
 *   node bench/mpi-match.ts [--sizes 100000,1000000] [--queries 2000] [--no-write]
 */
import { execSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSection } from './report.ts';
import { InMemoryCandidateIndex } from '../src/mpi/blocking.ts';
import { compileModel } from '../src/mpi/fellegi-sunter.ts';
import { Matcher } from '../src/mpi/matcher.ts';
import { loadRules } from '../src/mpi/rules/load-rules.ts';
import { seededRandom, syntheticPerson, withTypo } from '../src/mpi/synthetic.ts';
import { TermFrequencyTable } from '../src/mpi/term-frequency.ts';
import type { MatchRecord } from '../src/mpi/types.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    queries: { type: 'string', default: '2000' },
    'bulk-batch': { type: 'string', default: '20000' },
    'no-write': { type: 'boolean', default: false },
  },
});
const sizes = args.sizes
  .split(',')
  .map(Number)
  .filter((n) => n > 0)
  .sort((a, b) => a - b);
const queryCount = Number(args.queries);
const bulkBatch = Number(args['bulk-batch']);

const rules = loadRules();
const model = compileModel(rules);
const tf = new TermFrequencyTable(rules.fields.filter((f) => f.termFrequency).map((f) => f.field));
const index = new InMemoryCandidateIndex(rules);
const matcher = new Matcher(model, index, tf);
const rand = seededRandom(20_261_101);
let nextPerson = 0;

interface Row {
  persons: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  cpuP50: number;
  cpuP95: number;
  load: number;
  decisions: Record<string, number>;
  bulkRate: number;
  bulkSize: number;
}
const rows: Row[] = [];
let buildRate = 0;

/** Match each new person against everyone loaded so far, then index it: a bulk load with linking. */
function bulkLoad(count: number): number {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const p = syntheticPerson(rand, nextPerson++);
    const result = matcher.matchSync(p);
    if (result.decision === 'link' && result.personId) p.personId = result.personId;
    index.add(p);
    tf.add(p);
  }
  return count / ((performance.now() - start) / 1000);
}

/** Index without matching (the bulk build used to reach the larger sizes quickly). */
function build(count: number): void {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const p = syntheticPerson(rand, nextPerson++);
    index.add(p);
    tf.add(p);
  }
  buildRate = Math.round(count / ((performance.now() - start) / 1000));
}

/** Incoming records: a third verified-NHS duplicates, a third typo'd duplicates without NHS number, a third new people. */
function queries(n: number, population: number): MatchRecord[] {
  const qrand = seededRandom(42 + population);
  const out: MatchRecord[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 3;
    if (kind === 2) {
      const fresh = syntheticPerson(qrand, 900_000_000 + i, { nhsShare: 0 });
      out.push({ ...fresh, id: `incoming|${i}`, personId: undefined });
      continue;
    }
    const existing = index.get(`synthetic|${Math.floor(qrand() * population)}`);
    if (!existing) continue;
    let q: MatchRecord = { ...existing, id: `incoming|${i}`, personId: undefined };
    if (kind === 1) {
      q = withTypo(qrand, q, qrand() < 0.5 ? 'given' : 'family');
      delete q.nhsNumber;
      delete q.nhsVerified;
    }
    out.push(q);
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

for (const size of sizes) {
  const have = index.size;
  let bulkRate: number;
  let bulkSize: number;
  if (have === 0) {
    bulkSize = Math.min(size, 100_000);
    bulkRate = bulkLoad(bulkSize);
    if (size > bulkSize) build(size - bulkSize);
  } else {
    build(size - have - bulkBatch);
    bulkSize = bulkBatch;
    bulkRate = bulkLoad(bulkBatch);
  }
  const qs = queries(queryCount, size);
  for (const q of qs.slice(0, 200)) matcher.matchSync(q); // warm-up
  const times: number[] = [];
  const cpu: number[] = [];
  const decisions: Record<string, number> = {};
  const load = os.loadavg()[0] ?? 0;
  for (const q of qs) {
    const c = process.cpuUsage();
    const t = performance.now();
    const r = matcher.matchSync(q);
    times.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
    decisions[r.decision] = (decisions[r.decision] ?? 0) + 1;
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const row: Row = {
    persons: index.size,
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    p99: percentile(times, 99),
    max: times[times.length - 1] ?? 0,
    cpuP50: percentile(cpu, 50),
    cpuP95: percentile(cpu, 95),
    load,
    decisions,
    bulkRate,
    bulkSize,
  };
  rows.push(row);
  process.stdout.write(`${JSON.stringify(row)}\n`);
}

const ms = (x: number): string => x.toFixed(2);
const machine = `${os.availableParallelism()} CPUs (nproc ${nproc()}), ${os.machine()} (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const section = [
  '## MPI matching',
  '',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machine} by \`node bench/mpi-match.ts\`.`,
  '',
  'Time to match one incoming record (blocking keys → in-memory candidate index → Fellegi–Sunter scoring of',
  `at most ${rules.candidateLimit} candidates → decision) against N synthetic persons, over ${queryCount} incoming records: a third`,
  'duplicates carrying a verified NHS number, a third duplicates with a typo in a name and no NHS number,',
  'a third new people. Bulk load: each record matched against everyone loaded before it, then indexed.',
  '',
  "**Not the product's write path.** These figures are the matching core alone with the in-memory candidate",
  'index (`InMemoryCandidateIndex`), which tests, `icr mpi evaluate` and this bench use. When a source Patient',
  'is written, the product matches it against the database (blocking keys in `person_block`, one SQL query per',
  'match): those figures are in "MPI matching in the database" below, and they are the ones that describe',
  'the product.',
  '',
  '| persons | p50 ms | p95 ms | p99 ms | max ms | CPU p50 / p95 ms | load avg | decisions (link / review / new) | bulk load with linking |',
  '|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.persons.toLocaleString('en-GB')} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.max)} | ${ms(r.cpuP50)} / ${ms(r.cpuP95)} | ${r.load.toFixed(1)} | ${r.decisions.link ?? 0} / ${r.decisions.review ?? 0} / ${r.decisions.new ?? 0} | ${Math.round(r.bulkRate).toLocaleString('en-GB')} records/s over ${r.bulkSize.toLocaleString('en-GB')} records |`,
  ),
  '',
  'Wall-clock percentiles include time the process waits for a CPU; "CPU" is the process CPU time spent on',
  'the match (user + system), which is what the code costs. "load avg" is the 1-minute load average when the',
  'queries started: on a shared 2-core machine a figure far above 2 means other work inflated the wall times.',
  '',
  buildRate > 0
    ? `Between sizes the index was filled without matching at ${buildRate.toLocaleString('en-GB')} records/s (the bulk-load figure at the larger size is for the last ${bulkBatch.toLocaleString('en-GB')} records, matched against all the others).`
    : '',
  '',
].join('\n');

if (!args['no-write'])
  await writeSection(fileURLToPath(new URL('./README.md', import.meta.url)), '## MPI matching', section);

function nproc(): string {
  try {
    return execSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

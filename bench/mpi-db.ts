/**
 * `npm run bench:mpi-db`: the MPI's write-time matching path against the database, at 100,000 and
 * 1,000,000 persons, on PostgreSQL (`ICR_BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test,
 * in a fresh schema dropped afterwards) and on PGlite (in a temporary folder, 100,000 persons by default).
 *
 * 1. Bulk-loads N synthetic persons (src/mpi/synthetic.ts, seeded) straight into the MPI tables, in set
 *    statements of 10,000 persons: the rows the product writes for a source Patient that founds a person
 *    (person with its golden demographics, person_link with the normalised match record, person_identifier,
 *    person_block, the `create` mpi_event), made by the product's own functions (`engine.record`,
 *    `engine.blockingKeys`, `identifiersOf`, `computeGolden`, `insertPersons`, `insertNewLinks`,
 *    `appendEvents`). Then VACUUM ANALYZE, as autovacuum would. The product keeps no term-frequency tables
 *    (the write path's engine is built without term frequencies), so there are none to load.
 * 2. Times one incoming source Patient at a time through the functions the write path calls, each in a
 *    transaction that is rolled back: `decide` (source identifier → verified NHS number → candidate query on
 *    person_block → Fellegi–Sunter scoring → link / review / new), and the whole `assignPatients` (which adds
 *    the advisory locks, the link and key rows, the person, the golden record and the event). Incoming: a third
 *    duplicates with a verified NHS number, a third duplicates with a typo in a name and no NHS number, a
 *    third new people (no NHS number). EXPLAIN (ANALYZE, BUFFERS) of the candidate query is printed.
 * 3. Linking throughput during a bulk load: new source Patients (the same mix) written through the records
 *    service `putMany` (validation, versioned store, search index, MPI person resolver), in sets of 100.
 *
 * Writes the section "## MPI matching in the database" of bench/README.md (and nothing else).
 *
 *   node bench/mpi-db.ts [--sizes 100000,1000000] [--pglite-sizes 100000] [--only postgres|pglite]
 *                        [--queries 2000] [--bulk 10000] [--bulk-set 100] [--bulk-in-flight 2] [--no-write]
 *                        [--schema k1m] [--before <old assign.ts> --ab-rounds 3 --ab-records 3000] [--sql-profile]
 *
 * `--schema` keeps the PostgreSQL schema and reuses its persons next time (loading 1,000,000 takes 3–13 min);
 * `--before` times an earlier `src/records/mpi/assign.ts` (e.g. `git archive <commit> src | tar -x -C /tmp/old`
 * with a `node_modules` link) against this one, alternating; `--sql-profile` prints time per statement. A
 * quick run: `--sizes 100000 --pglite-sizes 0 --queries 300 --bulk 3000 --schema k100`.
 */
import { machine, writeSection } from './report.ts';
import { toPatient, uuidFor } from './synthetic-patient.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createServices } from '../src/compose.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { loadRules } from '../src/mpi/rules/load-rules.ts';
import { seededRandom, type SyntheticPerson, syntheticPerson, withTypo } from '../src/mpi/synthetic.ts';
import type { MatchRecord } from '../src/mpi/types.ts';
import { decide, identifiersOf, assignPatients, mpiContext, type MpiContext } from '../src/records/mpi/assign.ts';
import { withBulkLink } from '../src/records/mpi/bulk-link.ts';
import { coreMatchEngine } from '../src/records/mpi/engine.ts';
import { computeGolden } from '../src/records/mpi/golden.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import type { Db, Queryable, SqlValue } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { readCandidates } from '../src/store/mpi-store-assign.ts';
import { insertNewLinks, LINK_KINDS, type NewLink } from '../src/store/mpi-store.ts';
import { type GoldenRow, insertPersons } from '../src/store/mpi-store-person.ts';
import { appendEvents, type NewMpiEvent } from '../src/store/mpi-store-review.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { openPglite } from '../src/store/pglite-db.ts';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    'pglite-sizes': { type: 'string', default: '100000' },
    only: { type: 'string' },
    queries: { type: 'string', default: '2000' },
    bulk: { type: 'string', default: '10000' },
    'bulk-set': { type: 'string', default: '100' },
    'load-batch': { type: 'string', default: '10000' },
    'load-parallel': { type: 'string', default: '2' },
    'no-write': { type: 'boolean', default: false },
    /** Keep the PostgreSQL schema (named) and reuse its persons on the next run instead of loading again. */
    schema: { type: 'string' },
    /** Print the time spent in each kind of statement during bulk linking. */
    'sql-profile': { type: 'boolean', default: false },
    /** Sets written at once during bulk linking (each its own transaction and connection). */
    'bulk-in-flight': { type: 'string', default: '2' },
    /** An earlier `src/records/mpi/assign.ts` (e.g. from `git worktree add`) to time against this one. */
    before: { type: 'string' },
    'ab-rounds': { type: 'string', default: '3' },
    'ab-records': { type: 'string', default: '3000' },
    /** Records assigned by `assignPatients` alone (the normal path, SQL candidates), to compare with the bulk link. */
    'mpi-alone': { type: 'string', default: '0' },
    /** Records assigned through a bulk link (ADR 0054), MPI alone, and through the whole write path. */
    'bulk-link': { type: 'string', default: '0' },
    'bulk-link-write': { type: 'string', default: '0' },
    'bulk-link-set': { type: 'string', default: '1000' },
  },
});
const sizesOf = (s: string): number[] =>
  s
    .split(',')
    .map(Number)
    .filter((n) => n > 0)
    .sort((a, b) => a - b);
const queryCount = Number(args.queries);
const bulkCount = Number(args.bulk);
const bulkSet = Number(args['bulk-set']);
const bulkInFlight = Math.max(1, Number(args['bulk-in-flight']));
const abRounds = Number(args['ab-rounds']);
const abRecords = Number(args['ab-records']);
const mpiAloneCount = Number(args['mpi-alone']);
const bulkLinkCount = Number(args['bulk-link']);
const bulkLinkWriteCount = Number(args['bulk-link-write']);
const bulkLinkSet = Number(args['bulk-link-set']);
/** PostgreSQL connections of the bench's pool. */
const poolSize = 4;
const beforeModule = args.before
  ? ((await import(path.resolve(args.before))) as { assignPatients: typeof assignPatients; decide: typeof decide })
  : undefined;
const before = beforeModule?.assignPatients;
const loadBatch = Number(args['load-batch']);
/** Batches written at once (PGlite has one connection, so it queues them anyway). */
const loadParallel = Math.max(1, Number(args['load-parallel']));
const README = path.resolve(import.meta.dirname, 'README.md');
const SECTION = '## MPI matching in the database';
const BY = 'system:mpi';
const SOURCE_A = 'https://trust-a.example/Id/mrn';
const SOURCE_B = 'https://trust-b.example/Id/mrn';

const rules = loadRules();
const engine = coreMatchEngine(rules);
const ctx: MpiContext = mpiContext(engine);

// ---------------------------------------------------------------------------------------------------------
// Synthetic source Patients

// ---------------------------------------------------------------------------------------------------------
// 1. Bulk load

interface LoadStats {
  persons: number;
  rows: number;
  seconds: number;
  /** Of `seconds`: building the deferred indexes after the rows were in. */
  indexSeconds: number;
  vacuumSeconds: number;
}

/** The population so far (one PRNG stream per run, so every run loads the same people). */
class Population {
  readonly rand = seededRandom(20_261_101);
  readonly sampleRand = seededRandom(7);
  /** Reservoir sample of loaded persons: the incoming duplicates are copies of these. */
  readonly sample: SyntheticPerson[] = [];
  readonly sampleSize = 6000;
  next = 0;

  /** Draws `count` persons without making their rows (a kept schema holds them already). */
  skip(count: number): void {
    for (let k = 0; k < count; k++) {
      const n = this.next++;
      const p = syntheticPerson(this.rand, n);
      if (this.sample.length < this.sampleSize) this.sample.push(p);
      else {
        const j = Math.floor(this.sampleRand() * (n + 1));
        if (j < this.sampleSize) this.sample[j] = p;
      }
    }
  }

  /** The rows of one batch of new persons, made by the product's own functions. */
  batch(count: number, now: string) {
    const persons: GoldenRow[] = [];
    const links: Array<{
      link: NewLink;
      identifiers: ReturnType<typeof identifiersOf>;
      blocks: string[];
    }> = [];
    const events: NewMpiEvent[] = [];
    let rows = 0;
    for (let k = 0; k < count; k++) {
      const n = this.next++;
      const p = syntheticPerson(this.rand, n);
      if (this.sample.length < this.sampleSize) this.sample.push(p);
      else {
        const j = Math.floor(this.sampleRand() * (n + 1));
        if (j < this.sampleSize) this.sample[j] = p;
      }
      const id = uuidFor(0xa0000000, n);
      const patient = toPatient(p, id, SOURCE_A, `A${n}`);
      const record = engine.record(patient);
      const identifiers = identifiersOf(patient);
      const blocks = engine.blockingKeys(record);
      const { golden, conflicts } = computeGolden([{ patientId: id, patient, record, at: now, retired: false }]);
      persons.push({
        id,
        golden: golden as unknown as Record<string, unknown>,
        conflicts,
        restricted: golden.restricted,
      });
      links.push({
        link: { patientId: id, personId: id, kind: LINK_KINDS.new, method: 'none', createdBy: BY, record },
        identifiers,
        blocks,
      });
      events.push({
        kind: 'create',
        actor: BY,
        personId: id,
        patientIds: [id],
        detail: { kind: LINK_KINDS.new, method: 'none' },
      });
      rows += 3 + identifiers.length + blocks.length;
    }
    return { persons, links, events, rows };
  }
}

/** The MPI tables whose secondary indexes are built after a bulk load rather than row by row during it. */
const DEFERRED_TABLES = ['person_link', 'person_identifier', 'person_block', 'mpi_event'];
/** Primary keys that no foreign key refers to, so they can be dropped and added again too. */
const DEFERRED_KEYS = ['person_identifier', 'person_block'];

/**
 * Drops the secondary indexes (and the free-standing primary keys) of the MPI tables for a bulk load, and
 * returns the function that builds them again from their own catalogue definitions (so the schema after the
 * load is exactly the migrations' schema). One sorted index build is much cheaper than millions of b-tree
 * insertions at random places.
 */
async function deferIndexes(db: Db): Promise<() => Promise<void>> {
  const res = await db.query<{
    tablename: string;
    indexname: string;
    indexdef: string;
    conname: string | null;
    condef: string | null;
  }>(
    `select i.tablename, i.indexname, i.indexdef, c.conname, pg_get_constraintdef(c.oid) as condef
       from pg_indexes i
       left join pg_constraint c
         on c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass and c.contype = 'p'
      where i.schemaname = current_schema() and i.tablename = any($1::text[])
      order by i.tablename, i.indexname`,
    [DEFERRED_TABLES],
  );
  const deferred = res.rows.filter((r) => r.conname === null || DEFERRED_KEYS.includes(r.tablename));
  for (const r of deferred) {
    await db.exec(
      r.conname === null ? `drop index ${r.indexname}` : `alter table ${r.tablename} drop constraint ${r.conname}`,
    );
  }
  return async () => {
    for (const r of deferred) {
      await db.transaction(async (tx) => {
        await tx.exec(`set local maintenance_work_mem = '${db.kind === 'pglite' ? '256MB' : '1GB'}'`);
        await tx.exec(
          r.conname === null ? r.indexdef : `alter table ${r.tablename} add constraint ${r.conname} ${r.condef ?? ''}`,
        );
      });
    }
  };
}

async function loadPersons(db: Db, pop: Population, target: number, label: string): Promise<LoadStats> {
  const start = performance.now();
  const rebuild = await deferIndexes(db);
  const from = pop.next;
  let rows = 0;
  let genMs = 0;
  let waitMs = 0;
  const stmtMs = { person: 0, links: 0, events: 0 };
  const inFlight: Array<Promise<void>> = [];
  while (pop.next < target) {
    const now = new Date().toISOString();
    const g = performance.now();
    const b = pop.batch(Math.min(loadBatch, target - pop.next), now);
    const w = performance.now();
    genMs += w - g;
    // Earlier batches are written (on their own connections) while this one is generated.
    while (inFlight.length >= loadParallel) await inFlight.shift();
    waitMs += performance.now() - w;
    const written = db.transaction(async (tx) => {
      let t = performance.now();
      await insertPersons(tx, b.persons, now);
      stmtMs.person += performance.now() - t;
      t = performance.now();
      await insertNewLinks(tx, b.links, now);
      stmtMs.links += performance.now() - t;
      t = performance.now();
      await appendEvents(tx, b.events, now);
      stmtMs.events += performance.now() - t;
    });
    written.catch(() => undefined); // awaited below; this only stops an early rejection being unhandled
    inFlight.push(written);
    rows += b.rows;
    const s = (performance.now() - start) / 1000;
    process.stderr.write(
      `\r[${label}] loading ${pop.next.toLocaleString('en-GB')} / ${target.toLocaleString('en-GB')} persons, ${Math.round(rows / s).toLocaleString('en-GB')} rows/s   `,
    );
  }
  await Promise.all(inFlight);
  process.stderr.write(`\n[${label}] building the indexes…\n`);
  const ix = performance.now();
  await rebuild();
  const indexSeconds = (performance.now() - ix) / 1000;
  const seconds = (performance.now() - start) / 1000;
  const v = performance.now();
  for (const t of ['person', 'person_link', 'person_identifier', 'person_block', 'person_block_count', 'mpi_event'])
    await db.exec(`vacuum analyze ${t}`);
  const vacuumSeconds = (performance.now() - v) / 1000;
  process.stderr.write(
    `[${label}] loaded ${(pop.next - from).toLocaleString('en-GB')} persons (${rows.toLocaleString('en-GB')} rows) in ${seconds.toFixed(1)} s (indexes ${indexSeconds.toFixed(1)} s); vacuum analyze ${vacuumSeconds.toFixed(1)} s; generating ${(genMs / 1000).toFixed(1)} s, waiting for the database ${(waitMs / 1000).toFixed(1)} s; statements: person ${(stmtMs.person / 1000).toFixed(1)} s, links+keys ${(stmtMs.links / 1000).toFixed(1)} s, events ${(stmtMs.events / 1000).toFixed(1)} s\n`,
  );
  return { persons: pop.next - from, rows, seconds, indexSeconds, vacuumSeconds };
}

// ---------------------------------------------------------------------------------------------------------
// 2. Matching one incoming record

type Kind = 'nhs' | 'typo' | 'new';
interface Incoming {
  kind: Kind;
  patient: FhirResource & { id: string };
}

/** Incoming source Patients from another source (new ids and identifiers): the three kinds in turn. */
function incoming(pop: Population, n: number, seed: number, tag: number): Incoming[] {
  const rand = seededRandom(seed);
  const verified = pop.sample.filter((p) => p.nhsVerified === true);
  const out: Incoming[] = [];
  for (let i = 0; i < n; i++) {
    const id = uuidFor(tag, i);
    const kind: Kind = (['nhs', 'typo', 'new'] as const)[i % 3] as Kind;
    let r: MatchRecord;
    if (kind === 'nhs') r = verified[Math.floor(rand() * verified.length)] as SyntheticPerson;
    else if (kind === 'typo') {
      const base = pop.sample[Math.floor(rand() * pop.sample.length)] as SyntheticPerson;
      r = withTypo(rand, base, rand() < 0.5 ? 'given' : 'family');
      delete r.nhsNumber;
      delete r.nhsVerified;
    } else r = syntheticPerson(rand, 900_000_000 + i, { nhsShare: 0 });
    out.push({ kind, patient: toPatient(r, id, SOURCE_B, `B-${tag.toString(16)}-${i}`) });
  }
  return out;
}

/** `tx` with the time spent in its queries (awaited, results parsed) added up in `acc`. */
function timedDb(tx: Db, acc: { ms: number; queries: number }): Db {
  const wrapped: Db = {
    kind: tx.kind,
    inTransaction: tx.inTransaction,
    async query<R>(text: string, values?: readonly SqlValue[]) {
      const t = performance.now();
      try {
        return await tx.query<R>(text, values);
      } finally {
        acc.ms += performance.now() - t;
        acc.queries++;
      }
    },
    exec: (text) => tx.exec(text),
    transaction: (fn) => fn(wrapped),
    close: () => tx.close(),
  };
  return wrapped;
}

/** `db` with the time of each statement (by its first words) added up in `acc` (`--sql-profile`). */
function profiledDb(db: Db, acc: Map<string, { ms: number; n: number }>): Db {
  const wrapped: Db = {
    kind: db.kind,
    inTransaction: db.inTransaction,
    async query<R>(text: string, values?: readonly SqlValue[], options?: Parameters<Db['query']>[2]) {
      const t = performance.now();
      try {
        return await db.query<R>(text, values, options);
      } finally {
        const key = text.replace(/\s+/g, ' ').trim().slice(0, 110);
        const a = acc.get(key) ?? { ms: 0, n: 0 };
        a.ms += performance.now() - t;
        a.n++;
        acc.set(key, a);
      }
    },
    exec: (text) => db.exec(text),
    transaction: (fn) => db.transaction((tx) => fn(profiledDb(tx, acc))),
    close: () => db.close(),
  };
  return wrapped;
}

class Rollback extends Error {}

/** CPU time the PostgreSQL backend `pid` has run, in nanoseconds (/proc/<pid>/schedstat; 0 when unreadable). */
function backendCpuNs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0] ?? 0);
  } catch {
    return 0;
  }
}

/** The PostgreSQL backend of a transaction's connection (undefined on PGlite, which runs in this process). */
async function backendPid(tx: Db): Promise<number | undefined> {
  if (tx.kind !== 'postgres') return undefined;
  return Number((await tx.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid);
}

/**
 * Runs `fn` in a transaction that is always rolled back; returns the milliseconds `fn` took (wall clock) and
 * the CPU milliseconds it cost: this process (Node, and PGlite when embedded) plus the PostgreSQL backend
 * that ran its statements — on a shared machine, what the code costs whatever else is running.
 */
async function timedRollback<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  let out: { ms: number; cpuMs: number; value: T } | undefined;
  try {
    await db.transaction(async (tx) => {
      const pid = await backendPid(tx);
      const b = backendCpuNs(pid);
      const c = process.cpuUsage();
      const t = performance.now();
      const value = await fn(tx);
      const ms = performance.now() - t;
      const cu = process.cpuUsage(c);
      const cpuMs = (cu.user + cu.system) / 1000 + (backendCpuNs(pid) - b) / 1e6;
      out = { ms, cpuMs, value };
      throw new Rollback();
    });
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  }
  if (!out) throw new Error('unreachable');
  return out;
}

interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}
function percentiles(times: number[]): Percentiles {
  const s = [...times].sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
  return { p50: at(50), p95: at(95), p99: at(99), max: s[s.length - 1] ?? 0 };
}

interface MatchStats {
  decide: Percentiles;
  /** Of `decide`: the time in its SQL statements (round trip and result parsing included). */
  sql: Percentiles;
  queriesPerMatch: number;
  byKind: Record<Kind, Percentiles>;
  assign: Percentiles;
  /** CPU milliseconds (Node + the PostgreSQL backend) of `decide` and of the whole assignment. */
  decideCpu: Percentiles;
  assignCpu: Percentiles;
  outcomes: { link: number; review: number; new: number };
  correct: Record<Kind, string>;
  load: number;
  /** With `--before`: CPU ms (Node + backend) of `decide`, the earlier code and this, per query alternately. */
  ab?: { before: Percentiles; after: Percentiles; beforeMs: Percentiles; afterMs: Percentiles };
}

/**
 * A "new" incoming person (drawn afresh, not a duplicate) that was linked is either a false link or a
 * synthetic doppelgänger of an existing person: print both sides so that a reader can tell.
 */
async function reportSuspectLinks(
  db: Db,
  suspect: ReadonlyArray<{ q: Incoming; a: Awaited<ReturnType<typeof decide>> }>,
): Promise<void> {
  for (const { q, a } of suspect) {
    const person = await db.query<{ golden: unknown }>('select golden from person where id = $1', [a.personId]);
    const p = q.patient as Record<string, unknown>;
    process.stderr.write(
      `  a new person was linked (${a.method}, score ${a.score?.toFixed(2) ?? '-'}):\n` +
        `    incoming ${JSON.stringify({ name: p.name, birthDate: p.birthDate, gender: p.gender, address: p.address, telecom: p.telecom })}\n` +
        `    person   ${JSON.stringify(person.rows[0]?.golden)}\n`,
    );
  }
}

async function matchTimes(db: Db, qs: readonly Incoming[]): Promise<MatchStats> {
  const sql = { ms: 0, queries: 0 };
  const decideOne = (tx: Db, q: Incoming) => {
    const record = engine.record(q.patient);
    return decide(timedDb(tx, sql), ctx, q.patient.id, record, identifiersOf(q.patient));
  };
  for (const q of qs.slice(0, 150)) await timedRollback(db, (tx) => decideOne(tx, q)); // warm-up
  const load = os.loadavg()[0] ?? 0;
  const all: number[] = [];
  const byKind: Record<Kind, number[]> = { nhs: [], typo: [], new: [] };
  const outcomes = { link: 0, review: 0, new: 0 };
  const linkedByKind: Record<Kind, number> = { nhs: 0, typo: 0, new: 0 };
  const sqlTimes: number[] = [];
  const decideCpu: number[] = [];
  const assignCpu: number[] = [];
  const suspect: Array<{ q: Incoming; a: Awaited<ReturnType<typeof decide>> }> = [];
  let queries = 0;
  for (const q of qs) {
    sql.ms = 0;
    sql.queries = 0;
    const { ms, cpuMs, value: a } = await timedRollback(db, (tx) => decideOne(tx, q));
    all.push(ms);
    decideCpu.push(cpuMs);
    sqlTimes.push(sql.ms);
    queries += sql.queries;
    byKind[q.kind].push(ms);
    if (a.personId !== '') {
      outcomes.link++;
      linkedByKind[q.kind]++;
      if (q.kind === 'new') suspect.push({ q, a });
    } else if (a.reviews.length > 0) outcomes.review++;
    else outcomes.new++;
  }
  await reportSuspectLinks(db, suspect);
  const assign: number[] = [];
  for (const q of qs) {
    const { ms, cpuMs } = await timedRollback(db, (tx) => assignPatients(tx, ctx, [q.patient], BY));
    assign.push(ms);
    assignCpu.push(cpuMs);
  }
  // The earlier `decide` against this one on the same queries, alternating which goes first.
  let ab: MatchStats['ab'];
  if (beforeModule) {
    const oldDecide = beforeModule.decide;
    const cpu = { before: [] as number[], after: [] as number[] };
    const wall = { before: [] as number[], after: [] as number[] };
    const runs = {
      before: (tx: Db, q: Incoming) =>
        oldDecide(tx, ctx, q.patient.id, engine.record(q.patient), identifiersOf(q.patient)),
      after: (tx: Db, q: Incoming) => decide(tx, ctx, q.patient.id, engine.record(q.patient), identifiersOf(q.patient)),
    };
    for (const q of qs.slice(0, 50)) await timedRollback(db, (tx) => runs.before(tx, q)); // warm-up
    for (const [n, q] of qs.entries()) {
      for (const which of n % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
        const { ms, cpuMs } = await timedRollback(db, (tx) => runs[which](tx, q));
        cpu[which].push(cpuMs);
        wall[which].push(ms);
      }
    }
    ab = {
      before: percentiles(cpu.before),
      after: percentiles(cpu.after),
      beforeMs: percentiles(wall.before),
      afterMs: percentiles(wall.after),
    };
    process.stdout.write(`match A/B (CPU ms, Node + backend): ${JSON.stringify(ab)}\n`);
  }
  const perKind = (k: Kind): string => `${linkedByKind[k]} / ${byKind[k].length}`;
  return {
    ...(ab ? { ab } : {}),
    decide: percentiles(all),
    sql: percentiles(sqlTimes),
    queriesPerMatch: queries / qs.length,
    byKind: { nhs: percentiles(byKind.nhs), typo: percentiles(byKind.typo), new: percentiles(byKind.new) },
    assign: percentiles(assign),
    decideCpu: percentiles(decideCpu),
    assignCpu: percentiles(assignCpu),
    outcomes,
    correct: { nhs: perKind('nhs'), typo: perKind('typo'), new: perKind('new') },
    load,
  };
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the candidate query the write path runs for a set of incoming records (one
 * statement for the whole set, after the too-common keys are left out); the access paths used.
 */
async function explainCandidates(
  db: Db,
  set: readonly Incoming[],
): Promise<{ plan: string; scans: string[]; ms: number }> {
  let captured: { text: string; values: readonly SqlValue[] } | undefined;
  const capture: Queryable = {
    query: (text, values) => {
      captured = { text, values: values ?? [] };
      return db.query(text, values);
    },
    exec: (text) => db.exec(text),
  };
  const requests = set.map((q) => ({ patientId: q.patient.id, keys: engine.blockingKeys(engine.record(q.patient)) }));
  await readCandidates(capture, {
    requests,
    alsoCheck: [],
    limit: engine.candidateLimit,
    maxPerKey: engine.maxBlockSize,
    persons: [],
    decisionsFor: requests.map((r) => r.patientId),
  });
  if (!captured) throw new Error('no candidate query');
  const res = await db.query<Record<string, string>>(`explain (analyze, buffers) ${captured.text}`, [
    ...captured.values,
  ]);
  const plan = res.rows.map((r) => Object.values(r)[0]).join('\n');
  const scans = [
    ...new Set(
      [
        ...plan.matchAll(
          /(Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan|Bitmap Index Scan)( using \w+)? on (\w+)/g,
        ),
      ].map((m) => `${m[1]}${m[2] ?? ''} on ${m[3]}`),
    ),
  ];
  const ms = Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? NaN);
  return { plan, scans, ms };
}

// ---------------------------------------------------------------------------------------------------------
// 3. Linking throughput through the real write path

/** The bulk link's in-memory index, as built for each size (`--bulk-link`, `--bulk-link-write`). */
const bulkIndexInfo: Array<{
  persons: number;
  links: number;
  keys: number;
  seconds: number;
  nodeCpu: number;
  rssMiB: number;
  heapMiB: number;
}> = [];

interface BulkStats {
  /** What was timed: the whole write path (`putMany`) or the MPI's `assignPatients` alone (`before`/`after`). */
  path: 'write path' | 'MPI before' | 'MPI after' | 'MPI alone' | 'MPI bulk link' | 'write path, bulk link';
  records: number;
  set: number;
  inFlight: number;
  seconds: number;
  /** CPU seconds of this process and of the PostgreSQL backends of its connections. */
  nodeCpu: number;
  backendCpu: number;
  kinds: Record<string, number>;
}

/**
 * `db` whose transactions add the CPU time of the PostgreSQL backend that ran them to `acc.ns` (the pool
 * opens and closes connections, so each transaction reads its own backend's counter at its start and end).
 */
function backendTimed(db: Db, acc: { ns: number }): Db {
  return {
    kind: db.kind,
    inTransaction: db.inTransaction,
    query: (text, values, options) => db.query(text, values, options),
    exec: (text) => db.exec(text),
    transaction: (fn) =>
      db.transaction(async (tx) => {
        const pid = await backendPid(tx);
        const b = backendCpuNs(pid);
        try {
          return await fn(tx);
        } finally {
          acc.ns += backendCpuNs(pid) - b;
        }
      }),
    close: () => db.close(),
  };
}

type AssignFn = typeof assignPatients;

/**
 * Links `qs` in sets of `set`, `inFlight` sets at once, each set its own committed transaction: through the
 * records service (`prepareMany` then `writeMany`, as `icr import` does) or, given `assign`, through that
 * `assignPatients` alone (the MPI's share of the write path).
 */
async function linkAll(
  db: Db,
  qs: readonly Incoming[],
  opts: {
    set: number;
    inFlight: number;
    assign?: AssignFn;
    label: string;
    /** The write path's MPI context (a bulk link's), and what to tell it when a set has committed. */
    mpiContext?: MpiContext;
    committed?: () => void;
  },
): Promise<{ seconds: number; nodeCpu: number; backendCpu: number }> {
  const backend = { ns: 0 };
  const timed = backendTimed(db, backend);
  const bulkCtx = opts.mpiContext;
  const { records } = createServices(timed, bulkCtx ? { mpiContext: () => bulkCtx } : {});
  const c0 = process.cpuUsage();
  const start = performance.now();
  const inFlight: Array<Promise<void>> = [];
  let done = 0;
  for (let i = 0; i < qs.length; i += opts.set) {
    const set = qs.slice(i, i + opts.set);
    let write: Promise<void>;
    if (opts.assign) {
      const assign = opts.assign;
      while (inFlight.length >= opts.inFlight) await inFlight.shift();
      write = timed
        .transaction(async (tx) => {
          await assign(
            tx,
            ctx,
            set.map((q) => q.patient),
            BY,
          );
        })
        .then(() => opts.committed?.());
    } else {
      const prepared = await records.prepareMany(
        SYSTEM_ACTOR,
        set.map((q) => ({ resource: q.patient })),
      );
      while (inFlight.length >= opts.inFlight) await inFlight.shift();
      write = records.writeMany(SYSTEM_ACTOR, prepared).then((res) => {
        opts.committed?.();
        const failed = res.find((r) => 'error' in r);
        if (failed && 'error' in failed) throw failed.error;
      });
    }
    write.catch(() => undefined); // awaited below; this only stops an early rejection being unhandled
    inFlight.push(
      write.then(() => {
        done += set.length;
        const s = (performance.now() - start) / 1000;
        process.stderr.write(
          `\r[${opts.label}] ${done.toLocaleString('en-GB')} / ${qs.length.toLocaleString('en-GB')}, ${Math.round(done / s)} records/s   `,
        );
      }),
    );
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - start) / 1000;
  const cu = process.cpuUsage(c0);
  const backendCpu = backend.ns / 1e9;
  process.stderr.write('\n');
  return { seconds, nodeCpu: (cu.user + cu.system) / 1e6, backendCpu };
}

async function bulkLink(db: Db, pop: Population, size: number, label: string): Promise<BulkStats[]> {
  // In a kept schema, the records of earlier runs are there: this run's ids are new.
  const runTag = args.schema ? Math.floor(Date.now() / 1000) % 0xfffff : 0;
  const batchOf = (k: number, n: number) =>
    incoming(pop, n, 1_000 + size + runTag + k, 0xc0000000 + Math.floor(size / 1000) + runTag * 0x400 + k * 0x40000);
  const out: BulkStats[] = [];
  const kindsOf = async (qs: readonly Incoming[]) => {
    const kinds = await db.query<{ kind: string; n: number }>(
      'select kind, count(*)::int as n from person_link where patient_id = any($1::text[]) group by kind',
      [qs.map((q) => q.patient.id)],
    );
    return Object.fromEntries(kinds.rows.map((r) => [r.kind, Number(r.n)]));
  };
  const sqlAcc = new Map<string, { ms: number; n: number }>();
  const profiled = args['sql-profile'] ? profiledDb(db, sqlAcc) : db;
  // The MPI alone, the code before against this code, alternating rounds on fresh records of the same mix.
  if (before) {
    const paths = [
      ['MPI before', before],
      ['MPI after', assignPatients],
    ] as const;
    const acc = new Map<string, BulkStats>();
    for (let round = 0; round < abRounds; round++) {
      for (const [k, [name, fn]] of paths.entries()) {
        const qs = batchOf(2 * round + k + 1, abRecords);
        const r = await linkAll(profiled, qs, {
          set: bulkSet,
          inFlight: bulkInFlight,
          assign: fn,
          label: `${label} ${name} round ${round + 1}`,
        });
        const kinds = await kindsOf(qs);
        const a = acc.get(name) ?? {
          path: name,
          records: 0,
          set: bulkSet,
          inFlight: bulkInFlight,
          seconds: 0,
          nodeCpu: 0,
          backendCpu: 0,
          kinds: {},
        };
        a.records += qs.length;
        a.seconds += r.seconds;
        a.nodeCpu += r.nodeCpu;
        a.backendCpu += r.backendCpu;
        for (const [kind, n] of Object.entries(kinds)) a.kinds[kind] = (a.kinds[kind] ?? 0) + n;
        acc.set(name, a);
      }
    }
    out.push(...acc.values());
  }
  if (mpiAloneCount > 0) {
    const qs = batchOf(0x10, mpiAloneCount);
    const r = await linkAll(profiled, qs, {
      set: bulkSet,
      inFlight: bulkInFlight,
      assign: assignPatients,
      label: `${label} MPI alone`,
    });
    out.push({
      path: 'MPI alone',
      records: qs.length,
      set: bulkSet,
      inFlight: bulkInFlight,
      ...r,
      kinds: await kindsOf(qs),
    });
  }
  if (bulkLinkCount > 0 || bulkLinkWriteCount > 0) {
    const c0 = process.cpuUsage();
    await withBulkLink(db, ctx, async (linker) => {
      const cu = process.cpuUsage(c0);
      const mem = process.memoryUsage();
      bulkIndexInfo.push({
        persons: size,
        links: linker.stats.links,
        keys: linker.stats.keys,
        seconds: linker.stats.buildSeconds,
        nodeCpu: (cu.user + cu.system) / 1e6,
        rssMiB: mem.rss / 2 ** 20,
        heapMiB: mem.heapUsed / 2 ** 20,
      });
      process.stderr.write(`[${label}] bulk link index: ${JSON.stringify(bulkIndexInfo.at(-1))}\n`);
      if (bulkLinkCount > 0) {
        const qs = batchOf(0x11, bulkLinkCount);
        const r = await linkAll(profiled, qs, {
          set: bulkLinkSet,
          inFlight: 1,
          assign: (tx, _ctx, patients, by) => assignPatients(tx, linker.ctx, patients, by),
          committed: () => linker.committed(),
          label: `${label} MPI bulk link`,
        });
        out.push({
          path: 'MPI bulk link',
          records: qs.length,
          set: bulkLinkSet,
          inFlight: 1,
          ...r,
          kinds: await kindsOf(qs),
        });
      }
      if (bulkLinkWriteCount > 0) {
        const qs = batchOf(0x12, bulkLinkWriteCount);
        const r = await linkAll(profiled, qs, {
          set: bulkLinkSet,
          inFlight: 1,
          mpiContext: linker.ctx,
          committed: () => linker.committed(),
          label: `${label} write path, bulk link`,
        });
        out.push({
          path: 'write path, bulk link',
          records: qs.length,
          set: bulkLinkSet,
          inFlight: 1,
          ...r,
          kinds: await kindsOf(qs),
        });
      }
    });
  }
  if (bulkCount > 0) {
    const qs = batchOf(0, bulkCount);
    const r = await linkAll(profiled, qs, {
      set: bulkSet,
      inFlight: bulkInFlight,
      label: `${label} write path`,
    });
    out.push({
      path: 'write path',
      records: qs.length,
      set: bulkSet,
      inFlight: bulkInFlight,
      ...r,
      kinds: await kindsOf(qs),
    });
  }
  for (const [text, a] of [...sqlAcc].sort((x, y) => y[1].ms - x[1].ms).slice(0, 25))
    process.stderr.write(`  ${(a.ms / 1000).toFixed(2).padStart(7)} s ${String(a.n).padStart(6)}× ${text}\n`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Runs

interface Row {
  target: 'postgres' | 'pglite';
  persons: number;
  load: LoadStats;
  totalLoadSeconds: number;
  match: MatchStats;
  explain: { scans: string[]; ms: number };
  bulk: BulkStats[];
}

async function run(target: Row['target'], db: Db, sizes: readonly number[]): Promise<Row[]> {
  await migrate(db);
  const pop = new Population();
  const rows: Row[] = [];
  let totalLoadSeconds = 0;
  for (const size of sizes) {
    const have = Number((await db.query<{ n: number }>('select count(*)::int as n from person')).rows[0]?.n ?? 0);
    // A kept schema: the persons loaded by an earlier run are there (drawn again, not written).
    const loaded = Number(
      (
        await db.query<{ n: number }>(
          "select count(*)::int as n from person_link where patient_id like 'a0000000-%' and patient_id = person_id",
        )
      ).rows[0]?.n ?? 0,
    );
    if (loaded > pop.next) pop.skip(Math.min(loaded, size) - pop.next);
    const load =
      have >= size
        ? { persons: 0, rows: 0, seconds: 0, indexSeconds: 0, vacuumSeconds: 0 }
        : await loadPersons(db, pop, pop.next + (size - have), `${target} ${size}`);
    totalLoadSeconds += load.seconds;
    const qs = incoming(pop, queryCount, 42 + size, 0xb0000000);
    const ex = await explainCandidates(db, qs.slice(0, bulkSet));
    process.stdout.write(`\n[${target} ${size}] candidate query plan (a set of ${bulkSet}):\n${ex.plan}\n\n`);
    process.stderr.write(`[${target} ${size}] timing ${qs.length} matches (decide, then assignPatients)…\n`);
    const match = await matchTimes(db, qs);
    const row: Row = {
      target,
      persons: size,
      load,
      totalLoadSeconds,
      match,
      explain: { scans: ex.scans, ms: ex.ms },
      bulk: [],
    };
    process.stdout.write(`${JSON.stringify({ ...row, bulk: undefined })}\n`);
    if (bulkCount > 0 || before || mpiAloneCount > 0 || bulkLinkCount > 0 || bulkLinkWriteCount > 0) {
      row.bulk = await bulkLink(db, pop, size, `${target} ${size}`);
      process.stdout.write(`${JSON.stringify({ target, persons: size, bulk: row.bulk })}\n`);
    }
    rows.push(row);
  }
  return rows;
}

async function onPostgres(url: string, sizes: readonly number[]): Promise<Row[]> {
  const schema = args.schema ?? `bench_mpi_${randomBytes(5).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`--schema: not a plain schema name: ${schema}`);
  const admin = await openPostgres({ connectionString: url, max: 1 });
  await admin.exec(`create schema if not exists ${schema}`);
  const db = await openPostgres({ connectionString: url, schema, max: poolSize });
  try {
    return await run('postgres', db, sizes);
  } finally {
    await db.close();
    if (!args.schema) await admin.exec(`drop schema ${schema} cascade`);
    await admin.close();
  }
}

async function onPglite(sizes: readonly number[]): Promise<Row[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'icr-bench-mpi-'));
  const db = await openPglite(dir);
  try {
    return await run('pglite', db, sizes);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// README

const ms = (x: number): string => x.toFixed(1);
const int = (x: number): string => Math.round(x).toLocaleString('en-GB');

function section(rows: readonly Row[], machineLine: string, pgVersion: string | undefined): string {
  const out = [
    SECTION,
    '',
    `Run with \`npm run bench:mpi-db\` (bench/mpi-db.ts). Machine: ${machineLine}.${pgVersion ? ` ${pgVersion}.` : ''}`,
    '',
    "**These are the figures of the product's write path.** When a source Patient is written, the MPI person",
    'resolver runs `assignPatients` (src/records/mpi/assign.ts) inside the write transaction for all the Patients',
    'of the set at once: `decideSet` reads, for the whole set, the holders of its source identifiers and verified',
    'NHS numbers, its too-common blocking keys, the candidates of every record (one query on `person_block`',
    "and `person_link`, `readCandidates`; too-common keys by the kept counts of `person_block_count`), the manual decisions and the candidate persons' NHS numbers, then",
    'decides record by record in memory (earlier records of the set are candidates for later ones) and scores',
    'by Fellegi–Sunter; persons, links, keys, events, reviews and golden records are then written with one',
    'statement each for the set. The in-memory figures under "MPI matching" above are the matching core alone,',
    'without the database.',
    '',
    'Set-up: N synthetic persons (src/mpi/synthetic.ts, seeded; half carry an NHS number, 80 % of those',
    "verified) are loaded straight into the MPI tables in set statements of 10,000 persons — the rows the product's",
    'own functions make for a source Patient that founds a person: `person` (golden demographics),',
    '`person_link` (normalised match record), `person_identifier`, `person_block` (about 8 blocking keys per',
    'record) and the `create` event — then `VACUUM ANALYZE` (as autovacuum would). The Patient resources',
    'themselves are not loaded (matching never reads them). The product keeps no term-frequency tables.',
    '',
    'The load drops the secondary indexes of those tables (and the primary keys no foreign key refers to),',
    'keeps two batches in flight, and builds the indexes again from their catalogue definitions afterwards. With',
    'the indexes in place (measured 2026-12-02 while building this bench) it ran at 2,200–2,700 persons/s at',
    '20,000–50,000 persons, i.e. 6–8 minutes for 1,000,000 even before the indexes outgrow memory: each of the',
    'about 8 blocking-key rows per person is an insertion at a random place in two b-trees. A sorted index build',
    'is much cheaper. The larger size continues from the smaller one (whose bulk-linking records stay), so each',
    'row counts the persons added for it; "seconds" includes building the indexes.',
    '',
    '### Loading',
    '',
    '| database | persons added (to) | rows written | seconds | of which indexes | rows/s | persons/s | vacuum analyze |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) =>
      r.load.persons === 0
        ? `| ${r.target} | 0 (${int(r.persons)}): a kept schema (\`--schema\`), loaded by an earlier run | | | | | | |`
        : `| ${r.target} | ${int(r.load.persons)} (${int(r.persons)}) | ${int(r.load.rows)} | ${r.load.seconds.toFixed(0)} | ${r.load.indexSeconds.toFixed(0)} | ${int(r.load.rows / r.load.seconds)} | ${int(r.load.persons / r.load.seconds)} | ${r.load.vacuumSeconds.toFixed(0)} s |`,
    ),
    '',
    '### Matching one incoming record',
    '',
    `${int(queryCount)} incoming source Patients from a second source, one at a time, each in a transaction that is`,
    'rolled back (so the data stays as loaded): a third duplicates carrying a verified NHS number, a third',
    'duplicates with a typo in a name and no NHS number, a third new people without an NHS number. "match" is',
    '`decide` (FHIR Patient → match record, then source identifier → verified NHS number → candidate query →',
    'scoring → decision); "whole assignment" is `assignPatients` for the one Patient, which also takes the',
    'advisory locks and writes the link, the keys, the new person, the golden record and the event. Wall-clock',
    'milliseconds, Node and the database on the same 2 cores. "of which SQL" is the time `decide` spent awaiting',
    'its statements (round trips and result parsing; their number per match in brackets); the rest is',
    'normalisation, screening and Fellegi–Sunter scoring of up to 100 candidates in JavaScript.',
    '',
    '| database | persons | match p50 | p95 | p99 | max | match CPU p50 / p95 | of which SQL p50 / p95 (statements) | NHS dup. p95 | typo dup. p95 | new p95 | whole assignment p50 / p95 / p99 | assignment CPU p50 / p95 | link / review / new | linked: NHS dup. · typo dup. · new | load avg |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|',
    ...rows.map((r) => {
      const m = r.match;
      return `| ${r.target} | ${int(r.persons)} | ${ms(m.decide.p50)} | ${ms(m.decide.p95)} | ${ms(m.decide.p99)} | ${ms(m.decide.max)} | ${ms(m.decideCpu.p50)} / ${ms(m.decideCpu.p95)} | ${ms(m.sql.p50)} / ${ms(m.sql.p95)} (${m.queriesPerMatch.toFixed(1)}) | ${ms(m.byKind.nhs.p95)} | ${ms(m.byKind.typo.p95)} | ${ms(m.byKind.new.p95)} | ${ms(m.assign.p50)} / ${ms(m.assign.p95)} / ${ms(m.assign.p99)} | ${ms(m.assignCpu.p50)} / ${ms(m.assignCpu.p95)} | ${m.outcomes.link} / ${m.outcomes.review} / ${m.outcomes.new} | ${m.correct.nhs} · ${m.correct.typo} · ${m.correct.new} | ${m.load.toFixed(1)} |`;
    }),
    '',
    ...rows.flatMap((r) =>
      r.match.ab
        ? [
            `Match, the earlier code (\`--before\`) against this one on the same ${int(queryCount)} queries, alternating which runs first (${r.target}, ${int(r.persons)} persons): CPU (Node + backend) p50 / p95 ${ms(r.match.ab.before.p50)} / ${ms(r.match.ab.before.p95)} ms before, ${ms(r.match.ab.after.p50)} / ${ms(r.match.ab.after.p95)} ms after; wall clock ${ms(r.match.ab.beforeMs.p50)} / ${ms(r.match.ab.beforeMs.p95)} ms before, ${ms(r.match.ab.afterMs.p50)} / ${ms(r.match.ab.afterMs.p95)} ms after.`,
            '',
          ]
        : [],
    ),
    `The candidate statement (\`readCandidates\`: too-common keys, candidates, their persons' NHS numbers, decisions) for a set of ${bulkSet} incoming records (EXPLAIN (ANALYZE, BUFFERS); the whole plan is printed by the bench):`,
    '',
    ...rows.map(
      (r) =>
        `- ${r.target}, ${int(r.persons)} persons: ${ms(r.explain.ms)} ms; ${r.explain.scans.map((s) => `\`${s}\``).join(', ')}.`,
    ),
    '',
    "Every access path to the MPI's large tables is an index (the sequential scan reads `mpi_decision`, empty here).",
    'The plan is for a set; the SQL time in the table above (one record) grows with N because blocks grow: more',
    'candidates (up to 100) are read from `person_link`, screened and scored.',
    '',
    '### Linking throughput during a bulk load',
    '',
    'New source Patients (the same three kinds), on top of the N persons, in sets, several sets in flight (each',
    'set one committed transaction on a connection of its own). "write path": through the records service as',
    '`icr import` writes (`prepareMany` — validation, hash, search-index rows — then `writeMany`: the versioned',
    'store, the search index, the MPI person resolver, audit). "MPI before" / "MPI after": `assignPatients`',
    "alone (the MPI's share of the write path), the code before this change (`--before`, an older",
    '`src/records/mpi/assign.ts`) against this code, in alternating rounds on fresh records of the same mix.',
    '"CPU s" is the CPU time of the bench process and of the PostgreSQL backends of its connections; "per',
    'CPU-second" divides the records by it: on a machine of its own with two cores the rate can approach',
    'twice that, whatever else shares this one.',
    '',
    '| database | persons before | path | set × in flight | records | seconds | records/s | CPU s (Node + backends) | records per CPU-second | links made (deterministic / probabilistic / new) |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---|',
    ...rows.flatMap((r) =>
      r.bulk.map(
        (b) =>
          `| ${r.target} | ${int(r.persons)} | ${b.path} | ${b.set} × ${b.inFlight} | ${int(b.records)} | ${b.seconds.toFixed(1)} | ${int(b.records / b.seconds)} | ${(b.nodeCpu + b.backendCpu).toFixed(1)} (${b.nodeCpu.toFixed(1)} + ${b.backendCpu.toFixed(1)}) | ${int(b.records / (b.nodeCpu + b.backendCpu))} | ${b.kinds.deterministic ?? 0} / ${b.kinds.probabilistic ?? 0} / ${b.kinds.new ?? 0} |`,
      ),
    ),
    '',
    ...bulkIndexInfo.map(
      (b) =>
        `Bulk link index at ${int(b.persons)} persons (ADR 0054): ${int(b.links)} links and ${int(b.keys)} blocking-key rows read in ${b.seconds.toFixed(1)} s (Node CPU ${b.nodeCpu.toFixed(1)} s); RSS after it was built ${int(b.rssMiB)} MiB (JavaScript heap ${int(b.heapMiB)} MiB).`,
    ),
    '',
    `Peak RSS of the bench process: ${int(process.resourceUsage().maxRSS / 1024)} MiB.`,
    '',
  ];
  return out.join('\n');
}

const machineLine = machine();
const rows: Row[] = [];
let pgVersion: string | undefined;
if (args.only !== 'pglite') {
  const url = process.env.ICR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const v = await openPostgres({ connectionString: url, max: 1 });
  pgVersion = /^PostgreSQL [\d.]+/.exec(
    (await v.query<{ version: string }>('select version()')).rows[0]?.version ?? '',
  )?.[0];
  await v.close();
  rows.push(...(await onPostgres(url, sizesOf(args.sizes))));
}
if (args.only !== 'postgres' && sizesOf(args['pglite-sizes']).length > 0) {
  rows.push(...(await onPglite(sizesOf(args['pglite-sizes']))));
}
const text = section(rows, machineLine, pgVersion);
process.stdout.write(`\n${text}\n`);
if (!args['no-write']) await writeSection(README, SECTION, text);

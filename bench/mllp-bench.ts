/**
 * `npm run bench:mllp`: HL7 v2 over real TCP sockets into the MLLP listener, on PGlite (in memory) and
 * PostgreSQL (`ICR_BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test, fresh schema).
 *
 * 1. Sustained ACKed messages/s over 1 and 8 connections (every ACK follows the commit of the raw message
 *    and its job to the inbox), the queue worker not running, with two kinds of sender: one that waits for
 *    each ACK before sending the next message (MLLP "original mode"), and one that keeps up to `--window`
 *    messages unacknowledged per connection (ACKs still come back in order, one per message).
 * 2. Receipt-to-visible latency at a steady rate (`--rate`, default 200 messages/s over 4 connections) with
 *    the server (listener, intake, queue worker, validation pool: bench/mllp-server.ts) in a child process,
 *    the senders here, as another system would be: from the moment a message is written to the socket until
 *    the server has committed it as processed (it tells each commit's control ids on a pipe), p50/p95/max,
 *    with the ACK round trips meanwhile and the server's CPU per message. `--latency-ab`: alternated with
 *    rounds applied in one go (no round budget), twice each, on PGlite; `--budget <ms>`: the budget to try.
 *
 * 3. Applying a backlog (`--apply-messages`, default 1,000 ACKed messages about new people, queue worker
 *    draining them): one transaction and set write per round (ADR 0047) against one transaction per message
 *    (eight side by side, as before), alternated A/B/A/B in one run; messages/s, and CPU milliseconds per
 *    message of this process (Node, and PGlite when embedded) and of the PostgreSQL backends.
 *
 * Options: `--seconds <n>` (throughput rows, default 5), `--latency-seconds <n>` (default 10), `--window <n>`
 * (default 32), `--apply-messages <n>`, `--only pglite|postgres`, `--latency-only`, `--apply-only`,
 * `--latency-ab`, `--budget <ms>`, `--prof <dir>` (the latency part's server runs with --cpu-prof), `--no-write`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { machine, writeSection } from './report.ts';
import { createServices } from '../src/compose.ts';
import { hl7v2BatchHandler, hl7v2JobHandler } from '../src/ingest/jobs/hl7v2-job.ts';
import { frame, MllpDecoder } from '../src/ingest/mllp/framing.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { startMllpListener } from '../src/ingest/mllp/listener.ts';
import { Worker } from '../src/queue/worker.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import type { Db } from '../src/store/db.ts';
import { HL7_QUEUE } from '../src/store/feed-store.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { openPglite } from '../src/store/pglite-db.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) || dflt : dflt);
const seconds = opt('--seconds', 5);
const latencySeconds = opt('--latency-seconds', 10);
const window = opt('--window', 32);
const rate = opt('--rate', 200);
const applyMessages = opt('--apply-messages', 1000);
/** Names this run's PostgreSQL connections, to find their backends' CPU time. */
const appName = `mllp-bench-${randomBytes(3).toString('hex')}`;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const write = !args.includes('--no-write');
const pgUrl = process.env.ICR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const SURNAMES = ['SMITH', 'JONES', 'TAYLOR', 'BROWN', 'WILLIAMS', 'WILSON', 'JOHNSON', 'DAVIES', 'PATEL', 'WRIGHT'];
const GIVEN = ['ANNA', 'JAMES', 'OLIVIA', 'MOHAMMED', 'EMILY', 'GEORGE', 'AMELIA', 'HARRY', 'ISLA', 'NOAH'];

/** An ADT^A08 about one of 500 people per connection (varied names and birth dates, as a PAS sends). */
const message = (tag: string, conn: number, n: number) => {
  const k = n % 500;
  const person = `${tag}${conn}x${k}`;
  const dob = `${1930 + ((k * 7 + conn) % 90)}${String(1 + (k % 12)).padStart(2, '0')}${String(1 + ((k * 3) % 28)).padStart(2, '0')}`;
  return [
    `MSH|^~\\&|PAS|RX1|ICR|ICR|20260101120000||ADT^A08^ADT_A01|${tag}${conn}-${n}|P|2.4`,
    'EVN|A08|20260101120000',
    `PID|1||${person}^^^RX1^MR||${SURNAMES[k % 10] ?? ''}^${GIVEN[Math.floor(k / 10) % 10] ?? ''}||${dob}|${k % 2 ? 'F' : 'M'}|||${k} High St^^Exeter^^EX${conn} ${k % 9}AA`,
    `PV1|1|I|WARD1^BED1||||||||||||||||V${person}|||||||||||||||||||||||||20260101100000`,
  ].join('\r');
};

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

interface Connection {
  socket: net.Socket;
  /** Resolves with the next ACK's arrival (in order). */
  nextAck(): Promise<string>;
}

async function connect(port: number): Promise<Connection> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const decoder = new MllpDecoder(1 << 20);
  const acks: string[] = [];
  let waiter: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    for (const ev of decoder.push(chunk)) if (ev.kind === 'message') acks.push(ev.bytes.toString('utf8'));
    waiter?.();
  });
  return {
    socket,
    async nextAck() {
      while (acks.length === 0) await new Promise<void>((r) => (waiter = r));
      const ack = acks.shift() ?? '';
      if (!ack.includes('|AA|')) throw new Error(`not AA: ${ack.replaceAll('\r', ' / ')}`);
      return ack;
    },
  };
}

/** Sends until `until`, at most `inFlight` unacknowledged; returns ACK round-trip times (ms). */
async function sender(port: number, tag: string, conn: number, until: number, inFlight: number): Promise<number[]> {
  const c = await connect(port);
  const sent: number[] = [];
  const ms: number[] = [];
  let n = 0;
  const pump = () => {
    while (sent.length < inFlight && Date.now() < until) {
      sent.push(performance.now());
      c.socket.write(frame(message(tag, conn, n)));
      n += 1;
    }
  };
  pump();
  while (sent.length > 0) {
    await c.nextAck();
    ms.push(performance.now() - (sent.shift() ?? 0));
    pump();
  }
  c.socket.destroy();
  return ms;
}

async function setup(db: Db) {
  await migrate(db);
  const services = createServices(db, {});
  const feeds = services.feeds;
  await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Bench', kind: 'acute' });
  await feeds.addFeed(SYSTEM_ACTOR, { id: 'bench', org: 'RX1', protocol: 'mllp', sendingFacility: 'RX1' });
  await feeds.approve(SYSTEM_ACTOR, 'bench', 'bench');
  return services;
}

async function throughput(db: Db, label: string, services: Awaited<ReturnType<typeof setup>>): Promise<string[]> {
  const intake = new Hl7Intake(services.feeds);
  const listener = await startMllpListener(intake, { host: '127.0.0.1', port: 0 });
  const lines: string[] = [];
  try {
    for (const [mode, inFlight] of [
      ['waits for each ACK', 1],
      [`window ${window}`, window],
    ] as const) {
      for (const conns of [1, 8]) {
        const commits0 = intake.commits;
        const tag = `T${lines.length}c`;
        const until = Date.now() + seconds * 1000;
        const pg0 = await backendsCpu(db);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const results = await Promise.all(
          Array.from({ length: conns }, (_, c) => sender(listener.port, tag, c, until, inFlight)),
        );
        const elapsed = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const pgMs = pgCpuMs(pg0, await backendsCpu(db));
        const all = results.flat().sort((a, b) => a - b);
        const commits = intake.commits - commits0;
        const perMsg = (ms: number) => (ms / Math.max(1, all.length)).toFixed(3);
        lines.push(
          `| ${label} | ${conns} | ${mode} | ${Math.round(all.length / elapsed)} | ${pct(all, 0.5).toFixed(1)} | ${pct(all, 0.95).toFixed(1)} | ${(all.length / Math.max(1, commits)).toFixed(1)} | ${perMsg((cpu.user + cpu.system) / 1000)} | ${db.kind === 'postgres' ? perMsg(pgMs) : '–'} |`,
        );
        console.log(lines[lines.length - 1]);
      }
    }
    // What the throughput rows left in the queue is not part of the latency run.
    await db.query(`update job set status = 'done' where queue = $1 and status = 'pending'`, [HL7_QUEUE]);
    await db.query(`update feed_message set status = 'processed' where status = 'received'`);
    await db.exec('analyze');
  } finally {
    await listener.close();
  }
  return lines;
}

/** CPU seconds (user + system, all threads) of a process, from /proc; 0 when it is gone or unreadable. */
function processCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ
  } catch {
    return 0;
  }
}

/**
 * Receipt-to-visible with the server in a child process (bench/mllp-server.ts: listener, intake and queue
 * worker as the server composes them), the senders here: the server's thread is its own, as when the sender
 * is another system. The child tells each commit's applied control ids on stdout; a message is visible when
 * that line is read here. ACK round trips are measured meanwhile (the worker applying at the same time).
 */
async function latency(kind: 'pglite' | 'postgres', label: string, budget?: string): Promise<string> {
  let schema: string | undefined;
  let admin: Db | undefined;
  if (kind === 'postgres') {
    schema = `bench_${randomBytes(4).toString('hex')}`;
    admin = await openPostgres({ connectionString: pgUrl, max: 1 });
    await admin.exec(`create schema ${schema}`);
  }
  const prof = args.includes('--prof') ? args[args.indexOf('--prof') + 1] : undefined;
  const profArgs = prof
    ? [
        '--cpu-prof',
        '--cpu-prof-dir',
        prof,
        '--cpu-prof-name',
        `${kind}-${budget ?? 'server'}-${Date.now()}.cpuprofile`,
      ]
    : [];
  const child = spawn(process.execPath, [...profArgs, new URL('./mllp-server.ts', import.meta.url).pathname], {
    env: {
      ...process.env,
      BENCH_DB: kind,
      BENCH_PG_URL: pgUrl,
      ...(schema ? { BENCH_SCHEMA: schema } : {}),
      ...(budget ? { BENCH_ROUND_BUDGET_MS: budget } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const seenAt = new Map<string, number>();
  const lines = createInterface({ input: child.stdout });
  const info = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
    lines.once('line', (l) => resolve(JSON.parse(l) as { port: number; pid: number }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  lines.on('line', (l) => {
    const now = performance.now();
    for (const id of (JSON.parse(l) as { v: string[] }).v) seenAt.set(id, now);
  });
  const conns = 4;
  const perConn = rate / conns;
  const sentAt = new Map<string, number>();
  const ackMs: number[] = [];
  const cpu0 = processCpu(info.pid);
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: conns }, async (_, c) => {
        const conn = await connect(info.port);
        let acked = Promise.resolve();
        for (let n = 0; n < perConn * latencySeconds; n += 1) {
          const due = t0 + (n / perConn) * 1000 + (c * 1000) / rate;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const at = performance.now();
          sentAt.set(`L${c}-${n}`, at);
          conn.socket.write(frame(message('L', c, n)));
          acked = acked.then(async () => {
            await conn.nextAck();
            ackMs.push(performance.now() - at);
          });
        }
        await acked;
        conn.socket.destroy();
      }),
    );
    const sendSeconds = (performance.now() - t0) / 1000;
    const deadline = performance.now() + 30_000;
    while (seenAt.size < sentAt.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const cpu = processCpu(info.pid) - cpu0;
    const ms = [...sentAt].map(([id, t]) => (seenAt.get(id) ?? Infinity) - t).sort((a, b) => a - b);
    const acks = ackMs.sort((a, b) => a - b);
    const unseen = ms.filter((m) => m === Infinity).length;
    const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'not applied in time');
    const line = `| ${label} | ${Math.round(sentAt.size / sendSeconds)} | ${sentAt.size} | ${fmt(pct(ms, 0.5))} | ${fmt(pct(ms, 0.95))} | ${(ms[ms.length - 1 - unseen] ?? 0).toFixed(0)} | ${unseen} | ${pct(acks, 0.5).toFixed(1)} | ${pct(acks, 0.95).toFixed(1)} | ${((cpu * 1000) / sentAt.size).toFixed(2)} |`;
    console.log(line);
    return line;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    if (admin && schema) {
      await admin.exec(`drop schema ${schema} cascade`);
      await admin.close();
    }
  }
}

/**
 * The receipt-to-visible rows: the server as it runs; with `--latency-ab`, alternated with rounds applied in
 * one go (no time budget, as before ADR 0053), twice each (PGlite only, unless `--budget` is given: the
 * server sets no budget on PostgreSQL); `--budget <ms>` sets the budget tried instead of the server's own.
 */
async function latencyRows(kind: 'pglite' | 'postgres', label: string): Promise<string[]> {
  const budget = args.includes('--budget') ? args[args.indexOf('--budget') + 1] : undefined;
  const own = budget ? `${label}, slices ≤ ${budget} ms` : label;
  // On PostgreSQL the server sets no round budget: both sides of the A/B would be the same server.
  if (!args.includes('--latency-ab') || (kind === 'postgres' && !budget)) return [await latency(kind, own, budget)];
  const out: string[] = [];
  for (let n = 0; n < 2; n++) {
    out.push(await latency(kind, `${label}, rounds in one go`, 'none'));
    out.push(await latency(kind, budget ? own : `${label}, as the server runs`, budget));
  }
  return out;
}

/** CPU time the PostgreSQL backends of this run have used so far (ns, by pid; empty on PGlite). */
async function backendsCpu(db: Db): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (db.kind !== 'postgres') return out;
  const r = await db.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [appName]);
  for (const { pid } of r.rows) {
    try {
      out.set(pid, Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0] ?? 0));
    } catch {
      // a backend that ended meanwhile (or a server on another machine): not counted
    }
  }
  return out;
}

/** PostgreSQL backend CPU milliseconds between two `backendsCpu` readings. */
function pgCpuMs(before: Map<number, number>, after: Map<number, number>): number {
  let ns = 0;
  for (const [pid, v] of after) ns += v - (before.get(pid) ?? 0);
  return ns / 1e6;
}

/** Fills the inbox with `n` ACKed messages about new people (8 connections, window 32); worker not running. */
async function fillInbox(port: number, tag: string, n: number): Promise<void> {
  const per = Math.ceil(n / 8);
  await Promise.all(
    Array.from({ length: 8 }, async (_, c) => {
      const conn = await connect(port);
      let acked = Promise.resolve('');
      for (let i = 0; i < per; i += 1) {
        conn.socket.write(frame(message(tag, c, i)));
        acked = acked.then(() => conn.nextAck());
        if (i % 32 === 31) await acked;
      }
      await acked;
      conn.socket.destroy();
    }),
  );
}

async function applyBacklog(db: Db, label: string, services: Awaited<ReturnType<typeof setup>>): Promise<string[]> {
  const intake = new Hl7Intake(services.feeds);
  const listener = await startMllpListener(intake, { host: '127.0.0.1', port: 0 });
  const lines: string[] = [];
  const sums = { each: { n: 0, s: 0, node: 0, pg: 0 }, set: { n: 0, s: 0, node: 0, pg: 0 } };
  try {
    for (const [round, mode] of (['each', 'set', 'each', 'set'] as const).entries()) {
      // Messages about people not yet known (each up to 500 per connection), as a new feed's backlog is.
      await fillInbox(listener.port, `A${round}p`, applyMessages);
      const worker = new Worker(db, {
        queue: HL7_QUEUE,
        handler: hl7v2JobHandler({ records: services.records, feeds: services.feeds }),
        batchHandler: hl7v2BatchHandler({ records: services.records, feeds: services.feeds }, { apply: mode }),
        batchSize: 200,
        onError: (_id, reason) => console.error('job failed', reason),
      });
      const pg0 = await backendsCpu(db);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const applied = await worker.drain();
      const s = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const pgNs = pgCpuMs(pg0, await backendsCpu(db)) * 1e6;
      await worker.close();
      const failed = await db.query<{ n: number }>(
        `select count(*)::int as n from feed_message where status <> 'processed' and control_id like $1`,
        [`A${round}p%`],
      );
      const node = (cpu.user + cpu.system) / 1000;
      const sum = sums[mode];
      sum.n += applied;
      sum.s += s;
      sum.node += node;
      sum.pg += pgNs / 1e6;
      lines.push(
        `| ${label} | ${mode === 'set' ? 'one set write per round' : 'one transaction per message'} | ${applied} | ${Math.round(applied / s)} | ${(node / applied).toFixed(2)} | ${db.kind === 'postgres' ? (pgNs / 1e6 / applied).toFixed(2) : '–'} | ${failed.rows[0]?.n ?? '?'} |`,
      );
      console.log(lines[lines.length - 1]);
    }
    const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '–');
    lines.push(
      `| ${label} | ratio set / each (both rounds) | | ${ratio(sums.set.n / sums.set.s, sums.each.n / sums.each.s)} | ${ratio(sums.set.node / sums.set.n, sums.each.node / sums.each.n)} | ${db.kind === 'postgres' ? ratio(sums.set.pg / sums.set.n, sums.each.pg / sums.each.n) : '–'} | |`,
    );
    console.log(lines[lines.length - 1]);
    await db.exec('analyze');
  } finally {
    await listener.close();
  }
  return lines;
}

const rows: string[] = [];
const latencies: string[] = [];
const applies: string[] = [];
/** Whether a part of the bench runs (`--<part>-only` runs only that part). */
const part = (name: string) =>
  !args.some((a) => a !== '--only' && a.endsWith('-only')) || args.includes(`--${name}-only`);
async function both(db: Db, label: string) {
  if (!part('throughput') && !part('apply')) return;
  const services = await setup(db);
  if (part('throughput')) rows.push(...(await throughput(db, label, services)));
  if (part('apply')) applies.push(...(await applyBacklog(db, label, services)));
}
if (only !== 'postgres') {
  const db = await openPglite();
  const debug = process.env.BENCH_DEBUG
    ? ((await import(process.env.BENCH_DEBUG)) as { wrap(d: Db): Db; dump(): void })
    : undefined;
  debug?.wrap(db);
  try {
    await both(db, 'PGlite (in memory)');
    debug?.dump();
  } finally {
    await db.close();
  }
  if (part('latency')) latencies.push(...(await latencyRows('pglite', 'PGlite (in memory)')));
}
if (only !== 'pglite') {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = await openPostgres({ connectionString: pgUrl, max: 1 });
  await admin.exec(`create schema ${schema}`);
  const url = new URL(pgUrl);
  url.searchParams.set('application_name', appName);
  const db = await openPostgres({ connectionString: url.toString(), schema, max: 8 });
  try {
    await both(db, 'PostgreSQL 15');
  } finally {
    await db.close();
    await admin.exec(`drop schema ${schema} cascade`);
    await admin.close();
  }
  if (part('latency')) latencies.push(...(await latencyRows('postgres', 'PostgreSQL 15')));
}
const rss = process.resourceUsage().maxRSS / 1024;
const text = [
  '## MLLP intake',
  '',
  `\`npm run bench:mllp\` (bench/mllp-bench.ts), ${machine()}. The machine is shared with other work: compare rows of one`,
  'run, not across runs.',
  '',
  `**Sustained ACKed messages/s** (${seconds} s per row; queue worker not running). Every ACK follows the commit of`,
  'the raw message and its job (one statement per group commit, shared by all connections). A sender either waits',
  `for each ACK before the next message (MLLP original mode) or keeps up to ${window} messages unacknowledged on`,
  'its connection (ACKs still one per message, in order). CPU per ACKed message: this process (the listener and',
  'intake, the senders, and PGlite when embedded) and the PostgreSQL backends.',
  '',
  '| database | connections | sender | ACKed messages/s | ACK p50 ms | ACK p95 ms | messages per commit | Node CPU ms/msg | PostgreSQL CPU ms/msg |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows,
  '',
  `**Receipt-to-visible** at a steady ${rate} messages/s over 4 connections for ${latencySeconds} s (ADT^A08: Patient and`,
  'Encounter each, MPI linking), the server (listener, intake, queue worker, validation pool, as src/server.ts',
  'composes them; bench/mllp-server.ts) in a child process, the senders here: from the write to the socket until',
  "the server has committed the message as processed (it tells each commit's control ids on a pipe, timestamped",
  'here as read). ACK round trips are measured at the same time, the worker applying; server CPU is the child',
  'process\'s (all threads, and PGlite when embedded) per message. "rounds in one go" rows (`--latency-ab`) are the',
  'worker without a round budget (as before ADR 0053), alternated with the server as it runs.',
  '',
  '| database | sent messages/s | messages | p50 ms | p95 ms | max ms | not applied | ACK p50 ms | ACK p95 ms | server CPU ms/msg |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...latencies,
  '',
  `**Applying a backlog** of ${applyMessages} ACKed messages (ADT^A08 about new people: Patient and Encounter each, MPI`,
  'linking), the queue worker draining it in rounds of up to 200 jobs: one transaction and set write per round',
  '(ADR 0047) or one transaction per message (eight side by side, as before), alternated in one run. CPU is',
  'milliseconds per message: this process (Node, and PGlite when embedded) and the PostgreSQL backends.',
  '',
  '| database | apply | messages | messages/s | Node CPU ms/msg | PostgreSQL CPU ms/msg | not processed |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...applies,
  '',
  `Peak RSS ${Math.round(rss)} MiB (the whole run, both databases). Aim (issue 11): at least 2,000 ACKed messages/s;`,
  'p95 receipt-to-visible under 1 s.',
  '',
].join('\n');
console.log(text);
if (write) await writeSection(new URL('./README.md', import.meta.url).pathname, '## MLLP intake', text);

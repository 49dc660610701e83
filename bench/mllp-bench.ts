/**
 * `npm run bench:mllp`: sustained ACKed HL7 v2 messages per second over real TCP sockets into the MLLP
 * listener (raw message committed to the inbox, with its job, before each ACK), with 1 and 8 connections,
 * each sender waiting for the ACK before sending its next message (original mode). On PGlite (in memory)
 * and PostgreSQL (`ICR_BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test, fresh schema).
 * The queue worker is not running: this measures intake alone. Options: `--seconds <n>` (default 5),
 * `--only pglite|postgres`, `--no-write`.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { machine, writeSection } from './report.ts';
import { frame, MllpDecoder } from '../src/ingest/mllp/framing.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { startMllpListener } from '../src/ingest/mllp/listener.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import type { Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { openPglite } from '../src/store/pglite-db.ts';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 5) || 5;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const write = !args.includes('--no-write');
const pgUrl = process.env.ICR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const message = (conn: number, n: number) =>
  [
    `MSH|^~\\&|PAS|RX1|ICR|ICR|20260101120000||ADT^A08^ADT_A01|B${conn}-${n}|P|2.4`,
    'EVN|A08|20260101120000',
    `PID|1||H${conn}${n % 500}^^^RX1^MR~9990000018^^^NHS^NH||SMITH^ANNA||19800101|F|||1 High St^^Exeter^^EX1 1AA`,
    'PV1|1|I|WARD1^BED1||||||||||||||||V1',
  ].join('\r');

async function sender(port: number, conn: number, until: number): Promise<{ acked: number; ms: number[] }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const decoder = new MllpDecoder(1 << 20);
  let waiter: (() => void) | undefined;
  let pending = 0;
  socket.on('data', (chunk: Buffer) => {
    for (const ev of decoder.push(chunk)) if (ev.kind === 'message') pending += 1;
    waiter?.();
  });
  let acked = 0;
  const ms: number[] = [];
  for (let n = 0; Date.now() < until; n += 1) {
    const t0 = performance.now();
    socket.write(frame(message(conn, n)));
    while (pending === 0) await new Promise<void>((r) => (waiter = r));
    pending -= 1;
    ms.push(performance.now() - t0);
    acked += 1;
  }
  socket.destroy();
  return { acked, ms };
}

async function run(db: Db, label: string): Promise<string[]> {
  await migrate(db);
  const feeds = new FeedService({ db });
  await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Bench', kind: 'acute' });
  await feeds.addFeed(SYSTEM_ACTOR, { id: 'bench', org: 'RX1', protocol: 'mllp', sendingFacility: 'RX1' });
  const intake = new Hl7Intake(feeds);
  const listener = await startMllpListener(intake, { host: '127.0.0.1', port: 0 });
  const lines: string[] = [];
  try {
    for (const conns of [1, 8]) {
      const commits0 = intake.commits;
      const until = Date.now() + seconds * 1000;
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: conns }, (_, c) => sender(listener.port, c, until)));
      const elapsed = (performance.now() - t0) / 1000;
      const acked = results.reduce((n, r) => n + r.acked, 0);
      const all = results.flatMap((r) => r.ms).sort((a, b) => a - b);
      const pct = (p: number) => (all[Math.min(all.length - 1, Math.floor(p * all.length))] ?? 0).toFixed(1);
      const commits = intake.commits - commits0;
      lines.push(
        `| ${label} | ${conns} | ${Math.round(acked / elapsed)} | ${pct(0.5)} | ${pct(0.95)} | ${(acked / Math.max(1, commits)).toFixed(1)} |`,
      );
      console.log(lines[lines.length - 1]);
    }
  } finally {
    await listener.close();
  }
  return lines;
}

const rows: string[] = [];
if (only !== 'postgres') {
  const db = await openPglite();
  try {
    rows.push(...(await run(db, 'PGlite (in memory)')));
  } finally {
    await db.close();
  }
}
if (only !== 'pglite') {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = await openPostgres({ connectionString: pgUrl, max: 1 });
  await admin.exec(`create schema ${schema}`);
  const db = await openPostgres({ connectionString: pgUrl, schema, max: 8 });
  try {
    rows.push(...(await run(db, 'PostgreSQL 15')));
  } finally {
    await db.close();
    await admin.exec(`drop schema ${schema} cascade`);
    await admin.close();
  }
}
const rss = process.resourceUsage().maxRSS / 1024;
const text = [
  '## MLLP intake',
  '',
  `\`npm run bench:mllp\` (bench/mllp-bench.ts), ${new Date().toISOString().slice(0, 10)}, ${machine()}. ${seconds} s per`,
  'row; each connection sends its next message when the ACK of the last arrives; every ACK follows the commit of the',
  'raw message and its job to the inbox (group commit across connections). The queue worker is not running.',
  '',
  '| database | connections | ACKed messages/s | ACK p50 ms | ACK p95 ms | messages per commit |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
  '',
  `Peak RSS ${Math.round(rss)} MiB. Aim (issue 11): at least 2,000 ACKed messages/s.`,
  '',
].join('\n');
console.log(text);
if (write) await writeSection(new URL('./README.md', import.meta.url).pathname, '## MLLP intake', text);

/**
 * The cost of keeping rejected HL7 v2 messages (ADR 0046): the MLLP intake's refusal path (`Hl7Intake.handle`
 * of messages from a suspended feed, answered AR) when the message is kept (a `feed_rejected` row, the
 * feed's counter and the bound, one statement) against the path before it (the counter only), alternating
 * rounds of the two in one run. CPU time: this process (Node, and PGlite when embedded) plus, on
 * PostgreSQL, the one backend that runs every statement (`/proc/<pid>/schedstat`). Also how long a replay
 * takes (`FeedService.replayRejected`, accepted into the inbox). PGlite, and PostgreSQL
 * (`ICR_BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test, a fresh schema dropped after).
 *
 *   npm run bench:rejected [-- --write]   (--write replaces the "Rejected messages" section of bench/README.md)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import type { Db } from '../src/store/db.ts';
import type { NewRejected } from '../src/store/feed-rejected-store.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { openPglite } from '../src/store/pglite-db.ts';
import { machine, writeSection } from './report.ts';

const pgUrl = process.env.ICR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const write = process.argv.includes('--write');
const ROUNDS = 10;
const PER_ROUND = 200;

/** The refusal path before ADR 0046: the counter only. */
class CountOnly extends FeedService {
  override async keepRejected(m: NewRejected): Promise<number> {
    if (m.feedId) await this.countRejected(m.feedId);
    return 0;
  }
}

function backendCpuNs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0] ?? 0);
  } catch {
    return 0;
  }
}

const message = (n: number) =>
  Buffer.from(
    [
      `MSH|^~\\&|PAS|RBEN|ICR|ICR|20261206090000||ADT^A08|B-${n}|P|2.4`,
      'EVN|A08|20261206090000',
      `PID|1||M${n}^^^RBEN^MR||BENCH^PERSON||19700101|F|||1 Bench St^^Exeter^^EX1 1AA`,
      `PV1|1|I|WARD 1^BED ${n % 30}^^RBEN||||||||||||||||V${n}^^^RBEN|||||||||||||||||||||||||20261206080000`,
    ].join('\r'),
  );

interface Side {
  n: number;
  ms: number;
  cpuMs: number;
}

async function measure(db: Db, label: string): Promise<string[]> {
  await migrate(db);
  const kept = new FeedService({ db });
  const counted = new CountOnly({ db });
  await kept.addOrganisation(SYSTEM_ACTOR, { ods: 'RBEN', name: 'Bench trust', kind: 'acute' });
  await kept.addFeed(SYSTEM_ACTOR, { id: 'rben-pas', org: 'RBEN', protocol: 'mllp', sendingFacility: 'RBEN' });
  await kept.suspend(SYSTEM_ACTOR, 'rben-pas', 'bench');
  const pid =
    db.kind === 'postgres'
      ? Number((await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid)
      : undefined;
  const sides: Record<'kept' | 'counted', Side> = {
    kept: { n: 0, ms: 0, cpuMs: 0 },
    counted: { n: 0, ms: 0, cpuMs: 0 },
  };
  const intakes = { kept: new Hl7Intake(kept), counted: new Hl7Intake(counted) };
  let seq = 0;
  for (let round = 0; round < ROUNDS * 2; round += 1) {
    const which = round % 2 === 0 ? 'kept' : 'counted';
    const intake = intakes[which];
    const b = backendCpuNs(pid);
    const c = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < PER_ROUND; i += 1) {
      seq += 1;
      const r = await intake.handle({ bytes: message(seq), remoteAddress: 'bench', connectionId: 'bench' });
      if (r.code !== 'AR') throw new Error(`expected AR, got ${r.code}`);
    }
    const s = sides[which];
    s.ms += performance.now() - t;
    const cu = process.cpuUsage(c);
    s.cpuMs += (cu.user + cu.system) / 1000 + (backendCpuNs(pid) - b) / 1e6;
    s.n += PER_ROUND;
  }
  // Replays: the feed approved, each kept message sent again through the intake (accepted into the inbox).
  await kept.approve(SYSTEM_ACTOR, 'rben-pas', 'bench');
  kept.useIntake(intakes.kept);
  const ids = (await kept.rejected(SYSTEM_ACTOR, { feedId: 'rben-pas' }, 200)).map((m) => m.id);
  const times: number[] = [];
  for (const id of ids) {
    const t = performance.now();
    const r = await kept.replayRejected(SYSTEM_ACTOR, id);
    times.push(performance.now() - t);
    if (r.ack !== 'AA') throw new Error(`replay ${id}: ${r.ack}`);
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => (times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? 0).toFixed(1);
  const per = (s: Side) => [(s.cpuMs / s.n).toFixed(3), (s.ms / s.n).toFixed(2), Math.round((s.n * 1000) / s.ms)];
  const [kc, kw, kr] = per(sides.kept);
  const [cc, cw, cr] = per(sides.counted);
  return [
    `| ${label} | kept (row + counter + bound) | ${kc} | ${kw} | ${kr} |`,
    `| ${label} | counted only (before) | ${cc} | ${cw} | ${cr} |`,
    `| ${label} | ratio kept / before | ${(sides.kept.cpuMs / sides.counted.cpuMs).toFixed(2)}× | ${(sides.kept.ms / sides.counted.ms).toFixed(2)}× | |`,
    `| ${label} | replay (accepted), p50 / p95 ms over ${times.length} | | ${pct(50)} / ${pct(95)} | |`,
  ];
}

const header = machine();
const startRss = process.memoryUsage.rss();
const rows: string[] = [];
{
  const db = await openPglite();
  try {
    rows.push(...(await measure(db, 'PGlite')));
  } finally {
    await db.close();
  }
}
{
  const schema = `bench_rej_${randomBytes(4).toString('hex')}`;
  const admin = await openPostgres({ connectionString: pgUrl, max: 1 });
  await admin.exec(`create schema ${schema}`);
  const db = await openPostgres({ connectionString: pgUrl, schema, max: 1 });
  try {
    rows.push(...(await measure(db, 'PostgreSQL')));
  } finally {
    await db.close();
    await admin.exec(`drop schema ${schema} cascade`);
    await admin.close();
  }
}
const peakRss = Math.round(process.resourceUsage().maxRSS / 1024);
const text = [
  '## Rejected messages',
  '',
  `\`npm run bench:rejected\` (bench/rejected-bench.ts), ${header}. Peak RSS ${peakRss} MiB (start ${Math.round(startRss / 2 ** 20)} MiB).`,
  '',
  `The MLLP intake's refusal path (a suspended feed's message answered AR) keeping the message (ADR 0046) against the`,
  `path before it (the counter only): ${ROUNDS} rounds of ${PER_ROUND} messages each, alternating, one sender, one`,
  'connection to the database. CPU is this process plus, on PostgreSQL, its one backend; wall clock is inflated by',
  'the shared machine (compare the ratio, measured in the same run). Then each kept message is replayed once the',
  'feed is approved (accepted into the inbox). No aim was set: refusals are the rare path, and the accepted path',
  '(group commit into the inbox) does not change.',
  '',
  '| database | path | CPU ms / message | wall ms / message | messages/s |',
  '| --- | --- | --- | --- | --- |',
  ...rows,
  '',
].join('\n');
process.stdout.write(`${text}\n`);
if (write) await writeSection(new URL('./README.md', import.meta.url).pathname, '## Rejected messages', text);

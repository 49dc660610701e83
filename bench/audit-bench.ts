/**
 * The audit trail on PostgreSQL (`ICR_BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test,
 * in a fresh schema dropped afterwards): entries inserted per second by 1, 8 and 16 concurrent clients,
 * each insert its own committed transaction as a read's entry is, with the sealer running every second
 * as in the server; how fast the sealer links and `icr audit verify` checks; and the cost of audit on a
 * read by id (audit on / audit off, one run, 1 and 16 clients). Writes bench/README.md "## Audit trail".
 *
 *   node bench/audit-bench.ts [--entries 20000] [--no-readme]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAuditLog } from '../src/audit/audit-log.ts';
import type { AuditRecord } from '../src/audit/audit-record.ts';
import { sealAll, startSealer } from '../src/audit/audit-sealer.ts';
import { verifyAuditTrail } from '../src/audit/audit-verify.ts';
import { createServices } from '../src/compose.ts';
import { SYSTEM_ACTOR, type UserActor } from '../src/shared/actor.ts';
import type { Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { machine, writeSection } from './report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const README = path.join(ROOT, 'bench', 'README.md');
const SECTION = '## Audit trail';

const args = process.argv.slice(2);
const entriesArg = args.indexOf('--entries');
const ENTRIES = entriesArg >= 0 ? Number(args[entriesArg + 1]) : 20_000;
const READS = 4000;

const GP: UserActor = {
  kind: 'user',
  userId: 'gp-a81001',
  orgOds: 'A81001',
  role: 'R8000',
  displayName: 'Dr Asha Demo-Patel',
  via: { channel: 'fhir', requestId: 'bench' },
};

function rec(n: number): AuditRecord {
  return {
    action: 'read',
    outcome: 'allowed',
    actor: GP,
    patientId: `p${n % 1000}`,
    personId: `p${n % 1000}`,
    what: `Observation/obs-${n}`,
    returned: 1,
    categories: ['results'],
    basis: 'relationship',
  };
}

/** Runs `total` calls of `fn` spread over `clients` concurrent loops; returns calls per second. */
async function rate(clients: number, total: number, fn: (n: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let n = next++; n < total; n = next++) await fn(n);
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-GB');

/** The bench's own connections name themselves, so that their PostgreSQL backends' CPU time can be read. */
const APP_NAME = `icr-audit-bench-${process.pid}`;

/** CPU time of one process in µs: /proc/<pid>/schedstat (ns on CPU), else utime + stime of /proc/<pid>/stat. */
function procCpuMicros(pid: number): number {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    if (Number.isFinite(ns)) return ns / 1000;
  } catch {
    // fall through
  }
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return 0;
  }
}

async function backendCpu(db: Db): Promise<Map<number, number>> {
  const res = await db.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [
    APP_NAME,
  ]);
  return new Map(res.rows.map((r) => [Number(r.pid), procCpuMicros(Number(r.pid))]));
}

function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}

async function withSchema<T>(url: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const admin = await openPostgres({ connectionString: url, max: 1 });
  await admin.exec(`create schema ${schema}`);
  const sep = url.includes('?') ? '&' : '?';
  const db = await openPostgres({ connectionString: `${url}${sep}application_name=${APP_NAME}`, schema, max: 17 });
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
    await admin.exec(`drop schema ${schema} cascade`);
    await admin.close();
  }
}

async function main(): Promise<void> {
  const url = process.env.ICR_BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const where = machine();
  const lines: string[] = [];
  await withSchema(url, async (db) => {
    const log = createAuditLog();
    const inserts: string[] = [];
    let written = 0;
    for (const clients of [1, 8, 16, 64, 256]) {
      for (const readCommit of ['durable', 'async'] as const) {
        const writer = readCommit === 'durable' ? log : createAuditLog({ readCommit });
        // Fewer entries for one writer: each waits for its own commit.
        const total = clients === 1 ? Math.min(ENTRIES, 1000) : ENTRIES;
        const sealer = startSealer(db, 1000, (e) => console.error('sealer:', e));
        const cpu0 = process.cpuUsage();
        const pg0 = await backendCpu(db);
        const r = await rate(clients, total, (n) => writer.record(db, rec(written + n)));
        await sealer.stop();
        const pg = cpuSince(pg0, await backendCpu(db)) / total;
        const cpu = process.cpuUsage(cpu0);
        written += total;
        inserts.push(
          `| ${clients} | ${readCommit} | ${fmt(total)} | ${fmt(r)} | ${fmt((cpu.user + cpu.system) / total)} + ${fmt(pg)} |`,
        );
        console.log(inserts.at(-1));
      }
    }
    const t0 = performance.now();
    const sealed = await sealAll(db);
    const sealTail = performance.now() - t0;
    // Sealer rate on a backlog: write a backlog without the sealer, then link it.
    await rate(16, ENTRIES, (n) => log.record(db, rec(written + n)));
    written += ENTRIES;
    const t1 = performance.now();
    const backlog = await sealAll(db);
    const sealRate = backlog / ((performance.now() - t1) / 1000);
    const t2 = performance.now();
    const verified = await verifyAuditTrail(db, { sealFirst: false });
    const verifyRate = verified.checked / ((performance.now() - t2) / 1000);
    if (verified.status !== 'intact') throw new Error('the bench trail does not verify');
    console.log(`sealer ${fmt(sealRate)} entries/s; verify ${fmt(verifyRate)} entries/s over ${fmt(verified.checked)}`);

    // The cost of audit on a read by id.
    const on = createServices(db, { mpi: false });
    const off = createServices(db, { mpi: false, audit: false });
    await on.records.update(SYSTEM_ACTOR, { resourceType: 'Patient', id: 'bench-p', name: [{ family: 'Bench' }] });
    const reads: string[] = [];
    for (const clients of [1, 16]) {
      await rate(clients, 500, () => off.records.read(GP, 'Patient', 'bench-p')); // warm-up
      const rOff = await rate(clients, READS, () => off.records.read(GP, 'Patient', 'bench-p'));
      const rOn = await rate(clients, READS, () => on.records.read(GP, 'Patient', 'bench-p'));
      reads.push(`| ${clients} | ${fmt(rOff)} | ${fmt(rOn)} | ${(rOff / rOn).toFixed(2)}× |`);
      console.log(`read by id, ${clients} clients: off ${fmt(rOff)}/s, on ${fmt(rOn)}/s`);
    }
    const rss = Math.round(process.resourceUsage().maxRSS / 1024);
    lines.push(
      SECTION,
      '',
      `Run with \`npm run bench:audit\` (\`node bench/audit-bench.ts\`) against PostgreSQL 15 on the same machine. Machine: ${where}; load average at the end ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')}.`,
      '',
      'Audit entries inserted per second by concurrent writers, each awaiting its own entry as a read does:',
      'entries waiting together share one insert statement and one commit (group commit, up to four groups',
      'committing at once, a further one only for 8 waiting entries or more; ADR 0031, ADR 0056), the sealer',
      'linking them into the chain every second meanwhile (ADR 0019).',
      '`durable`: each commit flushed to disk before the writer goes on (the default); `async`:',
      '`ICR_AUDIT_READ_COMMIT=async` (ADR 0049). CPU per entry in µs: this process (user + system) + its',
      'PostgreSQL backends (`/proc/<pid>/schedstat`). Aim: at least 5,000 entries/s.',
      '',
      '| writers | commit | entries | entries/s | CPU µs/entry (Node + PostgreSQL) |',
      '| ------: | ------ | ------: | --------: | -------------------------------: |',
      ...inserts,
      '',
      `The sealer links a backlog of ${fmt(backlog)} entries at ${fmt(sealRate)} entries/s (5,000 per short transaction; ${fmt(sealed)} left after the runs above took ${Math.round(sealTail)} ms). \`icr audit verify\` checks ${fmt(verifyRate)} entries/s (${fmt(verified.checked)} entries).`,
      '',
      `Read by id through the records service (no access decisions yet), ${fmt(READS)} reads, audit off then on:`,
      '',
      '| clients | reads/s, audit off | reads/s, audit on | ratio |',
      '| ------: | -----------------: | ----------------: | ----: |',
      ...reads,
      '',
      `Peak RSS of the bench process: ${rss} MiB.`,
      '',
    );
  });
  const text = lines.join('\n');
  console.log(text);
  if (!args.includes('--no-readme')) await writeSection(README, SECTION, text);
}

await main();

/**
 * The viewer on PostgreSQL (`ICR_BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test, in a
 * fresh schema dropped afterwards), with access decisions and the hash-chained audit trail on:
 *   - the summary endpoint `GET /api/patients/:id/summary` (in-process HTTP, bearer token): p50/p95 at 1 and
 *     16 concurrent clients, for a typical demo person and for a person with 1,000 items — A/B in one run,
 *     alternating batches: B is the narrow read (ADR 0045), A the same summary built from the whole
 *     `$everything` (ADR 0041; a bench-only route), with the CPU time of this process and of the PostgreSQL
 *     backends of this bench's connections (its `application_name`) per request;
 *     The load generator runs in a worker thread by default (`--generator worker`: real HTTP with keep-alive,
 *     its own event loop, its CPU reported apart from the server's); `--generator inject` injects the requests
 *     in the server's own event loop (the method before ADR 0060, its CPU counted with the server's). Before
 *     the 16-client batches every variant is warmed at 16 clients (`--warm 16`, the default: every pooled
 *     connection has opened and has its plans, as in a server that has been running), or not (`--warm 1`);
 *   - first render of the person page in Chromium, p50/p95 with 1 page and with 16 pages of one browser
 *     navigating at once (Navigation Timing: server time to first byte, DOMContentLoaded, load);
 *   - peak RSS of the process (the server; Chromium is a separate process).
 * Writes bench/README.md "## Viewer".
 *
 *   node bench/viewer-bench.ts [--requests 400] [--generator worker|inject] [--warm 16|1] [--no-render] [--no-readme]
 *   (ICR_BENCH_PORT: the page's port, default 8170)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { chromium } from 'playwright-core';
import { demoUserDirectory } from '../src/auth/demo-directory.ts';
import { createServices } from '../src/compose.ts';
import { createSignIn } from '../src/compose-sign-in.ts';
import { loadConfig } from '../src/config/config.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { buildApp } from '../src/http/app.ts';
import { actorOf } from '../src/http/plugins/auth.ts';
import { summaryOfView, ViewerRecords } from '../src/records/viewer/viewer-records.ts';
import { loadDemoData } from '../src/records/demo/demo-load.ts';
import { GP_FEED } from '../src/records/demo/viewer-journeys.ts';
import { importBatches } from '../src/records/import/import.ts';
import { importTargetFor } from '../src/records/import/target.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import type { Db } from '../src/store/db.ts';
import { migrate, migrationsUpToDate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/browser/chromium.ts';
import { machine, writeSection } from './report.ts';
import type { LoadBatch, LoadResult } from './viewer-load.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const README = path.join(ROOT, 'bench', 'README.md');
const SECTION = '## Viewer';
const args = process.argv.slice(2);
const reqArg = args.indexOf('--requests');
const REQUESTS = reqArg >= 0 ? Number(args[reqArg + 1]) : 400;
const argOf = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
/** Where the summary's load generator runs: a worker thread over HTTP, or injected in the server's event loop. */
const GENERATOR = argOf('--generator') ?? 'worker';
if (GENERATOR !== 'worker' && GENERATOR !== 'inject') throw new Error('--generator worker|inject');
/** The concurrency of the warm-up before the measured batches (16: every pooled connection warmed). */
const WARM = Number(argOf('--warm') ?? 16);
/** Batches of the warm-up at 16 clients, per variant: 8 requests per client. */
const WARM_PER_CLIENT = 8;
const ROUNDS = 4;
/** First render: navigations per page with one page open, and per page with 16 open at once. */
const RENDERS_ONE = 20;
const RENDERS_MANY = 4;
/** Issue 12's aim for the summary endpoint: p95 at 16 clients, milliseconds. */
const AIM_MS = 50;
const PORT = Number(process.env.ICR_BENCH_PORT ?? 8170);
const ORIGIN = `http://127.0.0.1:${String(PORT)}`;
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

/** A synthetic person with `n` items from the GP feed: results, medicines, problems, encounters. */
function bigPerson(n: number): FhirResource[] {
  const pid = 'bench-big-1';
  const out: FhirResource[] = [
    {
      resourceType: 'Patient',
      id: pid,
      identifier: [{ system: NHS, value: '9990001030' }],
      name: [{ family: 'Benchmark', given: ['Thousand'] }],
      birthDate: '1940-01-01',
      gender: 'male',
    },
    {
      resourceType: 'EpisodeOfCare',
      id: `${pid}-reg`,
      status: 'active',
      patient: { reference: `Patient/${pid}` },
      managingOrganization: { reference: 'Organization/demo-org-a81001' },
      period: { start: '2000-01-01' },
    },
  ];
  for (let i = 0; out.length < n + 1; i++) {
    const day = new Date(Date.UTC(2016, 0, 1) + i * 3 * 86_400_000).toISOString();
    const subject = { reference: `Patient/${pid}` };
    const k = i % 10;
    if (k < 6) {
      out.push({
        resourceType: 'Observation',
        id: `${pid}-obs-${String(i)}`,
        status: 'final',
        code: {
          coding: [
            { system: 'http://snomed.info/sct', code: String(1000 + (i % 12)), display: `Test ${String(i % 12)}` },
          ],
        },
        subject,
        effectiveDateTime: day,
        valueQuantity: { value: 40 + (i % 30), unit: 'mmol/L' },
        referenceRange: [{ low: { value: 45 }, high: { value: 60 } }],
      });
    } else if (k === 6) {
      out.push({
        resourceType: 'MedicationStatement',
        id: `${pid}-med-${String(i)}`,
        status: i % 20 === 6 ? 'active' : 'completed',
        medicationCodeableConcept: { text: `Medicine ${String(i % 40)} ${String(5 * (1 + (i % 3)))}mg tablets` },
        subject,
        effectiveDateTime: day.slice(0, 10),
        dosage: [{ text: 'One tablet daily' }],
      });
    } else if (k === 7) {
      out.push({
        resourceType: 'Condition',
        id: `${pid}-cond-${String(i)}`,
        clinicalStatus: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
              code: i % 30 === 7 ? 'active' : 'resolved',
            },
          ],
        },
        code: { text: `Problem ${String(i)}` },
        subject,
        onsetDateTime: day.slice(0, 10),
      });
    } else {
      out.push({
        resourceType: 'Encounter',
        id: `${pid}-enc-${String(i)}`,
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        type: [{ text: 'Clinic visit' }],
        subject,
        period: { start: day, end: day },
      });
    }
  }
  return out;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function timed(
  clients: number,
  total: number,
  fn: () => Promise<void>,
): Promise<{ p50: number; p95: number; rps: number; times: number[] }> {
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        next += 1;
        const s = performance.now();
        await fn();
        times.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  return { p50: pct(times, 50), p95: pct(times, 95), rps: total / elapsed, times };
}

/** CPU seconds (user + system) of this process. */
function ownCpu(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1e6;
}

/** The `application_name` of this bench's connections: only their backends' CPU is counted (others may share the database). */
const APP_NAME = `icr_viewer_bench_${String(process.pid)}`;

/**
 * CPU seconds (utime + stime) of each PostgreSQL backend of this bench (its `application_name`), by pid (from
 * /proc; empty when the server is on another machine). Compare two snapshots with `cpuSince`.
 */
async function backendCpu(db: Db): Promise<Map<number, number>> {
  const res = await db.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1', [
    APP_NAME,
  ]);
  const out = new Map<number, number>();
  for (const { pid } of res.rows) {
    try {
      const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / 100); // utime, stime (USER_HZ)
    } catch {
      // a backend that has just ended: not counted
    }
  }
  return out;
}

/** CPU seconds used between two snapshots by the backends alive at the second (one that ended is missed). */
function cpuSince(before: Map<number, number>, after: Map<number, number>): number {
  let s = 0;
  for (const [pid, t] of after) s += t - (before.get(pid) ?? 0);
  return s;
}

async function main(): Promise<void> {
  const url = process.env.ICR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const own = new URL(url);
  own.searchParams.set('application_name', APP_NAME);
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const admin = await openPostgres({ connectionString: url, max: 1 });
  await admin.exec(`create schema ${schema}`);
  const db = await openPostgres({ connectionString: own.toString(), schema, max: 17 });
  const where = machine();
  const cpuStart = ownCpu();
  try {
    await migrate(db);
    const config = loadConfig({
      ICR_TOKEN_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
      ICR_SESSION_SECRET: 'bench-session-secret-bench-session-secret-01',
      ICR_DATA_DIR: '/nonexistent-bench-dir',
      ICR_PUBLIC_URL: ORIGIN,
    });
    const { records, audit, feeds } = createServices(db);
    const { tokens, signIn } = await createSignIn(db, records, config, { users: demoUserDirectory(), demo: true });
    const app = buildApp({ records, audit, feeds, db, config, tokens, migrationsUpToDate, signIn });
    // A: the summary as it was built before ADR 0045, from the whole record (bench only).
    const whole = new ViewerRecords({ records, feeds });
    app.get<{ Params: { id: string } }>('/api/bench/whole-record-summary/:id', async (req, reply) => {
      const actor = actorOf(req);
      if (actor.kind !== 'user') throw new Error('users only');
      const v = await whole.view(actor, req.params.id, { practitioners: false });
      return reply.send(summaryOfView(v, new Date()));
    });
    await loadDemoData(records, { sharedDataDir: '/nonexistent-shared-data', log: () => undefined });
    const big = bigPerson(1000);
    await importBatches(
      importTargetFor(records),
      [
        {
          file: 'bench',
          sourceKey: 'bench',
          unit: 'entry',
          entries: big.map((resource, position) => ({ position, resource })),
          lastOfFile: true,
        },
      ],
      { feedId: GP_FEED, sourceOrg: 'A81001' },
    );
    const idOf = async (nhs: string) => {
      const json = await records.search(SYSTEM_ACTOR, 'Patient', new URLSearchParams({ identifier: `${NHS}|${nhs}` }), {
        baseUrl: 'x',
      });
      const id = (JSON.parse(json) as { entry?: Array<{ resource: { id: string } }> }).entry?.[0]?.resource.id;
      if (!id) throw new Error(`no patient ${nhs}`);
      return id;
    };
    // Table statistics, as autovacuum keeps them on a live database (this one may run without it): only
    // the benchmark schema's tables.
    const tables = await admin.query<{ name: string }>(
      "select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname = $1",
      [schema],
    );
    await admin.exec(`analyze ${tables.rows.map((t) => t.name).join(', ')}`);
    const people = [
      { label: 'typical (demo person 999 000 0018)', id: await idOf('9990000018') },
      { label: '1,000 items', id: await idOf('9990001030') },
    ];
    await app.listen({ port: PORT, host: '127.0.0.1' });
    const worker = GENERATOR === 'worker' ? new Worker(new URL('./viewer-load.ts', import.meta.url)) : undefined;
    /** One batch of GETs of `url`: each request's milliseconds and the load generator's CPU seconds (NaN in-process). */
    const load = async (url: string, clients: number, total: number): Promise<{ times: number[]; gen: number }> => {
      if (!worker) {
        const r = await timed(clients, total, async () => {
          const res = await app.inject({ url, headers: { authorization } });
          if (res.statusCode !== 200) throw new Error(`summary ${String(res.statusCode)} ${res.body}`);
        });
        return { times: r.times, gen: Number.NaN };
      }
      const r = await new Promise<LoadResult>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        worker.once('error', onError);
        worker.once('message', (m: LoadResult) => {
          worker.off('error', onError);
          resolve(m);
        });
        worker.postMessage({ url: `${ORIGIN}${url}`, authorization, clients, total } satisfies LoadBatch);
      });
      if (r.error) throw new Error(r.error);
      return { times: r.times, gen: r.cpu };
    };
    const authorization = `Bearer ${await tokens.issue({ id: 'gp-a81001', name: 'Dr Asha Demo-Patel', org: 'A81001', role: 'R8000' })}`;
    const lines: string[] = [];
    const rows: string[] = [];
    /** The aim (issue 12): the summary's p95 under 50 ms at 16 clients; per person, B's p95 at 16 clients. */
    const aim: string[] = [];
    for (const p of people) {
      const first = await app.inject({ url: `/api/patients/${p.id}/summary`, headers: { authorization } });
      if (first.statusCode !== 200) throw new Error(`summary ${String(first.statusCode)} ${first.body}`);
      const body = first.json<{ medicines: unknown[]; access: { basis: string } }>();
      const items = (
        JSON.parse(
          (await app.inject({ url: `/fhir/Patient/${p.id}/$everything`, headers: { authorization } })).body,
        ) as { total: number }
      ).total;
      for (let i = 0; i < 20; i++)
        await app.inject({ url: `/api/patients/${p.id}/summary`, headers: { authorization } });
      const variants = [
        { name: 'A whole record', url: `/api/bench/whole-record-summary/${p.id}` },
        { name: 'B narrow read', url: `/api/patients/${p.id}/summary` },
      ];
      for (const clients of [1, 16]) {
        // Warmed at the concurrency measured: at 16 clients every pooled connection opens and plans its
        // statements (custom plans for the first executions on each), once in a server's life, not per request.
        if (clients === 16 && WARM >= 16) {
          for (const v of variants) await load(v.url, 16, 16 * WARM_PER_CLIENT);
        }
        // A/B in one run: alternating batches of REQUESTS / ROUNDS requests, A then B.
        const acc = variants.map(() => ({ times: [] as number[], secs: 0, cpu: 0, pg: 0, gen: 0 }));
        for (let round = 0; round < ROUNDS; round++) {
          for (const [k, v] of variants.entries()) {
            const a = acc[k];
            if (!a) continue;
            const cpu0 = ownCpu();
            const pg0 = await backendCpu(admin);
            const t0 = performance.now();
            const r = await load(v.url, clients, Math.ceil(REQUESTS / ROUNDS));
            a.secs += (performance.now() - t0) / 1000;
            a.pg += cpuSince(pg0, await backendCpu(admin));
            // The server's CPU: this process less the load generator's thread (in-process: both).
            a.cpu += ownCpu() - cpu0 - (Number.isNaN(r.gen) ? 0 : r.gen);
            a.gen += r.gen;
            a.times.push(...r.times);
          }
        }
        for (const [k, v] of variants.entries()) {
          const a = acc[k];
          if (!a) continue;
          a.times.sort((x, y) => x - y);
          const n = a.times.length;
          rows.push(
            `| ${p.label} (${String(items)} resources, basis ${body.access.basis}, ${String(first.body.length)} B) | ${v.name} | ${String(clients)} | ${pct(a.times, 50).toFixed(1)} | ${pct(a.times, 95).toFixed(1)} | ${(n / a.secs).toFixed(0)} | ${((a.cpu * 1000) / n).toFixed(2)} | ${((a.pg * 1000) / n).toFixed(2)} | ${Number.isNaN(a.gen) ? 'in the server' : ((a.gen * 1000) / n).toFixed(2)} |`,
          );
          console.log(rows[rows.length - 1]);
          if (clients === 16 && v.name.startsWith('B')) {
            const p95 = pct(a.times, 95);
            aim.push(`${p.label}: p95 ${p95.toFixed(1)} ms, ${p95 < AIM_MS ? 'met' : 'not met'}`);
          }
        }
      }
    }
    const loadAfterSummary = loadavg();
    if (worker) {
      worker.postMessage('close');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
    const renders: string[] = [];
    // First render in Chromium (unless --no-render): sign in once; 1 page, then 16 pages at once, open each
    // person page.
    const render = async (): Promise<void> => {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      try {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: ORIGIN });
        const signInPage = await context.newPage();
        await signInPage.goto('/signin');
        await signInPage.getByRole('button', { name: 'Dr Asha Demo-Patel', exact: true }).click();
        await signInPage.waitForURL(`${ORIGIN}/`);
        await signInPage.close();
        // Pages of one signed-in browser context, each opening the person page again and again at once.
        const pages = await Promise.all(Array.from({ length: 16 }, () => context.newPage()));
        const NAV =
          '(() => { const n = performance.getEntriesByType("navigation")[0]; return { server: n.responseStart - n.requestStart, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd }; })()';
        for (const p of people) {
          for (const clients of [1, 16]) {
            const open = pages.slice(0, clients);
            const each = clients === 1 ? RENDERS_ONE : RENDERS_MANY;
            const samples: Array<{ server: number; dcl: number; load: number }> = [];
            await Promise.all(
              open.map(async (page) => {
                await page.goto(`/patient/${p.id}`, { waitUntil: 'load' }); // warm-up, not counted
                for (let i = 0; i < each; i++) {
                  await page.goto(`/patient/${p.id}`, { waitUntil: 'load' });
                  // Evaluated in the page (a string: the DOM types are not in this project's lib).
                  samples.push(await page.evaluate<{ server: number; dcl: number; load: number }>(NAV));
                }
              }),
            );
            const q = (k: 'server' | 'dcl' | 'load', at: number) =>
              pct(
                samples.map((x) => x[k]).sort((a, b) => a - b),
                at,
              ).toFixed(0);
            renders.push(
              `| ${p.label} | ${String(clients)} | ${String(samples.length)} | ${q('server', 50)} | ${q('server', 95)} | ${q('dcl', 50)} | ${q('dcl', 95)} | ${q('load', 50)} | ${q('load', 95)} |`,
            );
            console.log(renders[renders.length - 1]);
          }
        }
      } finally {
        await browser.close();
      }
    };
    if (!args.includes('--no-render')) await render();
    await app.close();
    const rssMb = process.resourceUsage().maxRSS / 1024;
    lines.push(
      SECTION,
      '',
      `Machine: ${where} (shared with other engineers' work: treat absolute figures as noisy).`,
      `Command: \`npm run bench:viewer\` (${String(REQUESTS)} requests per row in ${String(ROUNDS)} alternating A/B batches, after 20 warm-up requests at 1 client${WARM >= 16 ? ` and, before the 16-client batches, ${String(16 * WARM_PER_CLIENT)} per variant at 16 clients` : ''}; load generator ${GENERATOR === 'worker' ? 'in a worker thread over HTTP (`--generator worker`)' : "injected in the server's event loop (`--generator inject`)"}; PostgreSQL, its tables analysed after the data load; access decisions and the hash-chained audit trail on).`,
      '',
      `Summary endpoint (${GENERATOR === 'worker' ? 'HTTP over loopback from a worker thread of the bench process, keep-alive, one connection per client' : 'requests injected in-process'}, bearer token), milliseconds. B is \`GET /api/patients/:id/summary\`: one narrow read (ADR 0045, 0052, 0055: the cards' sections only, a few items each, filtered and sorted in one SQL statement on status and date columns written with each row, the items from a (person, type, date) index and the counts from counts kept with the rows; one access decision, one audit entry). A is the same summary built the way it was before (ADR 0041: one audited \`$everything\`, the provenance of every item, one audited search for organisation names), on a bench-only route. CPU is per request: the server (this Node process${GENERATOR === 'worker' ? ' less the load generator thread, whose CPU is in the last column' : ', server and load generator together'}) and the PostgreSQL backends of this bench's own connections (by \`application_name\`; other work on the same database is not counted).`,
      '',
      '| person | variant | clients | p50 ms | p95 ms | requests/s | Node CPU ms/req | PostgreSQL CPU ms/req | load generator CPU ms/req |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      `Aim: summary p95 under ${String(AIM_MS)} ms at 16 clients (issue 12), in this run — ${aim.join('; ')}. Load average after the summary runs ${loadAfterSummary
        .map((l) => l.toFixed(1))
        .join(' / ')}.`,
      '',
      `First render of the person page (banner and summary, server-rendered from the narrow read) in Chromium 1280×800: one signed-in browser context with 1 page, then 16 pages navigating at once (each opens the page once to warm up, then ${String(RENDERS_ONE)} times with 1 page, ${String(RENDERS_MANY)} times each with 16), milliseconds from the Navigation Timing of every navigation: the server's time (request start to first byte), DOMContentLoaded and load from navigation start. Chromium renders on the same 2 CPUs as the server, so at 16 pages its own layout and paint are in the figures.`,
      '',
      '| person | pages at once | navigations | server p50 | server p95 | DOMContentLoaded p50 | DOMContentLoaded p95 | load p50 | load p95 |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...renders,
      '',
      `Peak RSS of the benchmark process (server, database client, data load${GENERATOR === 'worker' ? ', load generator thread' : ''}): ${rssMb.toFixed(0)} MB; its CPU time for the whole run ${(ownCpu() - cpuStart).toFixed(0)} s.`,
    );
    const text = lines.join('\n');
    console.log(text);
    if (!args.includes('--no-readme')) await writeSection(README, SECTION, text);
  } finally {
    await db.close();
    await admin.exec(`drop schema ${schema} cascade`);
    await admin.close();
  }
}

await main();

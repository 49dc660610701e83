/**
 * The viewer on PostgreSQL (`ICR_BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test, in a
 * fresh schema dropped afterwards), with access decisions and the hash-chained audit trail on:
 *   - the summary endpoint `GET /api/patients/:id/summary` (in-process HTTP, bearer token): p50/p95 at 1 and
 *     16 concurrent clients, for a typical demo person and for a person with 1,000 items;
 *   - first render of the person page in Chromium (Navigation Timing: response end, DOMContentLoaded, load);
 *   - peak RSS of the process (the server; Chromium is a separate process).
 * Writes bench/README.md "## Viewer".
 *
 *   node bench/viewer-bench.ts [--requests 400] [--no-readme]
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { demoUserDirectory } from '../src/auth/demo-directory.ts';
import { createServices } from '../src/compose.ts';
import { createSignIn } from '../src/compose-sign-in.ts';
import { loadConfig } from '../src/config/config.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { buildApp } from '../src/http/app.ts';
import { loadDemoData } from '../src/records/demo/demo-load.ts';
import { GP_FEED } from '../src/records/demo/viewer-journeys.ts';
import { importBatches } from '../src/records/import/import.ts';
import { importTargetFor } from '../src/records/import/target.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { migrate, migrationsUpToDate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { machine, writeSection } from './report.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const README = path.join(ROOT, 'bench', 'README.md');
const SECTION = '## Viewer';
const args = process.argv.slice(2);
const reqArg = args.indexOf('--requests');
const REQUESTS = reqArg >= 0 ? Number(args[reqArg + 1]) : 400;
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
): Promise<{ p50: number; p95: number; rps: number }> {
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
  return { p50: pct(times, 50), p95: pct(times, 95), rps: total / elapsed };
}

async function main(): Promise<void> {
  const url = process.env.ICR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const admin = await openPostgres({ connectionString: url, max: 1 });
  await admin.exec(`create schema ${schema}`);
  const db = await openPostgres({ connectionString: url, schema, max: 17 });
  const where = machine();
  try {
    await migrate(db);
    const config = loadConfig({
      ICR_TOKEN_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
      ICR_SESSION_SECRET: 'bench-session-secret-bench-session-secret-01',
      ICR_DATA_DIR: '/nonexistent-bench-dir',
      ICR_PUBLIC_URL: 'http://127.0.0.1:8170',
    });
    const { records, audit, feeds } = createServices(db);
    const { tokens, signIn } = await createSignIn(db, records, config, { users: demoUserDirectory(), demo: true });
    const app = buildApp({ records, audit, feeds, db, config, tokens, migrationsUpToDate, signIn });
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
    const people = [
      { label: 'typical (demo person 999 000 0018)', id: await idOf('9990000018') },
      { label: '1,000 items', id: await idOf('9990001030') },
    ];
    await app.listen({ port: 8170, host: '127.0.0.1' });
    const authorization = `Bearer ${await tokens.issue({ id: 'gp-a81001', name: 'Dr Asha Demo-Patel', org: 'A81001', role: 'R8000' })}`;
    const lines: string[] = [];
    const rows: string[] = [];
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
      for (const clients of [1, 16]) {
        const r = await timed(clients, REQUESTS, async () => {
          const res = await app.inject({ url: `/api/patients/${p.id}/summary`, headers: { authorization } });
          if (res.statusCode !== 200) throw new Error(`summary ${String(res.statusCode)}`);
        });
        rows.push(
          `| ${p.label} (${String(items)} resources, basis ${body.access.basis}, ${String(first.body.length)} B) | ${String(clients)} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.rps.toFixed(0)} |`,
        );
        console.log(rows[rows.length - 1]);
      }
    }
    // First render in Chromium: sign in once, then open each person page 5 times.
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const renders: string[] = [];
    try {
      const page = await (
        await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: 'http://127.0.0.1:8170' })
      ).newPage();
      await page.goto('/signin');
      await page.getByRole('button', { name: 'Dr Asha Demo-Patel', exact: true }).click();
      await page.waitForURL('http://127.0.0.1:8170/');
      for (const p of people) {
        const samples: Array<{ response: number; dcl: number; load: number }> = [];
        for (let i = 0; i < 6; i++) {
          await page.goto(`/patient/${p.id}`, { waitUntil: 'load' });
          // Evaluated in the page (a string: the DOM types are not in this project's lib).
          const t = await page.evaluate<{ response: number; dcl: number; load: number }>(
            '(() => { const n = performance.getEntriesByType("navigation")[0]; return { response: n.responseEnd, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd }; })()',
          );
          if (i > 0) samples.push(t);
        }
        const med = (k: 'response' | 'dcl' | 'load') =>
          pct(
            samples.map((s) => s[k]).sort((a, b) => a - b),
            50,
          );
        renders.push(
          `| ${p.label} | ${med('response').toFixed(0)} | ${med('dcl').toFixed(0)} | ${med('load').toFixed(0)} |`,
        );
        console.log(renders[renders.length - 1]);
      }
    } finally {
      await browser.close();
    }
    await app.close();
    const rssMb = process.resourceUsage().maxRSS / 1024;
    lines.push(
      SECTION,
      '',
      `Machine: ${where} (shared with other engineers' work: treat absolute figures as noisy).`,
      `Command: \`npm run bench:viewer\` (${String(REQUESTS)} requests per row, after 20 warm-up requests; PostgreSQL; access decisions and the hash-chained audit trail on: every summary is one audited \`$everything\` read plus one access decision and the names of referenced organisations).`,
      '',
      'Summary endpoint `GET /api/patients/:id/summary` (in-process HTTP with a bearer token), milliseconds:',
      '',
      '| person | clients | p50 ms | p95 ms | requests/s |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
      '',
      'First render of the person page (banner and summary, server-rendered) in Chromium 1280×800, median of 5 navigations after one warm-up, milliseconds from navigation start:',
      '',
      '| person | response end | DOMContentLoaded | load |',
      '| --- | --- | --- | --- |',
      ...renders,
      '',
      `Peak RSS of the benchmark process (server, database client, data load): ${rssMb.toFixed(0)} MB.`,
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

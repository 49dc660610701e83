/**
 * `npm run bench:fhir-feed`: Synthea transaction Bundles (../shared/data/synthea-r4; the hospital and
 * practitioner Bundles first, then each patient's) processed as a transaction by the records service's
 * Bundle processor, as `POST /fhir` does, by two kinds of caller in the same run:
 *
 * - a user (one write per entry, with its per-row visibility check and audit entry: today's path for every
 *   HTTP caller), and
 * - a feed's system actor (`feed:<id>`): the Bundle's creates and updates go through the set write that
 *   `icr import` uses, stamped with the feed's provenance.
 *
 * Resources/s on 1 and 4 concurrent clients, each client posting whole patient Bundles, on PGlite (in
 * memory) and PostgreSQL (`ICR_BENCH_DATABASE_URL`, fresh schema). HTTP parsing is not included: the HTTP
 * API does not yet give a feed a credential of its own (its tokens name users), so a feed's Bundle cannot
 * reach this path over HTTP today. Options: `--files <n>` (patient Bundles per row, default 8),
 * `--only pglite|postgres`, `--no-write`.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { machine, writeSection } from './report.ts';
import { createServices } from '../src/compose.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { checkType, type RecordsService } from '../src/records/records-service.ts';
import { type Actor, SYSTEM_ACTOR } from '../src/shared/actor.ts';
import type { Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { openPglite } from '../src/store/pglite-db.ts';
import { ensureDemoUsers } from '../src/records/demo/demo-access.ts';

const args = process.argv.slice(2);
const files = args.includes('--files') ? Number(args[args.indexOf('--files') + 1]) || 8 : 8;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const write = !args.includes('--no-write');
const pgUrl = process.env.ICR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SYNTHEA = path.resolve(import.meta.dirname, '../../shared/data/synthea-r4');

const names = readdirSync(SYNTHEA).filter((f) => f.endsWith('.json'));
const shared = names.filter((f) => /^(hospital|practitioner)Information/.test(f)).sort();
const patients = names.filter((f) => !shared.includes(f)).sort();
/** A Bundle file without the entries of types the server does not keep (Claim, ExplanationOfBenefit…). */
const load = (f: string) => {
  const bundle = JSON.parse(readFileSync(path.join(SYNTHEA, f), 'utf8')) as {
    entry?: Array<{ resource?: { resourceType?: string } }>;
  };
  bundle.entry = (bundle.entry ?? []).filter((e) => {
    try {
      checkType(e.resource?.resourceType ?? '');
      return true;
    } catch {
      return false;
    }
  });
  return JSON.stringify(bundle);
};
const entries = (text: string) => (JSON.parse(text) as { entry?: unknown[] }).entry?.length ?? 0;

const FEED: Actor = { kind: 'system', systemId: 'feed:bench-fhir', orgOds: 'RX1', via: { channel: 'fhir' } };
const USER: Actor = { kind: 'user', userId: 'gp-a81001', orgOds: 'A81001', role: 'R8000', via: { channel: 'fhir' } };

async function rowFor(records: RecordsService, label: string, who: 'user' | 'feed', clients: number) {
  const actor = who === 'feed' ? FEED : USER;
  const queue = patients.slice(0, files).map(load);
  let resources = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let text = queue.shift(); text !== undefined; text = queue.shift()) {
        const res = await records.processBundle(actor, JSON.parse(text) as FhirResource, 'http://bench/fhir');
        resources += (res as { entry?: unknown[] }).entry?.length ?? 0;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const line = `| ${label} | ${who === 'feed' ? 'feed (set write)' : 'user (one write per entry)'} | ${clients} | ${resources} | ${seconds.toFixed(1)} | ${Math.round(resources / seconds)} |`;
  console.log(line);
  return line;
}

async function run(db: Db, label: string): Promise<string[]> {
  await migrate(db);
  const { records, feeds } = createServices(db);
  await ensureDemoUsers(records);
  await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Bench', kind: 'acute' });
  await feeds.addFeed(SYSTEM_ACTOR, { id: 'bench-fhir', org: 'RX1', protocol: 'fhir' });
  await feeds.approve(SYSTEM_ACTOR, 'bench-fhir', 'bench');
  for (const f of shared) await records.processBundle(FEED, JSON.parse(load(f)) as FhirResource, 'http://bench/fhir');
  await db.exec('analyze');
  const lines: string[] = [];
  // Each row posts the same patient Bundles again; POST entries always create (new ids), so every row
  // writes the same number of new resources.
  for (const clients of [1, 4]) {
    for (const who of ['user', 'feed'] as const) lines.push(await rowFor(records, label, who, clients));
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
const perFile = patients.slice(0, files).map((f) => entries(load(f)));
const text = [
  '## FHIR feed Bundles',
  '',
  `\`npm run bench:fhir-feed\` (bench/fhir-feed-bench.ts), ${machine()}. The machine is shared: compare rows of one run.`,
  `${files} Synthea patient transaction Bundles per row (${perFile.reduce((a, b) => a + b, 0)} entries; entries of types the server does not keep, such as Claim, left out), processed as \`POST /fhir\``,
  'processes them, in process (no HTTP: a feed has no HTTP credential of its own yet). A user writes entry by entry; a',
  "feed's system actor writes the Bundle's creates and updates in one set write (the `icr import` path).",
  '',
  '| database | caller | clients | resources | seconds | resources/s |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
  '',
  `Peak RSS ${Math.round(rss)} MiB. Aim (issue 11): 2,000 resources/s on one client and 4,000/s on four.`,
  '',
].join('\n');
console.log(text);
if (write) await writeSection(new URL('./README.md', import.meta.url).pathname, '## FHIR feed Bundles', text);

/**
 * `npm run bench:fhir-feed`: Synthea transaction Bundles (../shared/data/synthea-r4; the hospital and
 * practitioner Bundles first, then each patient's) POSTed to `/fhir` over HTTP with a FHIR feed's
 * credential, as a GP or hospital system sends them: the real server (bench/fhir-feed-server.ts, a child
 * process: Fastify, auth, the validation worker pool, the records service, audit) on PostgreSQL (a fresh
 * database) and on PGlite (a fresh data directory).
 *
 * Resources/s on 1 and 4 concurrent clients, each client posting whole patient Bundles, with the CPU time
 * that the server process (all its threads) and its PostgreSQL backends spent per row: the machine is
 * shared, so wall-clock rates move with the load of others while CPU per resource does not so much.
 *
 * `--baseline <dir>`: a second checkout (e.g. `git archive <commit> | tar -x -C <dir>`, with node_modules)
 * whose server runs beside this one; rows alternate baseline / this checkout (A/B) in one run.
 * Options: `--files <n>` (patient Bundles per pass, default 8), `--passes <n>` (each row posts the files n
 * times, every pass and row about new people: the Patients' identifiers, family names and birth dates are
 * changed, so that the MPI links each as a new person, as on a feed's first load; default 1), `--rounds <n>` (A/B rounds, default 1),
 * `--only pglite|postgres`, `--prof <dir>` (the servers run with --cpu-prof into dir), `--no-write`.
 * `ICR_BENCH_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/test) is only used to create and
 * drop the fresh databases. Ports 8400–8449.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { machine, writeSection } from './report.ts';
import { checkType } from '../src/records/records-service.ts';

const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const files = Number(opt('--files')) || 8;
const rounds = Number(opt('--rounds')) || 1;
const passes = Number(opt('--passes')) || 1;
const only = opt('--only');
const baseline = opt('--baseline');
const prof = opt('--prof');
const write = !args.includes('--no-write');
const adminUrl = process.env.ICR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const HERE = path.resolve(import.meta.dirname, '..');
const SYNTHEA = path.resolve(HERE, '../shared/data/synthea-r4');
const CLK_TCK = 100; // USER_HZ on Linux

const names = readdirSync(SYNTHEA).filter((f) => f.endsWith('.json'));
const shared = names.filter((f) => /^(hospital|practitioner)Information/.test(f)).sort();
const patients = names.filter((f) => !shared.includes(f)).sort();
interface PatientLike {
  resourceType?: string;
  identifier?: Array<{ value?: string }>;
  name?: Array<{ family?: string }>;
  birthDate?: string;
}
/** A Bundle file without the entries of types the server does not keep (Claim, ExplanationOfBenefit…). */
const load = (f: string) => {
  const bundle = JSON.parse(readFileSync(path.join(SYNTHEA, f), 'utf8')) as {
    entry?: Array<{ resource?: PatientLike }>;
  };
  bundle.entry = (bundle.entry ?? []).filter((e) => {
    try {
      checkType(e.resource?.resourceType ?? '');
      return true;
    } catch {
      return false;
    }
  });
  return { bundle, text: JSON.stringify(bundle), entries: bundle.entry.length };
};
const bodies = patients.slice(0, files).map(load);
const totalEntries = bodies.reduce((a, b) => a + b.entries, 0) * passes;

/** `n` (≥ 1) in letters: 1 → A, 26 → Z, 27 → AA. */
const letters = (n: number): string =>
  n <= 0 ? '' : letters(Math.floor((n - 1) / 26)) + String.fromCharCode(65 + ((n - 1) % 26));

/**
 * The texts row `row` posts: every file once per pass, each pass's Patients made new people — identifier
 * values tagged, family names prefixed (so that their phonetic keys differ too) and birth dates moved — so
 * that the MPI neither links them to earlier copies nor blocks them on the same keys; built before the row's
 * clock starts.
 */
function rowTexts(row: number): string[] {
  const out: string[] = [];
  for (let pass = 0; pass < passes; pass++) {
    const copyNo = row * passes + pass + 1;
    for (const b of bodies) {
      const copy = structuredClone(b.bundle);
      for (const e of copy.entry ?? []) {
        const r = e.resource;
        if (r?.resourceType !== 'Patient') continue;
        for (const id of r.identifier ?? []) if (id.value) id.value = `${id.value}-c${copyNo}`;
        for (const n of r.name ?? []) if (n.family) n.family = `${letters(copyNo)}${n.family.toLowerCase()}`;
        if (r.birthDate && /^\d{4}-\d{2}-\d{2}$/.test(r.birthDate)) {
          const d = new Date(`${r.birthDate}T00:00:00Z`);
          d.setUTCDate(d.getUTCDate() - copyNo * 37);
          r.birthDate = d.toISOString().slice(0, 10);
        }
      }
      out.push(JSON.stringify(copy));
    }
  }
  return out;
}

/** CPU seconds (user + system, all threads) of a process, from /proc; 0 when it is gone or unreadable. */
function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}
function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

interface Server {
  label: string;
  url: string;
  token: string;
  pid: number;
  child: ChildProcess;
  database?: string;
  dataDir?: string;
}

let port = 8400;
async function startServer(root: string, label: string, kind: 'pglite' | 'postgres', admin?: pg.Client) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ICR_BENCH_ROOT: root,
    ICR_HTTP_PORT: String(port++),
    ICR_MLLP_PORT: String(port++),
    ICR_TOKEN_SECRET: 'bench-secret-bench-secret-bench-secret-0123',
    ICR_SESSION_SECRET: 'bench-session-bench-session-bench-session-01',
  };
  let database: string | undefined;
  let dataDir: string | undefined;
  if (kind === 'postgres') {
    database = `icr_bench_${process.pid}_${port}`;
    await admin?.query(`create database ${database}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    env.DATABASE_URL = url.toString();
  } else {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'icr-bench-'));
    env.ICR_DATA_DIR = dataDir;
    delete env.DATABASE_URL;
  }
  const nodeArgs = prof ? ['--cpu-prof', '--cpu-prof-dir', prof, '--cpu-prof-name', `${label}-${kind}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...nodeArgs, path.join(HERE, 'bench/fhir-feed-server.ts')], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server (${label}) exited with ${code}`)));
  });
  const info = JSON.parse(first) as { url: string; token: string; pid: number };
  return { label, ...info, child, database, dataDir } satisfies Server;
}

async function stopServer(s: Server, admin?: pg.Client) {
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGTERM');
  await exited;
  if (s.database) await admin?.query(`drop database if exists ${s.database} with (force)`);
  if (s.dataDir) rmSync(s.dataDir, { recursive: true, force: true });
}

async function post(s: Server, text: string): Promise<number> {
  const res = await fetch(`${s.url}/fhir`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/fhir+json' },
    body: text,
  });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${s.label}: POST /fhir ${res.status}: ${body.slice(0, 500)}`);
  return (JSON.parse(body) as { entry?: unknown[] }).entry?.length ?? 0;
}

/** CPU seconds of each PostgreSQL backend serving `database`, by pid (the server is on this machine). */
async function backendCpu(admin: pg.Client | undefined, database: string | undefined): Promise<Map<number, number>> {
  if (!admin || !database) return new Map();
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [
    database,
  ]);
  return new Map(rows.map((r) => [r.pid, cpuOf(r.pid)]));
}

/** CPU the backends spent between two readings (a backend started meanwhile counts from zero). */
function backendDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0);
  return sum;
}

interface Row {
  db: string;
  server: string;
  clients: number;
  resources: number;
  seconds: number;
  serverCpu: number;
  pgCpu: number;
}

let rowCount = 0;
async function row(s: Server, db: string, clients: number, admin?: pg.Client): Promise<Row> {
  const queue = rowTexts(rowCount++);
  let resources = 0;
  const cpu0 = cpuOf(s.pid);
  const pg0 = await backendCpu(admin, s.database);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let text = queue.shift(); text !== undefined; text = queue.shift()) {
        const n = await post(s, text);
        resources += n;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const r: Row = {
    db,
    server: s.label,
    clients,
    resources,
    seconds,
    serverCpu: cpuOf(s.pid) - cpu0,
    pgCpu: backendDelta(pg0, await backendCpu(admin, s.database)),
  };
  console.log(JSON.stringify(r));
  return r;
}

async function run(kind: 'pglite' | 'postgres'): Promise<{ rows: Row[]; rss: string[] }> {
  const admin = kind === 'postgres' ? new pg.Client({ connectionString: adminUrl }) : undefined;
  await admin?.connect();
  const db = kind === 'postgres' ? 'PostgreSQL' : 'PGlite (file)';
  const servers: Server[] = [];
  try {
    if (baseline) servers.push(await startServer(path.resolve(baseline), 'baseline', kind, admin));
    servers.push(await startServer(HERE, 'this branch', kind, admin));
    for (const s of servers) for (const f of shared) await post(s, load(f).text);
    const rows: Row[] = [];
    // Each row posts the same patient Bundles again; POST entries always create (new ids), so every row
    // writes the same number of new resources. Rows alternate between the servers (A/B).
    for (let n = 0; n < rounds; n++) {
      for (const clients of [1, 4]) for (const s of servers) rows.push(await row(s, db, clients, admin));
    }
    const rss = servers.map((s) => `${s.label} ${peakRssMiB(s.pid)} MiB`);
    return { rows, rss };
  } finally {
    for (const s of servers) await stopServer(s, admin);
    await admin?.end();
  }
}

const started = machine();
const rows: Row[] = [];
const rss: string[] = [];
for (const kind of ['postgres', 'pglite'] as const) {
  if (only && only !== kind) continue;
  const r = await run(kind);
  rows.push(...r.rows);
  rss.push(...r.rss.map((x) => `${kind === 'postgres' ? 'PostgreSQL' : 'PGlite'}: ${x}`));
}
const ms = (s: number, n: number) => ((s * 1000) / n).toFixed(2);
const table = rows.map(
  (r) =>
    `| ${r.db} | ${r.server} | ${r.clients} | ${r.resources} | ${r.seconds.toFixed(2)} | ${Math.round(r.resources / r.seconds)} | ${ms(r.serverCpu, r.resources)} | ${r.db === 'PostgreSQL' ? ms(r.pgCpu, r.resources) : '—'} | ${Math.round(r.resources / (r.serverCpu + r.pgCpu))} |`,
);
const text = [
  '## FHIR feed Bundles',
  '',
  `\`npm run bench:fhir-feed${baseline ? ' -- --baseline <dir>' : ''}\` (bench/fhir-feed-bench.ts), ${started}. The machine is shared: compare rows of one run.`,
  `${files} Synthea patient transaction Bundles${passes > 1 ? `, ${passes} times (each pass about new people: identifiers, family names and birth dates changed),` : ''} per row (${totalEntries} entries; entries of types the server does not keep, such as Claim, left out),`,
  "POSTed to `/fhir` over HTTP with a FHIR feed's credential, to the server in a child process (fresh database each).",
  'CPU: the server process (all threads) and, on PostgreSQL, its backends, per resource; "per CPU-second" is',
  'resources divided by both: the rate a dedicated core pair would approach when nothing else runs.',
  '',
  '| database | server | clients | resources | seconds | resources/s | server CPU ms/resource | PostgreSQL CPU ms/resource | resources per CPU-second |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...table,
  '',
  `Peak RSS of the server processes: ${rss.join('; ')}. Aim (issue 11): 2,000 resources/s on one client and 4,000/s on four.`,
  '',
].join('\n');
console.log(text);
if (write) await writeSection(new URL('./README.md', import.meta.url).pathname, '## FHIR feed Bundles', text);

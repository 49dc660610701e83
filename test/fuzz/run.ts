/**
 * `npm run fuzz`: the long run of the fuzz suite.
 *
 *   npm run fuzz -- [--inputs 1000000] [--feed-inputs 200000] [--requests 100000] [--url http://127.0.0.1:8080 --token <bearer>]
 *                   [--seed 1] [--concurrency 6] [--no-demo] [--skip-inprocess] [--skip-http]
 *                   [--port 8160 --mllp-port 2660]
 *
 * 1. In process: the validator and the search parser and its SQL (test/fuzz/properties.ts), `--inputs`
 *    inputs in all (half each); the HL7 v2 parser and MLLP framing, `--feed-inputs` (200,000) more.
 * 2. Over HTTP: `--requests` generated requests against a live server (test/fuzz/http-fuzzer.ts). Without
 *    `--url` it starts `npm start` itself (src/main.ts, demo data loaded) on `--port` (default a free loopback port) with a
 *    scratch data directory under .scratch/, and stops it at the end.
 *
 * Prints the figures (with machine, date, duration and peak RSS) and every finding; exits 1 when there is
 * one. Findings become regression tests in test/http-hostile.test.ts.
 */
import { spawn, type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { initValidation } from '../../src/fhir/validation.ts';
import { fuzzHttp, type HttpFuzzReport } from './http-fuzzer.ts';
import { runProperties } from './properties.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

const { values: args } = parseArgs({
  options: {
    inputs: { type: 'string', default: '1000000' },
    'feed-inputs': { type: 'string', default: '200000' },
    requests: { type: 'string', default: '100000' },
    url: { type: 'string' },
    token: { type: 'string' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    concurrency: { type: 'string', default: '6' },
    'no-demo': { type: 'boolean', default: false },
    'skip-inprocess': { type: 'boolean', default: false },
    'skip-http': { type: 'boolean', default: false },
    port: { type: 'string' },
    'mllp-port': { type: 'string' },
  },
});

const seed = Number(args.seed);
const log = (s: string) => process.stdout.write(`${s}\n`);

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.availableParallelism()} CPUs (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')}`;
}

function peakRssMiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function startServer(): Promise<{ url: string; token: string; child: ChildProcess; dataDir: string }> {
  const httpPort = args.port ? Number(args.port) : await freePort();
  const mllpPort = args['mllp-port'] ? Number(args['mllp-port']) : await freePort();
  const dataDir = path.join(ROOT, '.scratch', `fuzz-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ICR_HTTP_HOST: '127.0.0.1',
    ICR_HTTP_PORT: String(httpPort),
    ICR_MLLP_PORT: String(mllpPort),
    ICR_DATA_DIR: dataDir,
    ICR_TOKEN_SECRET: randomBytes(32).toString('hex'),
    ICR_ALLOW_DEV_TOKENS: 'true',
    ICR_LOG_LEVEL: 'error',
  };
  delete env.DATABASE_URL;
  const main = path.join(ROOT, 'src', 'main.ts');
  const child = spawn(process.execPath, [main, ...(args['no-demo'] ? ['--no-demo'] : [])], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout?.resume();
  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 300_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error('the server did not start within 5 minutes');
    await new Promise((r) => setTimeout(r, 500));
  }
  const cli = path.join(ROOT, 'src', 'cli', 'index.ts');
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'token', '--user', 'gp-a81001'], { env });
  return { url, token: `Bearer ${stdout.trim()}`, child, dataDir };
}

let failed = false;
const started = new Date();
log(`# fuzz run ${started.toISOString()}, seed ${seed}`);
log(`machine: ${machine()}`);

if (!args['skip-inprocess']) {
  const inputs = Number(args.inputs);
  initValidation();
  const t0 = performance.now();
  try {
    const figures = runProperties(
      Math.ceil(inputs / 2),
      seed,
      Math.ceil(Number(args['feed-inputs']) / 2),
      (name, done, total) => log(`  … ${name}: ${done.toLocaleString('en-GB')} of ${total.toLocaleString('en-GB')}`),
    );
    for (const f of figures) {
      log(
        `in process: ${f.name}: ${f.runs.toLocaleString('en-GB')} inputs in ${(f.ms / 1000).toFixed(1)} s, no unexpected exception`,
      );
    }
  } catch (e) {
    failed = true;
    log(`in process: FAILED\n${e instanceof Error ? e.message : String(e)}`);
  }
  log(
    `in process: ${inputs.toLocaleString('en-GB')} inputs in ${((performance.now() - t0) / 1000).toFixed(1)} s; peak RSS ${Math.round(
      process.resourceUsage().maxRSS / 1024,
    )} MiB`,
  );
}

if (!args['skip-http']) {
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    let url = args.url;
    let token = args.token ?? '';
    if (!url) {
      log('http: starting npm start (src/main.ts) on a free loopback port …');
      server = await startServer();
      url = server.url;
      token = server.token;
    }
    const report: HttpFuzzReport = await fuzzHttp({
      baseUrl: url,
      authorization: token,
      requests: Number(args.requests),
      concurrency: Number(args.concurrency),
      seed,
      onProgress: (n) => log(`  … ${n.toLocaleString('en-GB')} requests`),
    });
    const fiveHundreds = report.findings.filter((f) => f.kind === '5xx' || f.kind === 'no-answer');
    const notOO = report.findings.filter((f) => f.kind === 'not-operation-outcome');
    const slow = report.findings.filter((f) => f.kind === 'slow');
    log(
      `http: ${report.requests.toLocaleString('en-GB')} requests in ${report.seconds.toFixed(0)} s (${Math.round(
        report.requests / report.seconds,
      )}/s); by status ${JSON.stringify(report.byStatus)}; not sent by the client ${report.notSent}`,
    );
    log(`http: refusals by code ${JSON.stringify(report.byCode)}`);
    log(
      `http: answers >= 500: ${fiveHundreds.length}; non-OperationOutcome errors on /fhir: ${notOO.length}; answers over 2 s: ${slow.length}`,
    );
    log(
      `http: /healthz polled ${report.healthz.polls} times, ${report.healthz.over100ms} over 100 ms, slowest ${report.healthz.maxMs.toFixed(
        0,
      )} ms; server event-loop delay max ${report.eventLoopMaxMs.toFixed(0)} ms`,
    );
    if (server?.child.pid) log(`http: server peak RSS ${peakRssMiB(server.child.pid) ?? '?'} MiB`);
    for (const f of report.findings.slice(0, 50))
      log(`  ${f.kind} ${f.status} ${f.ms.toFixed(0)} ms: ${f.request} → ${f.answer}`);
    if (report.findings.length > 0 || report.healthz.over100ms > 0) failed = true;
  } catch (e) {
    failed = true;
    log(`http: FAILED: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await new Promise((r) => server?.child.once('exit', r));
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  }
}

log(
  `duration ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s; fuzzer peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB`,
);
process.exit(failed ? 1 : 0);

/**
 * The server side of `npm run bench:mllp`'s receipt-to-visible part, run as a child process so that the
 * senders (another system, in reality) do not share its thread: the MLLP listener, the intake and the HL7 v2
 * queue worker as src/server.ts composes them (`hl7v2Worker`: rounds applied as sets, time-bounded slices on
 * PGlite; the validation worker pool), on PGlite in memory (`BENCH_DB=pglite`) or PostgreSQL (`BENCH_DB=postgres`,
 * `BENCH_PG_URL`, `BENCH_SCHEMA` created by the bench).
 *
 * It registers and approves an MLLP feed (`bench`, sending facility RX1), then prints one JSON line
 * `{"port", "pid"}` once it listens; then one line `{"v": [control ids]}` each time messages are marked
 * processed (after the commit: their data is visible), which the bench timestamps as it reads them. SIGTERM
 * stops it.
 */
import { loadConfig } from '../src/config/config.ts';
import { createServices, hl7v2Worker } from '../src/compose.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { startMllpListener } from '../src/ingest/mllp/listener.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { openPglite } from '../src/store/pglite-db.ts';
import { createValidationPool } from '../src/workers/validation-pool.ts';

const kind = process.env.BENCH_DB === 'postgres' ? 'postgres' : 'pglite';
const config = loadConfig({ ...process.env, ICR_LOG_LEVEL: 'warn' });
const db =
  kind === 'postgres'
    ? await openPostgres({
        connectionString: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
        ...(process.env.BENCH_SCHEMA ? { schema: process.env.BENCH_SCHEMA } : {}),
      })
    : await openPglite();
const validation = createValidationPool(config.validation);
await migrate(db);
const services = createServices(db, {
  validate: (r) => validation.validate(r),
  validateMany: (rs) => validation.validateMany(rs),
});
// The pool's threads start (and load the R4 definitions) before the clock does.
await validation.validateMany(
  Array.from({ length: 64 }, (_, n) => ({ resourceType: 'Patient', id: `warm${n}`, gender: 'unknown' })),
);
await services.feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Bench', kind: 'acute' });
await services.feeds.addFeed(SYSTEM_ACTOR, { id: 'bench', org: 'RX1', protocol: 'mllp', sendingFacility: 'RX1' });
await services.feeds.approve(SYSTEM_ACTOR, 'bench', 'bench');

const worker = hl7v2Worker(
  db,
  {
    records: services.records,
    feeds: services.feeds,
    onProcessed: (ids) => process.stdout.write(`${JSON.stringify({ v: ids })}\n`),
  },
  {
    onError: (_id, reason) => console.error('job failed', reason),
    // BENCH_ROUND_BUDGET_MS: `none` (rounds in one go) or milliseconds; unset: as the server does.
    ...(process.env.BENCH_ROUND_BUDGET_MS
      ? {
          roundBudgetMs:
            process.env.BENCH_ROUND_BUDGET_MS === 'none' ? null : Number(process.env.BENCH_ROUND_BUDGET_MS),
        }
      : {}),
  },
);
worker.start();
const intake = new Hl7Intake(services.feeds);
intake.onCommitted = () => worker.wake();
const listener = await startMllpListener(intake, { host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ port: listener.port, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void (async () => {
    await listener.close();
    await worker.close();
    await validation.close();
    await db.close();
    process.exit(0);
  })();
});

/**
 * The server side of `npm run bench:fhir-feed`, run as a child process so that its CPU time is its own:
 * the server as `startServer` composes it (validation worker pool, Fastify, auth hook, records service,
 * audit), on PostgreSQL (DATABASE_URL) or PGlite (ICR_DATA_DIR), without demo data. It registers and
 * approves a FHIR feed (`bench-fhir`, organisation RX1), issues the feed's credential, and prints one JSON
 * line `{"url", "token", "pid"}` once it listens; SIGTERM stops it.
 *
 * `ICR_BENCH_ROOT` (default: this checkout) is the checkout whose `src/` is run, so that one bench run can
 * compare two versions of the server (A/B): `--baseline <dir>` in the bench.
 */
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unnecessary-type-assertion --
   the server's modules are imported by path from ICR_BENCH_ROOT, possibly an older checkout (A/B), so they are untyped here */
import path from 'node:path';

const root = process.env.ICR_BENCH_ROOT ?? path.resolve(import.meta.dirname, '..');
const src = (p: string) => import(path.join(root, 'src', p));

const { loadConfig } = await src('config/config.ts');
const { openDatabase } = await src('store/open.ts');
const { migrate } = await src('store/migrate.ts');
const { createServices, loadAccessMatrix } = await src('compose.ts');
const { createSignIn } = await src('compose-sign-in.ts');
const { buildApp } = await src('http/app.ts');
const { createLogger } = await src('http/logging.ts');
const { createValidationPool } = await src('workers/validation-pool.ts');
const { SYSTEM_ACTOR } = await src('shared/actor.ts');

const config = loadConfig({ ...process.env, ICR_LOG_LEVEL: 'warn' });
const log = createLogger('warn');
const db = await openDatabase(config, { statementTimeoutMs: config.limits.statementTimeoutMs });
const validation = createValidationPool(config.validation);
await migrate(db);
const services = createServices(db, {
  auditConfig: config.audit,
  matrix: loadAccessMatrix(config),
  grantHours: config.accessGrantHours,
  validate: (r: unknown) => validation.validate(r),
  // As src/server.ts composes it (the baseline's pool has no validateMany).
  ...(validation.validateMany ? { validateMany: (rs: unknown[]) => validation.validateMany(rs) } : {}),
});
const { tokens, signIn } = await createSignIn(db, services.records, config, {
  users: { find: (id: string) => services.users.find(id), list: () => [] },
  demo: false,
});
await services.feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Bench', kind: 'acute' });
await services.feeds.addFeed(SYSTEM_ACTOR, { id: 'bench-fhir', org: 'RX1', protocol: 'fhir' });
await services.feeds.approve(SYSTEM_ACTOR, 'bench-fhir', 'bench');
const token = await tokens.issueFeed({ id: 'bench-fhir', org: 'RX1' }, { ttlSeconds: 3600 });
const app = buildApp({
  records: services.records,
  audit: services.audit,
  feeds: services.feeds,
  db,
  config,
  logger: log,
  tokens,
  migrationsUpToDate: async () => true,
  signIn,
  admin: services.admin,
  parseBody: (text: string, limits: unknown) => validation.parseBody(text, limits as never),
});
await app.listen({ host: '127.0.0.1', port: config.httpPort });
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${config.httpPort}`, token, pid: process.pid })}\n`);
process.on('SIGTERM', () => {
  void (async () => {
    await app.close();
    await validation.close();
    await db.close();
    process.exit(0);
  })();
});

/**
 * The composition root of a running server: configuration, database, migrations, services, demo data,
 * HTTP. Imported only by the entry points (src/main.ts, `icr serve`).
 */
import type { Logger } from 'pino';
import { createLogger } from './http/logging.ts';
import { startSealer } from './audit/audit-sealer.ts';
import { demoUserDirectory } from './auth/demo-directory.ts';
import { DEMO_USERS } from './auth/demo-users.ts';
import { createServices, hl7v2Worker, loadAccessMatrix, pdsClientFor, sensitiveCodesFor } from './compose.ts';
import { createSignIn } from './compose-sign-in.ts';
import type { Config } from './config/config.ts';
import { buildApp } from './http/app.ts';
import { readFileSync } from 'node:fs';
import { Hl7Intake } from './ingest/mllp/intake.ts';
import { type MllpListener, startMllpListener } from './ingest/mllp/listener.ts';
import { loadDemoData } from './records/demo/demo-load.ts';
import { HL7_QUEUE } from './store/feed-store.ts';
import { migrate, migrationsUpToDate } from './store/migrate.ts';
import { openDatabase } from './store/open.ts';
import { createValidationPool } from './workers/validation-pool.ts';

export interface ServerOptions {
  /** Load demo data on first start (an empty record). */
  demo: boolean;
}

export interface RunningServer {
  url: string;
  /** The MLLP listener's port (HL7 v2 feeds). */
  mllpPort: number;
  close(): Promise<void>;
}

export async function startServer(
  config: Readonly<Config>,
  opts: ServerOptions,
  logger?: Logger,
): Promise<RunningServer> {
  const log = logger ?? createLogger(config.logLevel);
  loadAccessMatrix(config); // a broken matrix stops the start with a precise error, before anything opens
  const db = await openDatabase(config, { statementTimeoutMs: config.limits.statementTimeoutMs });
  let sealer: { stop(): Promise<void> } | undefined;
  // Large bodies are parsed and validated in worker threads, off the event loop (docs/limits.md).
  const validation = createValidationPool(config.validation);
  try {
    const applied = await migrate(db);
    if (applied.length > 0) log.info({ migrations: applied.map((m) => m.version) }, 'database migrated');
    const pdsClient = pdsClientFor(config);
    const sensitive = sensitiveCodesFor(config, { demo: opts.demo });
    if (sensitive) log.info({ codes: sensitive.size, lists: sensitive.sources.length }, 'sensitive code lists loaded');
    const services = createServices(db, {
      ...(pdsClient ? { pdsClient } : {}),
      ...(sensitive ? { sensitive } : {}),
      auditConfig: config.audit,
      matrix: loadAccessMatrix(config),
      grantHours: config.accessGrantHours,
      validate: (r) => validation.validate(r),
      rejectedBounds: config.rejected,
      validateMany: (rs) => validation.validateMany(rs),
    });
    if (opts.demo) await loadDemoData(services.records, { sharedDataDir: config.sharedDataDir, log });
    // Links new audit entries into the hash chain (ADR 0019); stopped before the database closes.
    sealer = startSealer(
      db,
      config.audit.sealIntervalMs,
      (err) => log.error({ err: err instanceof Error ? err.message : 'unknown' }, 'audit sealer failed'),
      { asyncReads: config.audit.readCommit === 'async' },
    );
    if (config.audit.readCommit === 'async') {
      log.warn('reads’ audit entries are committed asynchronously (ICR_AUDIT_READ_COMMIT=async; ADR 0049)');
    }
    // The demo's users until users live in the database (the access work wires its directory here).
    const { tokens, signIn } = await createSignIn(db, services.records, config, {
      // The database directory decides; the demo users (written there by the demo load) are listed on the demo sign-in page.
      users: { find: (id: string) => services.users.find(id), list: () => demoUserDirectory().list() },
      demo: opts.demo,
    });
    const app = buildApp({
      records: services.records,
      audit: services.audit,
      feeds: services.feeds,
      db,
      config,
      logger: log,
      tokens,
      migrationsUpToDate,
      signIn,
      admin: services.admin,
      parseBody: (text, limits) => validation.parseBody(text, limits),
    });
    await app.listen({ host: config.httpHost, port: config.httpPort });
    // HL7 v2 inbox messages are applied by a worker on the PostgreSQL queue (per-person order, retries).
    const hl7Worker = hl7v2Worker(
      db,
      { records: services.records, feeds: services.feeds },
      {
        onError: (jobId) => log.warn({ jobId, queue: HL7_QUEUE }, 'HL7 v2 message not applied (kept with its reason)'),
      },
    );
    hl7Worker.start();
    let mllp: MllpListener;
    try {
      const intake = new Hl7Intake(services.feeds, log);
      intake.onCommitted = () => hl7Worker.wake();
      services.feeds.useIntake(intake);
      mllp = await startMllpListener(intake, {
        host: config.httpHost,
        port: config.mllpPort,
        idleTimeoutMs: config.mllpIdleSeconds * 1000,
        ...(config.mllpTlsCert && config.mllpTlsKey
          ? { tls: { cert: readFileSync(config.mllpTlsCert), key: readFileSync(config.mllpTlsKey) } }
          : {}),
        log,
      });
    } catch (err) {
      await hl7Worker.close();
      await app.close();
      throw err;
    }
    const url = `http://${config.httpHost.includes(':') ? `[${config.httpHost}]` : config.httpHost}:${config.httpPort}`;
    return {
      url,
      mllpPort: mllp.port,
      async close() {
        await mllp.close();
        await hl7Worker.close();
        await app.close();
        await sealer?.stop();
        await validation.close();
        await db.close();
      },
    };
  } catch (err) {
    await sealer?.stop();
    await validation.close();
    await db.close();
    throw err;
  }
}

/** What `npm start` prints once the server is up: where it is and how to use it as a demo user. */
export function startBanner(url: string, config: Readonly<Config>): string {
  const users = DEMO_USERS.map((u) => `    ${u.id.padEnd(22)} ${u.roleName} — ${u.orgName}`).join('\n');
  return [
    '',
    `OpenICR is running at ${url}`,
    `  sign in          ${url}/signin   (demo users; context launch: ${url}/launch?token=…, see docs/sign-in.md)`,
    `  FHIR R4 API      ${url}/fhir   (CapabilityStatement: ${url}/fhir/metadata)`,
    `  health           ${url}/healthz  ${url}/readyz  ${url}/metrics`,
    `  MPI review queue ${url}/api/mpi/reviews   (as data-steward; see docs/mpi.md)`,
    `  HL7 v2 (MLLP)    ${config.httpHost}:${config.mllpPort}${config.mllpTlsCert ? ' (TLS)' : ''}   feeds: ${url}/api/feeds (as integration-engineer; docs/feeds.md)`,
    `  database         ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`}`,
    '',
    '  Demo users (synthetic). Get a bearer token with `npx icr token --user <id>`:',
    users,
    '',
    '  Who sees whom (docs/access.md): gp-a81001 sees the clinical record of the 20 demo people registered at',
    '  A81001 (the first 20 Patient ids) and admin-clerk their demographics, care network and appointments;',
    '  ed-doctor-rns and ward-nurse those with an appointment at RNS next week (every third); social-worker',
    '  those with an LA001 care team (every fourth). Anyone else: demographics only until they declare a',
    '  relationship or use emergency access (POST /api/access/relationships), reviewed by privacy-officer at',
    `  ${url}/api/access/reviews. Users: \`npx icr users list\`; admin API ${url}/api/admin/users (system-admin).`,
    '',
    `  e.g. curl -H "Authorization: Bearer $(npx icr token --user ${DEMO_USERS[0]?.id ?? 'gp-a81001'})" ${url}/fhir/Patient`,
    '',
  ].join('\n');
}

/**
 * The real records service (src/compose.ts) and HTTP app over a test database, for the HTTP tests.
 */
import type { FastifyInstance } from 'fastify';
import { demoUserDirectory } from '../../src/auth/demo-directory.ts';
import { findDemoUser } from '../../src/auth/demo-users.ts';
import type { TokenService } from '../../src/auth/tokens.ts';
import type { AuditLog } from '../../src/audit/audit-record.ts';
import { createServices, pdsClientFor, sensitiveCodesFor } from '../../src/compose.ts';
import { createSignIn } from '../../src/compose-sign-in.ts';
import type { Config } from '../../src/config/config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { buildApp, type SignInDeps } from '../../src/http/app.ts';
import { ensureDemoUsers } from '../../src/records/demo/demo-access.ts';
import type { FeedService } from '../../src/records/feeds/feed-service.ts';
import type { RecordsService } from '../../src/records/records-service.ts';
import type { UserDirectory, UserRecord } from '../../src/shared/users.ts';
import { migrationsUpToDate } from '../../src/store/migrate.ts';
import type { JsonLimits } from '../../src/fhir/json-limits.ts';
import { createValidationPool, type ValidationPool } from '../../src/workers/validation-pool.ts';
import { openTestDb, type TestDb } from './db.ts';

/** A fixed secret for tests (never used outside them). */
export const TEST_TOKEN_SECRET = 'test-secret-test-secret-test-secret-0123456789';
export const TEST_SESSION_SECRET = 'test-session-secret-test-session-secret-0123';

export interface TestAppOptions {
  /** Who may sign in (default: the demo users). */
  users?: UserDirectory & { list?: () => UserRecord[] };
  /** Where audit records go (the records service's and sign-in's), instead of the hash-chained trail. */
  audit?: AuditLog;
  /** Demo mode: the demo sign-in page, and dev tokens unless ICR_ALLOW_DEV_TOKENS=false. */
  demo?: boolean;
  /**
   * Large bodies parsed and validated in worker threads as the server does (config.validation, from
   * ICR_VALIDATION_THREADS and friends); default: everything inline.
   */
  validationPool?: boolean;
}

export interface TestApp {
  app: FastifyInstance;
  t: TestDb;
  records: RecordsService;
  /** The app's feed registry (its replays go through an intake of its own, as the CLI's do). */
  feeds: FeedService;
  tokens: TokenService;
  config: Readonly<Config>;
  signIn: SignInDeps;
  /** The validation pool, when `validationPool` was asked for. */
  pool?: ValidationPool;
  /** `Authorization` header value (a server-signed token) for a demo user (default: the GP). */
  auth(userId?: string): Promise<string>;
  /**
   * Gives a demo user (default: the GP) a relationship with the person of `patientId`: a declared
   * relationship through the API, as a user without one would (docs/access.md).
   */
  relate(patientId: string, userId?: string): Promise<void>;
  close(): Promise<void>;
}

export async function openTestApp(
  kind: 'pglite' | 'postgres' = 'pglite',
  env: Record<string, string> = {},
  opts: TestAppOptions = {},
): Promise<TestApp> {
  const t = await openTestDb(kind);
  const config = loadConfig({
    ICR_TOKEN_SECRET: TEST_TOKEN_SECRET,
    ICR_SESSION_SECRET: TEST_SESSION_SECRET,
    ICR_DATA_DIR: '/nonexistent-test-dir',
    ...env,
  });
  const pdsClient = pdsClientFor(config);
  const sensitive = sensitiveCodesFor(config);
  const pool = opts.validationPool ? createValidationPool(config.validation) : undefined;
  const { records, audit, feeds, admin } = createServices(t.db, {
    ...(pool
      ? { validate: (r: unknown) => pool.validate(r), validateMany: (rs: readonly unknown[]) => pool.validateMany(rs) }
      : {}),
    ...(pdsClient ? { pdsClient } : {}),
    ...(sensitive ? { sensitive } : {}),
    ...(opts.audit ? { auditLog: opts.audit } : {}),
    ...(opts.users ? { userDirectory: opts.users } : {}),
  });
  const { tokens, signIn } = await createSignIn(t.db, records, config, {
    users: opts.users ?? demoUserDirectory(),
    demo: opts.demo ?? false,
    ...(opts.audit ? { audit: opts.audit } : {}),
  });
  const app = buildApp({
    records,
    audit,
    feeds,
    db: t.db,
    config,
    tokens,
    migrationsUpToDate,
    signIn,
    admin,
    ...(pool ? { parseBody: (text: string, limits: JsonLimits) => pool.parseBody(text, limits) } : {}),
  });
  await app.ready();
  await ensureDemoUsers(records);
  const auth = async (userId = 'gp-a81001') => {
    // A demo user, or (when the test passes its own directory) that user in their first profile.
    const configured = findDemoUser(userId) ? undefined : await opts.users?.find(userId);
    const first = configured?.profiles[0];
    const user =
      findDemoUser(userId) ??
      (configured && first
        ? { id: configured.id, name: configured.name, org: first.org, role: first.role }
        : undefined);
    if (!user) throw new Error(`no demo or configured user ${userId}`);
    return `Bearer ${await tokens.issue(user)}`;
  };
  return {
    app,
    t,
    records,
    feeds,
    tokens,
    config,
    signIn,
    ...(pool ? { pool } : {}),
    auth,
    async relate(patientId, userId = 'gp-a81001') {
      const res = await app.inject({
        method: 'POST',
        url: '/api/access/relationships',
        headers: { authorization: await auth(userId), 'content-type': 'application/json' },
        payload: { patient: patientId, kind: 'declared', reason: 'direct-care', text: 'test' },
      });
      if (res.statusCode !== 201) throw new Error(`relate ${patientId}: ${res.statusCode} ${res.body}`);
    },
    async close() {
      await app.close();
      await pool?.close();
      await t.close();
    },
  };
}

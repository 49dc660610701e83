/**
 * The real records service (src/compose.ts) and HTTP app over a test database, for the HTTP tests.
 */
import type { FastifyInstance } from 'fastify';
import { findDemoUser } from '../../src/auth/demo-users.ts';
import { TokenService } from '../../src/auth/tokens.ts';
import { createServices, pdsClientFor } from '../../src/compose.ts';
import type { Config } from '../../src/config/config.ts';
import { loadConfig } from '../../src/config/config.ts';
import type { AuditLog } from '../../src/audit/audit-record.ts';
import { buildApp } from '../../src/http/app.ts';
import { ensureDemoUsers } from '../../src/records/demo/demo-access.ts';
import type { RecordsService } from '../../src/records/records-service.ts';
import { migrationsUpToDate } from '../../src/store/migrate.ts';
import { openTestDb, type TestDb } from './db.ts';

/** A fixed secret for tests (never used outside them). */
export const TEST_TOKEN_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export interface TestApp {
  app: FastifyInstance;
  t: TestDb;
  records: RecordsService;
  tokens: TokenService;
  config: Readonly<Config>;
  /** `Authorization` header value for a demo user (default: the GP). */
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
  opts: { audit?: AuditLog } = {},
): Promise<TestApp> {
  const t = await openTestDb(kind);
  const config = loadConfig({ ICR_TOKEN_SECRET: TEST_TOKEN_SECRET, ICR_DATA_DIR: '/nonexistent-test-dir', ...env });
  const tokens = TokenService.fromConfig(config);
  const pdsClient = pdsClientFor(config);
  const { records, feeds } = createServices(t.db, {
    ...(pdsClient ? { pdsClient } : {}),
    ...(opts.audit ? { auditLog: opts.audit } : {}),
  });
  const app = buildApp({ records, feeds, db: t.db, config, tokens, migrationsUpToDate });
  await app.ready();
  await ensureDemoUsers(records);
  const auth = async (userId = 'gp-a81001') => {
    const user = findDemoUser(userId);
    if (!user) throw new Error(`no demo user ${userId}`);
    return `Bearer ${await tokens.issue(user)}`;
  };
  return {
    app,
    t,
    records,
    tokens,
    config,
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
      await t.close();
    },
  };
}

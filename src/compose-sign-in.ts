/**
 * Wiring of sign-in and launch for the server and the tests: the server's signing keys (database), the
 * token service, the sign-in use cases and the session secret. See docs/sign-in.md.
 */
import { loadOrCreateSecret, TokenService } from './auth/tokens.ts';
import { createAuditLog } from './audit/audit-log.ts';
import type { AuditLog } from './audit/audit-record.ts';
import type { Config } from './config/config.ts';
import type { SignInDeps } from './http/app.ts';
import { DbKeyRing } from './records/sign-in/key-ring.ts';
import type { RecordsService } from './records/records-service.ts';
import { SignInService } from './records/sign-in/sign-in-service.ts';
import { SmartService } from './records/sign-in/smart-service.ts';
import type { UserDirectory, UserRecord } from './shared/users.ts';
import type { Db } from './store/db.ts';

export const SESSION_SECRET_FILE = 'session-secret';

export interface SignInOptions {
  /** Who may sign in (the database directory; the demo directory in the demo). */
  users: UserDirectory & { list?: () => UserRecord[] };
  /** Where launches and sign-ins are audited (default: the hash-chained audit trail). */
  audit?: AuditLog;
  /** The demo: dev tokens accepted unless ICR_ALLOW_DEV_TOKENS=false, and the demo sign-in page. */
  demo: boolean;
  now?: () => Date;
}

export async function createSignIn(
  db: Db,
  records: RecordsService,
  config: Readonly<Config>,
  opts: SignInOptions,
): Promise<{ tokens: TokenService; signIn: SignInDeps }> {
  const keys = await DbKeyRing.open(db, opts.now ? { now: opts.now } : {});
  const tokens = TokenService.fromConfig(config, {
    keys,
    acceptDevTokens: config.allowDevTokens ?? opts.demo,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const service = new SignInService({
    db,
    records,
    users: opts.users,
    audit: opts.audit ?? createAuditLog(),
    publicUrl: config.publicUrl,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const smart = new SmartService({
    db,
    records,
    users: opts.users,
    audit: opts.audit ?? createAuditLog(),
    tokens,
    publicUrl: config.publicUrl,
    refreshSeconds: config.sessionMaxSeconds,
    ...(opts.now ? { now: opts.now } : {}),
  });
  const sessionSecret = config.sessionSecret ?? loadOrCreateSecret(config.dataDir, SESSION_SECRET_FILE);
  const list = opts.users.list;
  return {
    tokens,
    signIn: { service, smart, keys, sessionSecret, ...(opts.demo && list ? { demoUsers: () => list() } : {}) },
  };
}

import type { Command } from 'commander';
import { findDemoUser } from '../auth/demo-users.ts';
import { MemoryKeyRing } from '../auth/keys.ts';
import { TokenService } from '../auth/tokens.ts';
import { createServices } from '../compose.ts';
import { loadConfig } from '../config/config.ts';
import { IcrError } from '../shared/errors.ts';
import { pendingMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action, CliError } from './cli-error.ts';

/**
 * `icr token --user <user-id> [--org <ods> --role <code>]`: prints a bearer token for a configured,
 * enabled user acting in a profile they hold (the first one when none is named). For scripts and tests;
 * needs ICR_ALLOW_DEV_TOKENS (default on).
 */
export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('print a bearer token for a configured user (for scripts and tests; needs ICR_ALLOW_DEV_TOKENS)')
    .requiredOption('--user <user-id>', 'a configured user (see `icr users list`; the demo users after `npm start`)')
    .option('--org <ods>', 'the organisation to act for (one of the user’s profiles)')
    .option('--role <code>', 'the role to act in (one of the user’s profiles)')
    .option('--ttl <seconds>', 'lifetime in seconds (default 8 hours)')
    .action(
      action(async (opts: { user: string; org?: string; role?: string; ttl?: string }) => {
        const config = loadConfig();
        if (config.allowDevTokens === false) {
          throw new CliError('development tokens are disabled on this server (ICR_ALLOW_DEV_TOKENS=false)');
        }
        let ttlSeconds: number | undefined;
        if (opts.ttl !== undefined) {
          ttlSeconds = Number(opts.ttl);
          const max = config.tokenMaxTtlSeconds;
          if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > max) {
            throw new CliError(`--ttl must be a whole number of seconds between 60 and ${max} (ICR_TOKEN_MAX_TTL)`);
          }
        }
        const issue = async (subject: { id: string; name: string; org: string; role: string }) => {
          // A development token (HS256, the dev secret): the server accepts it when ICR_ALLOW_DEV_TOKENS=true
          // or in the demo (`npm start`), never otherwise.
          const tokens = TokenService.fromConfig(config, { keys: await MemoryKeyRing.create(), loadDevSecret: true });
          const token = await tokens.issue(subject, {
            dev: true,
            ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
          });
          process.stdout.write(`${token}\n`);
        };
        let db;
        try {
          db = await openDatabase(config);
        } catch (err) {
          // The embedded database admits one process: while the demo server runs, issue the token without
          // reading the users table. Nothing is lost: the server checks the user, and that they hold the
          // profile, on every request.
          if (!(err instanceof IcrError) || err.code !== 'ICR_DATABASE_UNAVAILABLE') throw err;
          const demo = findDemoUser(opts.user);
          const org = opts.org ?? demo?.org;
          const role = opts.role ?? demo?.role;
          if (!org || !role) {
            throw new CliError(
              `${err.message}\nWhile the server holds the embedded database, name the profile: --org <ods> --role <code>`,
            );
          }
          process.stderr.write(
            'icr: the embedded database is in use by the server; the token is issued unchecked (the server checks the user on every request)\n',
          );
          await issue({ id: opts.user, name: demo?.name ?? opts.user, org, role });
          return;
        }
        try {
          if ((await pendingMigrations(db)).length > 0) {
            throw new CliError('the database schema is not up to date: run `icr migrate` (or start the server) first');
          }
          const { records } = createServices(db, { mpi: false });
          const user = await records.users.get(opts.user);
          if (user.disabled) throw new IcrError('ICR_ACCESS_DENIED', `The user "${user.id}" is disabled`);
          const profile = user.profiles.find(
            (p) => (opts.org === undefined || p.org === opts.org) && (opts.role === undefined || p.role === opts.role),
          );
          if (!profile) {
            const held = user.profiles.map((p) => `${p.org}/${p.role}`).join(', ');
            throw new IcrError('ICR_ACCESS_DENIED', `The user "${user.id}" holds no such profile (holds: ${held})`);
          }
          await issue({ id: user.id, name: user.name, org: profile.org, role: profile.role });
        } finally {
          await db.close();
        }
      }),
    );
}

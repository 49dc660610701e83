import type { Command } from 'commander';
import { DEMO_USERS, findDemoUser } from '../auth/demo-users.ts';
import { MemoryKeyRing } from '../auth/keys.ts';
import { TokenService } from '../auth/tokens.ts';
import { loadConfig } from '../config/config.ts';
import { action, CliError } from './cli-error.ts';

/** `icr token --user <user-id>`: prints a bearer token for a demo user (scripts and tests). */
export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description(
      'print a bearer token for a demo user (for scripts and tests; accepted when ICR_ALLOW_DEV_TOKENS=true or in the demo)',
    )
    .requiredOption('--user <user-id>', `demo user id (${DEMO_USERS.map((u) => u.id).join(', ')})`)
    .option('--ttl <seconds>', 'lifetime in seconds (default 8 hours)')
    .action(
      action(async (opts: { user: string; ttl?: string }) => {
        const config = loadConfig();
        if (config.allowDevTokens === false) {
          throw new CliError('development tokens are disabled on this server (ICR_ALLOW_DEV_TOKENS=false)');
        }
        const user = findDemoUser(opts.user);
        if (!user) {
          throw new CliError(`unknown user "${opts.user}"; known users: ${DEMO_USERS.map((u) => u.id).join(', ')}`);
        }
        let ttlSeconds: number | undefined;
        if (opts.ttl !== undefined) {
          ttlSeconds = Number(opts.ttl);
          const max = config.tokenMaxTtlSeconds;
          if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > max) {
            throw new CliError(`--ttl must be a whole number of seconds between 60 and ${max} (ICR_TOKEN_MAX_TTL)`);
          }
        }
        // A development token (HS256, the dev secret): the server accepts it when ICR_ALLOW_DEV_TOKENS=true
        // or in the demo (`npm start`), never otherwise.
        const tokens = TokenService.fromConfig(config, { keys: await MemoryKeyRing.create(), loadDevSecret: true });
        const token = await tokens.issue(user, { dev: true, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) });
        process.stdout.write(`${token}\n`);
      }),
    );
}

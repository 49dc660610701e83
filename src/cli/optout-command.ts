/**
 * `icr optout --nhs-number <n> --by <user-id> [--in]`: records that a person opts out of the shared care
 * record (or, with --in, back in) as a Consent, on behalf of the configured user who took the request.
 */
import type { Command } from 'commander';
import { createServices, loadAccessMatrix } from '../compose.ts';
import { loadConfig } from '../config/config.ts';
import type { Actor } from '../shared/actor.ts';
import { IcrError } from '../shared/errors.ts';
import { pendingMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action, CliError } from './cli-error.ts';

export function registerOptoutCommand(program: Command): void {
  program
    .command('optout')
    .description('record an opt-out of the shared care record (or back in with --in)')
    .requiredOption('--nhs-number <n>', 'the person’s NHS number (10 digits)')
    .requiredOption('--by <user-id>', 'the configured user who took the request')
    .option('--in', 'opt back in')
    .action(
      action(async (opts: { nhsNumber: string; by: string; in?: boolean }) => {
        const nhs = opts.nhsNumber.replace(/\s+/g, '');
        if (!/^\d{10}$/.test(nhs)) throw new CliError('--nhs-number must be 10 digits');
        const config = loadConfig();
        const db = await openDatabase(config);
        try {
          if ((await pendingMigrations(db)).length > 0) {
            throw new CliError('the database schema is not up to date: run `icr migrate` first');
          }
          const { records } = createServices(db, { matrix: loadAccessMatrix(config) });
          const user = await records.users.get(opts.by);
          const profile = user.profiles[0];
          if (user.disabled || !profile) throw new IcrError('ICR_ACCESS_DENIED', `The user "${user.id}" may not act`);
          const actor: Actor = {
            kind: 'user',
            userId: user.id,
            orgOds: profile.org,
            role: profile.role,
            via: { channel: 'cli' },
          };
          const out = await records.access.optOut(actor, { nhsNumber: nhs }, opts.in === true);
          process.stdout.write(`${opts.in ? 'opted back in' : 'opted out'}: Consent/${out.consent}\n`);
        } finally {
          await db.close();
        }
      }),
    );
}

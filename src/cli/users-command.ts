/**
 * `icr users add <id> --name <text> --org <ods> --role <code> [--org … --role …]` (or again to add a
 * profile), `icr users list [--json]`, `icr users disable <id>` / `enable <id>`. The CLI acts as the
 * product itself; every change is audited (docs/access.md).
 */
import type { Command } from 'commander';
import { createServices } from '../compose.ts';
import { loadConfig } from '../config/config.ts';
import type { RecordsService } from '../records/records-service.ts';
import { SYSTEM_ACTOR } from '../shared/actor.ts';
import type { UserRecord } from '../shared/users.ts';
import { pendingMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action, CliError } from './cli-error.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

async function withRecords(fn: (records: RecordsService) => Promise<void>): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    if ((await pendingMigrations(db)).length > 0) {
      throw new CliError('the database schema is not up to date: run `icr migrate` first');
    }
    await fn(createServices(db, { mpi: false }).records);
  } finally {
    await db.close();
  }
}

const cli = { ...SYSTEM_ACTOR, via: { channel: 'cli' as const } };

export function formatUsers(users: readonly UserRecord[]): string {
  if (users.length === 0) return 'No users configured.\n';
  const lines = users.map(
    (u) =>
      `${u.id.padEnd(24)} ${u.disabled ? 'disabled' : 'enabled '} ${u.profiles.map((p) => `${p.org}/${p.role}`).join(', ')}  ${u.name}`,
  );
  return `${lines.join('\n')}\n`;
}

export function registerUsersCommand(program: Command): void {
  const users = program.command('users').description('configured users and their role profiles (docs/access.md)');

  users
    .command('add <id>')
    .description('add a user, or add role profiles to an existing one (repeat --org/--role pairs)')
    .requiredOption('--name <text>', 'display name')
    .requiredOption('--org <ods>', 'ODS code of an organisation (repeatable, paired with --role)', collect)
    .requiredOption('--role <code>', 'role code, e.g. R8000 (repeatable, paired with --org)', collect)
    .action(
      action(async (id: string, opts: { name: string; org: string[]; role: string[] }) => {
        if (opts.org.length !== opts.role.length) {
          throw new CliError(`give --org and --role in pairs (${opts.org.length} --org, ${opts.role.length} --role)`);
        }
        const profiles = opts.org.map((org, n) => ({ org, role: opts.role[n] ?? '' }));
        await withRecords(async (records) => {
          const user = await records.users.add(cli, { id, name: opts.name, profiles });
          process.stdout.write(formatUsers([user]));
        });
      }),
    );

  users
    .command('list')
    .description('list the configured users')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        await withRecords(async (records) => {
          const list = await records.users.list(cli);
          process.stdout.write(opts.json ? `${JSON.stringify(list, null, 2)}\n` : formatUsers(list));
        });
      }),
    );

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(`${name} <id>`)
      .description(disabled ? 'disable a user: their tokens are refused from now on' : 'enable a disabled user again')
      .action(
        action(async (id: string) => {
          await withRecords(async (records) => {
            const user = await records.users.disable(cli, id, disabled);
            process.stdout.write(formatUsers([user]));
          });
        }),
      );
  }
}

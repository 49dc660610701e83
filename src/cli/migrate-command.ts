import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { migrate, pendingMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action } from './cli-error.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (numbered, forward only, under a lock)')
    .option('--print', 'print the SQL of pending migrations instead of applying them')
    .action(
      action(async (opts: { print?: boolean }) => {
        const config = loadConfig();
        const db = await openDatabase(config);
        try {
          if (opts.print) {
            const pending = await pendingMigrations(db);
            if (pending.length === 0) process.stdout.write('-- no pending migrations\n');
            for (const m of pending)
              process.stdout.write(`-- ${String(m.version).padStart(4, '0')}_${m.name}.sql\n${m.sql}\n`);
            return;
          }
          const applied = await migrate(db);
          if (applied.length === 0) process.stdout.write('Database is up to date.\n');
          for (const m of applied) process.stdout.write(`applied ${String(m.version).padStart(4, '0')}_${m.name}\n`);
        } finally {
          await db.close();
        }
      }),
    );
}

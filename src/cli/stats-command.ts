/**
 * `icr stats [--json]`: counts of current stored resources by type and by feed, for operators. Counts
 * only: no patient data.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { resourceStats, type ResourceStats } from '../records/stats.ts';
import { createServices } from '../compose.ts';
import { pendingMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action, CliError } from './cli-error.ts';

export function registerStatsCommand(program: Command): void {
  program
    .command('stats')
    .description('count the stored resources by type and by feed (no patient data)')
    .option('--json', 'print the counts as JSON')
    .action(
      action(async (flags: { json?: boolean }) => {
        const config = loadConfig();
        const db = await openDatabase(config);
        try {
          const pending = await pendingMigrations(db);
          if (pending.length > 0) throw new CliError('the database schema is not up to date: run `icr migrate` first');
          const { records } = createServices(db);
          const stats = await resourceStats(records);
          process.stdout.write(flags.json ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats));
        } finally {
          await db.close();
        }
      }),
    );
}

function table(title: string, counts: Record<string, number>): string[] {
  const entries = Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const w = Math.max(title.length, ...entries.map(([k]) => k.length));
  const nw = Math.max(5, ...entries.map(([, n]) => String(n).length));
  return [
    `${title.padEnd(w)}  ${'count'.padStart(nw)}`,
    ...entries.map(([k, n]) => `${k.padEnd(w)}  ${String(n).padStart(nw)}`),
  ];
}

export function formatStats(s: ResourceStats): string {
  if (s.total === 0) return 'No resources stored.\n';
  const out = [...table('type', s.byType), '', ...table('feed', s.byFeed), '', `${s.total} current resources in total`];
  return `${out.join('\n')}\n`;
}

import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { runReindex } from '../store/indexing/reindex.ts';
import { migrate } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action } from './cli-error.ts';

/** `icr reindex`: rebuilds the search index from the current resources, in batches. */
export function registerReindexCommand(program: Command): void {
  program
    .command('reindex')
    .description('rebuild the search index from the stored resources (after a search-parameter change)')
    .action(
      action(async () => {
        const config = loadConfig();
        const db = await openDatabase(config);
        try {
          await migrate(db);
          let lastReport = 0;
          const summary = await runReindex(db, (p) => {
            const now = Date.now();
            if (p.orphansRemoved === undefined && now - lastReport < 1000) return;
            lastReport = now;
            process.stderr.write(`indexed ${p.done} of ${p.total} resources\n`);
          });
          const rate = summary.ms > 0 ? Math.round((summary.resources * 1000) / summary.ms) : summary.resources;
          process.stdout.write(
            `Reindexed ${summary.resources} resources in ${(summary.ms / 1000).toFixed(1)} s (${rate}/s); ` +
              `removed ${summary.orphansRemoved} stale index rows.\n`,
          );
        } finally {
          await db.close();
        }
      }),
    );
}

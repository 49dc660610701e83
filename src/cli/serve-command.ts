import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { startBanner, startServer } from '../server.ts';
import { action } from './cli-error.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the FHIR API (and, later, the viewer and MLLP) until interrupted')
    .option('--demo', 'load demo data when the record is empty')
    .action(
      action(async (opts: { demo?: boolean }) => {
        const config = loadConfig();
        const server = await startServer(config, { demo: opts.demo === true });
        process.stdout.write(startBanner(server.url, config));
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        await server.close();
      }),
    );
}

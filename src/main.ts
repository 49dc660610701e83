/**
 * `npm start`: the demo server on the embedded database (or DATABASE_URL), demo data on first start.
 */
import { loadConfig } from './config/config.ts';
import { startBanner, startServer } from './server.ts';

const config = loadConfig();
try {
  const server = await startServer(config, { demo: !process.argv.includes('--no-demo') });
  process.stdout.write(startBanner(server.url, config));
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stdout.write(`\n${signal}: shutting down\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (err) {
  process.stderr.write(`openicr: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

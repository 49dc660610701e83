/**
 * `npm run bench`: runs every benchmark in this folder, one after another (they would disturb each
 * other's figures if run together). Each writes its own section of bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const benches = ['store-bench.ts', 'mpi-match.ts', 'mpi-db.ts'];
let failed = 0;
for (const file of benches) {
  const script = fileURLToPath(new URL(`./${file}`, import.meta.url));
  if (!existsSync(script)) {
    process.stderr.write(`bench: ${file} is missing\n`);
    failed++;
    continue;
  }
  process.stderr.write(`\n=== ${file} ===\n`);
  const res = spawnSync(process.execPath, [script, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (res.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;

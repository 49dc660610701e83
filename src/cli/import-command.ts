/**
 * `icr import <file-or-folder>… --feed <feed-id> [--org <ODS code>] [--json] [--bulk]`: FHIR Bundles and single
 * resources (JSON), NDJSON, folders (recursively, sorted). A progress bar on stderr (plain lines when
 * stderr is not a terminal); the summary per resource type on stdout.
 *
 * Exit codes: 0 everything imported, 1 some entries failed (the good ones are stored), 2 usage errors.
 */
import { type Command, type CommanderError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { createServices, sensitiveCodesFor } from '../compose.ts';
import { loadConfig } from '../config/config.ts';
import { InputPathError, listSourceFiles } from '../ingest/files/list-files.ts';
import { readSources } from '../ingest/files/read-sources.ts';
import { type ImportProgress, importBatches } from '../records/import/import.ts';
import { describeFailure, type ImportSummary, type TypeCounts } from '../records/import/summary.ts';
import { importTargetFor } from '../records/import/target.ts';
import { withBulkLink } from '../records/mpi/bulk-link.ts';
import type { RecordsService } from '../records/records-service.ts';
import { FeedService } from '../records/feeds/feed-service.ts';
import { migrate } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action, CliError } from './cli-error.ts';

const FEED_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ODS_CODE = /^[A-Za-z0-9]{2,12}$/;
/** Failures listed in the text summary; `--json` lists them all. */
const LISTED_FAILURES = 50;

interface ImportFlags {
  feed: string;
  org?: string;
  json?: boolean;
  bulk?: boolean;
}

/** Usage errors exit with 2 (commander's own default is 1). */
function usageExit(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('import FHIR Bundles, resources and NDJSON files (or folders of them) into the record')
    .argument('<paths...>', 'files or folders (read recursively, in sorted order)')
    .addOption(
      new Option(
        '--feed <feed-id>',
        'the registered feed these files come from (`icr feeds add <id> --org <ods> --protocol file`), kept as provenance',
      ).makeOptionMandatory(),
    )
    .option('--org <ods-code>', "ODS code of the source organisation (default: the feed's organisation)")
    .option('--json', 'print the summary as JSON')
    .option(
      '--bulk',
      'a first load: hold the MPI alone for the whole import and match against an in-memory index of every held record (docs/mpi.md); other MPI writers wait until it ends',
    )
    .exitOverride(usageExit)
    .action(action(async (paths: string[], flags: ImportFlags) => runImport(paths, flags)));
}

async function runImport(paths: string[], flags: ImportFlags): Promise<void> {
  if (!FEED_ID.test(flags.feed))
    throw new CliError(`--feed "${flags.feed}" is not a valid feed id (letters, digits, . _ -)`);
  if (flags.org !== undefined && !ODS_CODE.test(flags.org))
    throw new CliError(`--org "${flags.org}" is not an ODS code`);
  let files;
  try {
    files = await listSourceFiles(paths);
  } catch (err) {
    if (err instanceof InputPathError) throw new CliError(err.message);
    throw err;
  }
  if (files.length === 0) throw new CliError('no files to import');

  const config = loadConfig();
  const db = await openDatabase(config);
  let summary: ImportSummary;
  try {
    await migrate(db);
    // The feed must be registered (`icr feeds add … --protocol file`) and not suspended.
    const feed = await new FeedService({ db }).checkIntake(flags.feed, 'file');
    const sensitive = sensitiveCodesFor(config);
    const services = createServices(db, sensitive ? { sensitive } : {});
    const progress = progressReporter(files.length);
    const run = (records: RecordsService, bulk?: { committed: () => void }) =>
      importBatches(
        importTargetFor(records, bulk?.committed),
        // The JSON limits of the FHIR API (docs/limits.md) hold here too: an entry past them is named and not stored.
        readSources(files, { hl7: { feedId: feed.id, orgOds: feed.orgOds }, limits: config.limits }),
        {
          feedId: flags.feed,
          sourceOrg: flags.org ?? feed.orgOds,
          onProgress: progress.update,
          // A bulk link assigns one set at a time (its index holds the writes of the set in flight).
          ...(bulk ? { concurrency: 1 } : {}),
        },
      );
    try {
      const mpi = services.mpi;
      summary =
        flags.bulk && mpi
          ? await withBulkLink(db, mpi.ctx, (linker) => {
              // Says which mode runs, and what the index holds (counts only: no patient data).
              process.stderr.write(
                `bulk link: the MPI is held by this import; ${String(linker.stats.links)} linked records and ` +
                  `${String(linker.stats.keys)} blocking keys indexed in ${linker.stats.buildSeconds.toFixed(1)} s\n`,
              );
              return run(
                createServices(db, { ...(sensitive ? { sensitive } : {}), mpiContext: () => linker.ctx }).records,
                linker,
              );
            })
          : await run(services.records);
    } finally {
      progress.stop();
    }
  } finally {
    await db.close();
  }
  process.stdout.write(flags.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
  process.exitCode = summary.totals.failed > 0 ? 1 : 0;
}

/** A progress bar on a terminal; otherwise a plain line every few seconds. */
function progressReporter(totalFiles: number): { update: (p: ImportProgress) => void; stop: () => void } {
  const started = performance.now();
  const rate = (entries: number) => Math.round(entries / Math.max(0.001, (performance.now() - started) / 1000));
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: 'import [{bar}] {value}/{total} files | {entries} entries | {rate}/s | {duration_formatted}',
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalFiles, 0, { entries: 0, rate: 0 });
    return {
      update: (p) => bar.update(p.filesDone, { entries: p.entriesDone, rate: rate(p.entriesDone) }),
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update: (p) => {
      const now = performance.now();
      if (now - last < 2000 && p.filesDone < totalFiles) return;
      last = now;
      process.stderr.write(
        `import: ${p.filesDone}/${totalFiles} files, ${p.entriesDone} entries, ${rate(p.entriesDone)}/s\n`,
      );
    },
    stop: () => undefined,
  };
}

const COLUMNS: ReadonlyArray<keyof TypeCounts> = ['created', 'updated', 'unchanged', 'skipped', 'failed'];

/** The text summary: a table per resource type, totals, rate, then notices and failures. */
export function formatSummary(s: ImportSummary): string {
  const rows: string[][] = [['type', ...COLUMNS]];
  for (const [type, c] of Object.entries(s.byType)) rows.push([type, ...COLUMNS.map((k) => String(c[k]))]);
  rows.push(['total', ...COLUMNS.map((k) => String(s.totals[k]))]);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const out: string[] = [];
  out.push(
    `Imported feed "${s.feedId}" (source organisation ${s.sourceOrg}): ${s.files.read} files read, ${s.files.skipped} skipped`,
  );
  out.push('');
  rows.forEach((r, n) => {
    if (n === rows.length - 1) out.push(widths.map((w) => '-'.repeat(w)).join('  '));
    out.push(line(r));
  });
  const { created, updated, unchanged } = s.totals;
  out.push('');
  // "Stored" would claim writes for a re-import that changed nothing: say what happened to them.
  out.push(
    `${created + updated + unchanged} resources in ${(s.elapsedMs / 1000).toFixed(1)} s (${s.resourcesPerSecond} resources/s): ` +
      `${created} created, ${updated} updated, ${unchanged} already held unchanged`,
  );
  const dedup = Object.entries(s.deduplicated);
  if (dedup.length > 0) {
    out.push(`Copies merged by identifier (counted as unchanged): ${dedup.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  }
  const sensitive = Object.entries(s.excludedSensitive);
  if (sensitive.length > 0) {
    out.push(
      `Not stored, carrying a sensitive code (counted as skipped): ${sensitive.map(([t, n]) => `${t} ${n}`).join(', ')}`,
    );
  }
  const skipped = Object.entries(s.skippedTypes);
  if (skipped.length > 0) {
    out.push(`Skipped by type (not held by OpenICR): ${skipped.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  }
  for (const n of s.notices) out.push(`Notice: ${n.file}: ${n.message}`);
  if (s.failures.length > 0) {
    out.push('');
    out.push(`Failures (${s.totals.failed}):`);
    for (const f of s.failures.slice(0, LISTED_FAILURES)) out.push(`  ${describeFailure(f)}`);
    const more = s.totals.failed - Math.min(s.failures.length, LISTED_FAILURES);
    if (more > 0) out.push(`  … and ${more} more (use --json to list them all)`);
  }
  return `${out.join('\n')}\n`;
}

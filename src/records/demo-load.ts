/**
 * Demo data on first start: when the record holds no Patient, import the Synthea set from the shared data
 * folder (`<sharedDataDir>/synthea-r4`, feed `synthea-demo`) when it is there, else the small built-in
 * synthetic sample (`src/demo/sample-bundle.json`: 3 people with 999-range NHS numbers, feed
 * `demo-sample`). Progress lines name files and counts only, never patient data.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importBatches } from './import.ts';
import { entriesFromDocument, type ImportBatch } from './import-entries.ts';
import type { ImportSummary } from './import-summary.ts';
import { importTargetFor } from './import-target.ts';
import type { RecordsService } from './records-service.ts';
import { hasPatients } from './stats.ts';

export const SYNTHEA_DEMO_FEED = 'synthea-demo';
export const SAMPLE_DEMO_FEED = 'demo-sample';
const SAMPLE_BUNDLE = fileURLToPath(new URL('../demo/sample-bundle.json', import.meta.url));

/** A plain function or a logger with `info` (pino). */
export type DemoLog = ((message: string) => void) | { info(message: string): void };

export interface DemoLoadResult {
  loaded: 'synthea' | 'sample' | 'none';
  summary?: ImportSummary;
}

async function* jsonFileBatches(files: readonly string[], root: string): AsyncGenerator<ImportBatch> {
  for (const file of files) {
    const base = {
      file: path.basename(file),
      sourceKey: path.relative(root, file).split(path.sep).join('/'),
      lastOfFile: true,
    };
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      yield {
        ...base,
        unit: 'file',
        entries: [],
        error: 'malformed JSON or unreadable file (check it with `icr import`)',
      };
      continue;
    }
    const read = entriesFromDocument(doc);
    yield 'error' in read
      ? { ...base, unit: 'file', entries: [], error: read.error }
      : { ...base, unit: read.unit, entries: read.entries };
  }
}

export async function loadDemoData(
  records: RecordsService,
  opts: { sharedDataDir: string; log: DemoLog },
): Promise<DemoLoadResult> {
  const log = typeof opts.log === 'function' ? opts.log : opts.log.info.bind(opts.log);
  if (await hasPatients(records)) {
    log('demo data: the record already holds patients; nothing loaded');
    return { loaded: 'none' };
  }
  const dir = path.join(opts.sharedDataDir, 'synthea-r4');
  let files: string[] = [];
  if (existsSync(dir)) {
    files = (await readdir(dir))
      .filter((f) => f.toLowerCase().endsWith('.json'))
      .sort()
      .map((f) => path.join(dir, f));
  }
  const synthea = files.length > 0;
  if (!synthea) files = [SAMPLE_BUNDLE];
  const feedId = synthea ? SYNTHEA_DEMO_FEED : SAMPLE_DEMO_FEED;
  log(
    synthea
      ? `demo data: importing ${files.length} Synthea files from ${dir} (feed ${feedId})`
      : `demo data: ${dir} not found; importing the built-in synthetic sample (feed ${feedId})`,
  );
  let lastLog = performance.now();
  const summary = await importBatches(importTargetFor(records), jsonFileBatches(files, path.dirname(files[0] ?? dir)), {
    feedId,
    onProgress: (p) => {
      if (performance.now() - lastLog < 2000 && p.filesDone < files.length) return;
      lastLog = performance.now();
      log(`demo data: ${p.filesDone}/${files.length} files, ${p.entriesDone} entries`);
    },
  });
  const t = summary.totals;
  const skipped = Object.entries(summary.skippedTypes)
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  log(
    `demo data: ${t.created} created, ${t.updated} updated, ${t.unchanged} unchanged, ${t.skipped} skipped` +
      `${skipped ? ` (${skipped})` : ''}, ${t.failed} failed in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
  );
  for (const f of summary.failures.slice(0, 20))
    log(`demo data: failed: ${f.file} ${f.where}: ${f.code}: ${f.message}`);
  return { loaded: synthea ? 'synthea' : 'sample', summary };
}

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
import { AMBULANCE_FEED, communityRecords, SOCIAL_CARE_FEED } from './community.ts';
import { type DemoRelationships, ensureDemoUsers, loadDemoRelationships } from './demo-access.ts';
import { GP_FEED, HOSPITAL_FEED, viewerJourneyRecords } from './viewer-journeys.ts';
import type { FhirResource } from '../../fhir/types.ts';
import { SYSTEM_ACTOR } from '../../shared/actor.ts';
import { FeedService } from '../feeds/feed-service.ts';
import { importBatches } from '../import/import.ts';
import { entriesFromDocument, type ImportBatch } from '../import/entries.ts';
import type { ImportSummary } from '../import/summary.ts';
import { importTargetFor } from '../import/target.ts';
import type { RecordsService } from '../records-service.ts';
import { hasPatients } from '../stats.ts';

export const SYNTHEA_DEMO_FEED = 'synthea-demo';
export const SAMPLE_DEMO_FEED = 'demo-sample';
const SAMPLE_BUNDLE = fileURLToPath(new URL('../../demo/sample-bundle.json', import.meta.url));

/** A plain function or a logger with `info` (pino). */
export type DemoLog = ((message: string) => void) | { info(message: string): void };

export interface DemoLoadResult {
  loaded: 'synthea' | 'sample' | 'none';
  summary?: ImportSummary;
  /** The other organisations' records of the same people (social care, ambulance), per feed. */
  community?: Record<string, ImportSummary>;
  relationships?: DemoRelationships;
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
  await ensureDemoUsers(records);
  await registerDemoFeeds(records);
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
  const community = await loadCommunity(records, log);
  await loadViewerJourneys(records, log);
  const rel = await loadDemoRelationships(records, await patientIds(records));
  log(
    `demo data: relationships: ${rel.registered} people registered at A81001, ${rel.appointments} with an appointment at RNS, ${rel.careTeams} with an LA001 care team`,
  );
  return { loaded: synthea ? 'synthea' : 'sample', summary, community, relationships: rel };
}

/** The ids of the Patients the import created (the source records of the demo people). */
async function patientIds(records: RecordsService): Promise<string[]> {
  const json = await records.search(SYSTEM_ACTOR, 'Patient', new URLSearchParams({ _count: '1000', _elements: 'id' }), {
    baseUrl: 'urn:openicr:demo',
  });
  const bundle = JSON.parse(json) as { entry?: Array<{ resource: { id: string; identifier?: unknown[] } }> };
  return (bundle.entry ?? []).map((e) => e.resource.id);
}

/** The demo's organisations and feeds, registered live (idempotent): what `icr import --feed` and MLLP need. */
export const DEMO_FEEDS = [
  {
    org: { ods: 'DEMOSYN', name: 'Synthea demo hospital', kind: 'acute' },
    feed: { id: SYNTHEA_DEMO_FEED, protocol: 'file' },
  },
  {
    org: { ods: 'DEMOSYN', name: 'Synthea demo hospital', kind: 'acute' },
    feed: { id: SAMPLE_DEMO_FEED, protocol: 'file' },
  },
  {
    org: { ods: 'DEMOSC', name: 'Demo council adult social care', kind: 'social-care' },
    feed: { id: SOCIAL_CARE_FEED, protocol: 'file' },
  },
  {
    org: { ods: 'DEMOAMB', name: 'Demo ambulance service', kind: 'ambulance' },
    feed: { id: AMBULANCE_FEED, protocol: 'file' },
  },
  {
    org: { ods: 'A81001', name: 'Demo GP practice A81001', kind: 'gp' },
    feed: { id: GP_FEED, protocol: 'file', system: 'Demo GP system' },
  },
  {
    org: { ods: 'RNS', name: 'Demo acute trust', kind: 'acute' },
    feed: { id: HOSPITAL_FEED, protocol: 'file', system: 'Demo hospital EPR' },
  },
  {
    org: { ods: 'DEMOHOSP', name: 'Demo acute hospital (HL7 v2 PAS and lab)', kind: 'acute' },
    feed: { id: 'demo-pas', protocol: 'mllp', system: 'Demo PAS', sendingFacility: 'DEMOHOSP' },
  },
] as const;

async function registerDemoFeeds(records: RecordsService): Promise<void> {
  const feeds = new FeedService({ db: records.db });
  for (const d of DEMO_FEEDS) {
    await feeds.ensure(SYSTEM_ACTOR, { ...d.org }, { ...d.feed, org: d.org.ods }, 'openicr-demo');
  }
}

/**
 * The same people as other organisations record them (src/demo/community.ts), each organisation as its
 * own feed, so that the master patient index links, reviews or keeps apart what arrives.
 */
async function loadCommunity(
  records: RecordsService,
  log: (message: string) => void,
): Promise<Record<string, ImportSummary>> {
  const json = await records.search(SYSTEM_ACTOR, 'Patient', new URLSearchParams({ _count: '1000' }), {
    baseUrl: 'urn:openicr:demo',
  });
  const bundle = JSON.parse(json) as { entry?: Array<{ resource: FhirResource & { id: string } }> };
  const { socialCare, ambulance } = communityRecords((bundle.entry ?? []).map((e) => e.resource));
  const out: Record<string, ImportSummary> = {};
  for (const [feedId, resources] of [
    [SOCIAL_CARE_FEED, socialCare],
    [AMBULANCE_FEED, ambulance],
  ] as const) {
    if (resources.length === 0) continue;
    const batch: ImportBatch = {
      file: `${feedId} (generated)`,
      sourceKey: feedId,
      unit: 'entry',
      entries: resources.map((resource, position) => ({ position, resource })),
      lastOfFile: true,
    };
    const summary = await importBatches(importTargetFor(records), [batch], { feedId });
    out[feedId] = summary;
    log(`demo data: ${feedId}: ${summary.totals.created} created, ${summary.totals.failed} failed`);
    for (const f of summary.failures.slice(0, 5)) log(`demo data: failed: ${f.where}: ${f.code}: ${f.message}`);
  }
  return out;
}

/**
 * The GP's and the hospital's own records of one demo person (src/records/demo/viewer-journeys.ts): what the
 * viewer's medicine reconciliation, result trends and documents show.
 */
async function loadViewerJourneys(records: RecordsService, log: (message: string) => void): Promise<void> {
  const json = await records.search(SYSTEM_ACTOR, 'Patient', new URLSearchParams({ _count: '1000' }), {
    baseUrl: 'urn:openicr:demo',
  });
  const bundle = JSON.parse(json) as { entry?: Array<{ resource: FhirResource & { id: string } }> };
  const { gp, hospital } = viewerJourneyRecords(
    (bundle.entry ?? []).map((e) => e.resource),
    new Date(),
  );
  for (const [feedId, sourceOrg, resources] of [
    [GP_FEED, 'A81001', gp],
    [HOSPITAL_FEED, 'RNS', hospital],
  ] as const) {
    if (resources.length === 0) continue;
    const batch: ImportBatch = {
      file: `${feedId} (generated)`,
      sourceKey: feedId,
      unit: 'entry',
      entries: resources.map((resource, position) => ({ position, resource })),
      lastOfFile: true,
    };
    const summary = await importBatches(importTargetFor(records), [batch], { feedId, sourceOrg });
    log(`demo data: ${feedId}: ${summary.totals.created} created, ${summary.totals.failed} failed`);
    for (const f of summary.failures.slice(0, 5)) log(`demo data: failed: ${f.where}: ${f.code}: ${f.message}`);
  }
}

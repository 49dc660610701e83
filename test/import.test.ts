/**
 * `icr import` end to end through the records service, on PGlite (and PostgreSQL when configured):
 * the whole Synthea set (distinct resources stored once, skipped types counted, a re-import changes
 * nothing), and the failure reports (malformed JSON, an invalid entry, a bad NDJSON line).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { listSourceFiles } from '../src/ingest/files/list-files.ts';
import { HL7_NO_FEED, readSources } from '../src/ingest/files/read-sources.ts';
import { isSupportedType } from '../src/fhir/types.ts';
import { importBatches } from '../src/records/import/import.ts';
import { DEDUPLICATED_TYPES, identifierKeys } from '../src/records/import/ids.ts';
import type { ImportSummary } from '../src/records/import/summary.ts';
import { importTargetFor } from '../src/records/import/target.ts';
import { loadDemoData } from '../src/records/demo/demo-load.ts';
import type { RecordsService } from '../src/records/records-service.ts';
import { resourceStats } from '../src/records/stats.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { openTestDb, type TestDb, testDatabases } from './helpers/db.ts';
import { createServices } from '../src/compose.ts';
import type { Db } from '../src/store/db.ts';

const SYNTHEA = path.resolve(import.meta.dirname, '../../shared/data/synthea-r4');
const haveSynthea = existsSync(SYNTHEA);
const SKIP_SYNTHEA = haveSynthea ? false : `Synthea data not found at ${SYNTHEA} (../shared/data/synthea-r4): skipped`;

async function recordsFor(db: Db): Promise<RecordsService> {
  return createServices(db).records;
}

async function importPaths(records: RecordsService, paths: string[], feedId: string): Promise<ImportSummary> {
  return importBatches(importTargetFor(records), readSources(await listSourceFiles(paths)), {
    feedId,
    sourceOrg: 'Y99901',
  });
}

/** Expected stored counts, computed from the files independently of the importer. */
function expectedFromFiles(dir: string): {
  stored: Record<string, number>;
  skipped: Record<string, number>;
  entries: number;
} {
  const distinct = new Map<string, Set<string>>();
  const skipped: Record<string, number> = {};
  let entries = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const bundle = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as {
      entry: Array<{ resource: Record<string, unknown> & { resourceType: string; id: string } }>;
    };
    for (const { resource } of bundle.entry) {
      entries++;
      const type = resource.resourceType;
      if (!isSupportedType(type)) {
        skipped[type] = (skipped[type] ?? 0) + 1;
        continue;
      }
      const idents = identifierKeys(resource);
      const key =
        DEDUPLICATED_TYPES.has(type) && idents.length > 0 ? `${idents[0]?.system}|${idents[0]?.value}` : resource.id;
      const set = distinct.get(type) ?? new Set<string>();
      set.add(key);
      distinct.set(type, set);
    }
  }
  return { stored: Object.fromEntries([...distinct].map(([t, s]) => [t, s.size])), skipped, entries };
}

for (const kind of testDatabases) {
  describe(`import of the Synthea set (${kind})`, { skip: SKIP_SYNTHEA }, () => {
    let t: TestDb;
    let records: RecordsService;
    let first: ImportSummary;
    const expected = haveSynthea ? expectedFromFiles(SYNTHEA) : { stored: {}, skipped: {}, entries: 0 };

    before(async () => {
      t = await openTestDb(kind);
      records = await recordsFor(t.db);
      first = await importPaths(records, [SYNTHEA], 'synthea');
    });
    after(async () => t?.close());

    it('stores each distinct resource once: counts per type equal the distinct resources in the files', async () => {
      assert.deepEqual(first.failures, []);
      assert.equal(first.files.read, 42);
      assert.deepEqual(first.notices, [
        {
          file: path.join(SYNTHEA, 'README.md'),
          message: 'not an import file (expected .json, .ndjson or .hl7): ignored',
        },
      ]);
      const stats = await resourceStats(records);
      assert.deepEqual(stats.byType, expected.stored);
      assert.equal(stats.byType.Organization, 102, 'Organizations repeated across bundles are stored once');
      assert.equal(stats.byType.Practitioner, 102, 'Practitioners repeated across bundles are stored once');
      assert.deepEqual(stats.byFeed, { synthea: stats.total });
      for (const [type, n] of Object.entries(expected.stored)) assert.equal(first.byType[type]?.created, n, type);
      assert.deepEqual(first.deduplicated, { Organization: 51, Practitioner: 51 });
    });

    it('reports the types it does not hold as skipped, by type and count', () => {
      assert.deepEqual(first.skippedTypes, expected.skipped);
      assert.deepEqual(first.skippedTypes, { Claim: 493, ExplanationOfBenefit: 395, ImagingStudy: 8 });
      assert.equal(first.totals.skipped, 896);
      const t0 = first.totals;
      assert.equal(t0.created + t0.updated + t0.unchanged + t0.skipped + t0.failed, expected.entries);
    });

    it('rewrites urn:uuid references to Type/id and keeps provenance', async () => {
      const michele = await records.read(SYSTEM_ACTOR, 'Patient', '0f49d2d0-59be-4f72-a22b-0a582367b44b');
      assert.ok(michele.json);
      const bundle = JSON.parse(await records.everything(SYSTEM_ACTOR, michele.id, 'http://x/fhir')) as {
        total: number;
        entry: Array<{
          resource: { resourceType: string; subject?: { reference: string }; serviceProvider?: { reference: string } };
        }>;
      };
      assert.ok(bundle.total >= 150, `everything returned ${bundle.total}`);
      const enc = bundle.entry.find((e) => e.resource.resourceType === 'Encounter')?.resource;
      assert.equal(enc?.subject?.reference, `Patient/${michele.id}`);
      assert.match(enc?.serviceProvider?.reference ?? '', /^Organization\/[0-9a-f-]{36}$/);
      const row = await records.store.read(records.db, 'Patient', michele.id);
      assert.equal(row?.feedId, 'synthea');
      assert.equal(row?.sourceOrg, 'Y99901');
      assert.equal(row?.sourceId, 'urn:uuid:0f49d2d0-59be-4f72-a22b-0a582367b44b');
      assert.ok(row?.receivedAt);
    });

    it('changes nothing when the same files are imported again', async () => {
      const before = await resourceStats(records);
      const again = await importPaths(records, [SYNTHEA], 'synthea');
      assert.deepEqual(again.failures, []);
      assert.equal(again.totals.created, 0);
      assert.equal(again.totals.updated, 0);
      assert.equal(again.totals.unchanged, first.totals.created + first.totals.unchanged);
      assert.deepEqual(again.skippedTypes, first.skippedTypes);
      assert.deepEqual(await resourceStats(records), before);
    });
  });
}

const VALID_OBS = {
  resourceType: 'Observation',
  status: 'final',
  code: { text: 'x' },
  subject: { reference: 'urn:uuid:11111111-1111-4111-8111-111111111111' },
};

for (const kind of testDatabases) {
  describe(`import failures are named by file and entry (${kind})`, () => {
    let t: TestDb;
    let records: RecordsService;
    let dir: string;
    let summary: ImportSummary;

    before(async () => {
      t = await openTestDb(kind);
      records = await recordsFor(t.db);
      dir = mkdtempSync(path.join(tmpdir(), 'icr-import-'));
      writeFileSync(
        path.join(dir, 'broken.json'),
        '{\n  "resourceType": "Bundle",\n  "type": "collection"\n  "entry": []\n}\n',
      );
      writeFileSync(
        path.join(dir, 'bundle.json'),
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111',
              resource: { resourceType: 'Patient', gender: 'female' },
              request: { method: 'POST', url: 'Patient' },
            },
            { resource: { ...VALID_OBS, status: 'not-a-status' }, request: { method: 'POST', url: 'Observation' } },
            { resource: VALID_OBS, request: { method: 'POST', url: 'Observation' } },
            { resource: { resourceType: 'Claim', id: 'c1' }, request: { method: 'POST', url: 'Claim' } },
          ],
        }),
      );
      writeFileSync(
        path.join(dir, 'lines.ndjson'),
        [
          JSON.stringify({ resourceType: 'Patient', id: 'nd1' }),
          '{"resourceType": "Patient", "id": ',
          JSON.stringify({ resourceType: 'Patient', id: 'nd3' }),
        ].join('\n'),
      );
      writeFileSync(path.join(dir, 'adt.hl7'), 'MSH|^~\\&|X\r');
      summary = await importPaths(records, [dir], 'test-feed');
    });
    after(async () => {
      rmSync(dir, { recursive: true, force: true });
      await t?.close();
    });

    it('names malformed JSON by file and line:column', () => {
      const f = summary.failures.find((x) => x.file.endsWith('broken.json'));
      assert.equal(f?.message, "malformed JSON at line 4:3 (expected ',' or '}' after property value)");
    });

    it('names an invalid entry by file and entry index, with FHIRPath, and writes the rest of the bundle', async () => {
      const f = summary.failures.find((x) => x.file.endsWith('bundle.json'));
      assert.equal(f?.where, 'entry 1');
      assert.equal(f?.resourceType, 'Observation');
      assert.equal(f?.code, 'ICR_VALIDATION_FAILED');
      assert.ok(
        f?.details.some((d) => d.includes('Observation.status')),
        JSON.stringify(f?.details),
      );
      assert.equal(summary.byType.Observation?.created, 1);
      assert.equal(summary.byType.Observation?.failed, 1);
      assert.deepEqual(summary.skippedTypes, { Claim: 1 });
      const search = JSON.parse(
        await records.search(SYSTEM_ACTOR, 'Observation', new URLSearchParams(), { baseUrl: 'http://x' }),
      ) as { entry?: Array<{ resource: { status: string; subject: { reference: string } } }> };
      assert.deepEqual(
        search.entry?.map((e) => e.resource.status),
        ['final'],
        'nothing of the invalid entry is stored',
      );
      assert.equal(search.entry?.[0]?.resource.subject.reference, 'Patient/11111111-1111-4111-8111-111111111111');
    });

    it('names a bad NDJSON line and stores the good lines', async () => {
      const f = summary.failures.find((x) => x.file.endsWith('lines.ndjson'));
      assert.equal(f?.where, 'line 2');
      assert.match(f?.message ?? '', /^malformed JSON at line 2:/);
      assert.equal((await records.read(SYSTEM_ACTOR, 'Patient', 'nd1')).id, 'nd1');
      assert.equal((await records.read(SYSTEM_ACTOR, 'Patient', 'nd3')).id, 'nd3');
    });

    it('keeps the stored Organization when another file sends a copy with another id, and points references to it', async () => {
      const ods = { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'Y99903' };
      const org = (id: string) => ({ resourceType: 'Organization', id, identifier: [ods], name: 'Example practice' });
      const one = path.join(dir, 'one');
      const two = path.join(dir, 'two');
      mkdirSync(one);
      mkdirSync(two);
      writeFileSync(path.join(one, 'org.json'), JSON.stringify(org('org-a')));
      writeFileSync(
        path.join(two, 'b.json'),
        JSON.stringify({
          resourceType: 'Bundle',
          type: 'collection',
          entry: [
            { fullUrl: 'urn:uuid:22222222-2222-4222-8222-222222222222', resource: org('org-b') },
            {
              resource: {
                resourceType: 'Encounter',
                id: 'enc-b',
                status: 'finished',
                class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
                serviceProvider: { reference: 'urn:uuid:22222222-2222-4222-8222-222222222222' },
              },
            },
          ],
        }),
      );
      assert.equal((await importPaths(records, [one], 'feed-a')).totals.created, 1);
      const second = await importPaths(records, [two], 'feed-b');
      assert.deepEqual(second.deduplicated, { Organization: 1 });
      assert.deepEqual(second.failures, []);
      const enc = JSON.parse((await records.read(SYSTEM_ACTOR, 'Encounter', 'enc-b')).json ?? '{}') as {
        serviceProvider: { reference: string };
      };
      assert.equal(enc.serviceProvider.reference, 'Organization/org-a');
      await assert.rejects(records.read(SYSTEM_ACTOR, 'Organization', 'org-b'), /not known/);
    });

    it('gives HL7 v2 files a notice instead of dropping them', () => {
      assert.deepEqual(
        summary.notices.map((n) => [path.basename(n.file), n.message]),
        [['adt.hl7', HL7_NO_FEED]],
      );
      assert.equal(summary.files.skipped, 1);
      assert.equal(summary.totals.failed, 3);
    });
  });
}

describe('demo data on first start', () => {
  it('loads the built-in sample when there is no Synthea folder, and only once', async () => {
    const t = await openTestDb('pglite');
    try {
      const records = await recordsFor(t.db);
      const lines: string[] = [];
      const first = await loadDemoData(records, {
        sharedDataDir: path.join(tmpdir(), 'no-such-shared-data'),
        log: (l) => lines.push(l),
      });
      assert.equal(first.loaded, 'sample');
      assert.deepEqual(first.summary?.failures, []);
      // The sample's 3 people, plus a social care record of one and an ambulance record of another.
      assert.equal(first.community?.['demo-social-care']?.totals.created, 2);
      assert.equal(first.community?.['demo-ambulance']?.totals.created, 2);
      const stats = await resourceStats(records);
      // ... plus the GP's and the hospital's own records of one person, for the viewer's journeys.
      assert.equal(stats.byType.Patient, 7);
      // demo-relationships: the appointments and care teams that give the demo users their relationships (docs/access.md).
      assert.deepEqual(Object.keys(stats.byFeed).sort(), [
        'demo-ambulance',
        'demo-gp-a81001',
        'demo-hospital-rns',
        'demo-relationships',
        'demo-sample',
        'demo-social-care',
      ]);
      // The social care record, exactly as the GP has the person, is linked to the same person.
      const everything = JSON.parse(await records.everything(SYSTEM_ACTOR, 'sc-0001', 'urn:test')) as {
        entry: Array<{ resource: { resourceType: string; id: string } }>;
      };
      const patients = everything.entry.filter((e) => e.resource.resourceType === 'Patient');
      assert.equal(patients.length, 2, 'the social care record joined its person');
      assert.ok(everything.entry.some((e) => e.resource.id === 'sc-0001-flag'));
      const second = await loadDemoData(records, { sharedDataDir: SYNTHEA, log: (l) => lines.push(l) });
      assert.equal(second.loaded, 'none');
      assert.ok(
        lines.every((l) => !/Testwell|999000/.test(l)),
        'no patient data in progress lines',
      );
    } finally {
      await t.close();
    }
  });
});

describe('icr import (the command)', () => {
  const cli = path.resolve(import.meta.dirname, '../src/cli/index.ts');
  let dir: string;
  const icr = (...argv: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ICR_DATA_DIR: path.join(dir, 'data') };
    delete env.DATABASE_URL;
    return spawnSync(process.execPath, [cli, ...argv], { env, encoding: 'utf8' });
  };
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'icr-cli-'));
    writeFileSync(
      path.join(dir, 'x.ndjson'),
      `${JSON.stringify({ resourceType: 'Patient', id: 'c1' })}\n{"resourceType":\n`,
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 on usage errors', () => {
    const noFeed = icr('import', path.join(dir, 'x.ndjson'));
    assert.equal(noFeed.status, 2);
    assert.match(noFeed.stderr, /--feed/);
    const missing = icr('import', path.join(dir, 'missing.json'), '--feed', 'f');
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /missing\.json: no such file or folder/);
  });

  it('refuses an unknown feed, naming the command that registers it', () => {
    const res = icr('import', path.join(dir, 'x.ndjson'), '--feed', 'unregistered');
    assert.equal(res.status, 2);
    assert.match(res.stderr, /Feed "unregistered" is not registered: register it with `icr feeds add unregistered/);
  });

  it('registers the feeds the next tests import through', () => {
    assert.equal(icr('orgs', 'add', 'Y99901', '--name', 'Test GP', '--kind', 'gp').status, 0);
    for (const feed of ['cli-feed', 'again-feed']) {
      const res = icr('feeds', 'add', feed, '--org', 'Y99901', '--protocol', 'file');
      assert.equal(res.status, 0, res.stderr);
    }
  });

  it('exits 1 when some entries failed, stores the rest, and prints the summary as JSON', () => {
    const res = icr('import', dir, '--feed', 'cli-feed', '--org', 'Y99901', '--json');
    assert.equal(res.status, 1, res.stderr);
    const summary = JSON.parse(res.stdout) as ImportSummary;
    assert.equal(summary.totals.created, 1);
    assert.equal(summary.failures[0]?.where, 'line 2');
  });

  it('holds each resource to the JSON limits of the FHIR API, naming file, entry or line and element', () => {
    const sub = path.join(dir, 'limits');
    mkdirSync(sub, { recursive: true });
    // An extension nested 60 deep: 120 levels of objects and arrays, past ICR_MAX_JSON_DEPTH (100).
    let ext: Record<string, unknown> = { url: 'http://example.org/x', valueString: 'leaf' };
    for (let i = 0; i < 60; i++) ext = { url: 'http://example.org/x', extension: [ext] };
    writeFileSync(
      path.join(sub, 'deep.json'),
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { resource: { resourceType: 'Patient', id: 'lim1', gender: 'female' } },
          { resource: { resourceType: 'Patient', id: 'lim2', extension: [ext] } },
        ],
      }),
    );
    // Line 2: 10,001 names, past ICR_MAX_ARRAY_LENGTH (10,000).
    const many = { resourceType: 'Patient', id: 'lim4', name: Array.from({ length: 10_001 }, () => ({ family: 'X' })) };
    writeFileSync(
      path.join(sub, 'many.ndjson'),
      `${JSON.stringify({ resourceType: 'Patient', id: 'lim3' })}\n${JSON.stringify(many)}\n`,
    );
    icr('orgs', 'add', 'Y99901', '--name', 'Test GP', '--kind', 'gp'); // may be there already
    const feed = icr('feeds', 'add', 'limits-feed', '--org', 'Y99901', '--protocol', 'file');
    assert.equal(feed.status, 0, feed.stderr);
    const res = icr('import', sub, '--feed', 'limits-feed', '--json');
    assert.equal(res.status, 1, res.stderr);
    const summary = JSON.parse(res.stdout) as ImportSummary;
    assert.equal(summary.totals.created, 2, 'the entries within the limits are stored');
    const deep = summary.failures.find((f) => f.file.endsWith('deep.json'));
    assert.equal(deep?.where, 'entry 1');
    assert.equal(deep?.code, 'ICR_LIMIT_EXCEEDED');
    assert.match(deep?.message ?? '', /nested deeper than 100 levels/);
    assert.match(deep?.details[0] ?? '', /^Patient\.extension\[0\]\.extension\[0\]/);
    const many2 = summary.failures.find((f) => f.file.endsWith('many.ndjson'));
    assert.equal(many2?.where, 'line 2');
    assert.equal(many2?.code, 'ICR_LIMIT_EXCEEDED');
    assert.match(many2?.details[0] ?? '', /^Patient\.name: An array has more than 10000 items/);
    // The text summary names the file and the entry too.
    const text = icr('import', path.join(sub, 'deep.json'), '--feed', 'limits-feed');
    assert.equal(text.status, 1);
    assert.match(text.stdout, /deep\.json.*entry 1/s);
    assert.match(text.stdout, /ICR_LIMIT_EXCEEDED/);
  });

  it('says in its text summary what a re-import that changed nothing did', () => {
    const file = path.join(dir, 'again', 'p.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ resourceType: 'Patient', id: 'again1', gender: 'female' }));
    const first = icr('import', file, '--feed', 'again-feed');
    assert.equal(first.status, 0, first.stderr);
    assert.match(
      first.stdout,
      /1 resources in [\d.]+ s \(\d+ resources\/s\): 1 created, 0 updated, 0 already held unchanged/,
    );
    const again = icr('import', file, '--feed', 'again-feed');
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /: 0 created, 0 updated, 1 already held unchanged/);
  });
});

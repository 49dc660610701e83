import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.resolve(repoRoot, '../shared/data/febrl');
const cli = path.join(repoRoot, 'src/cli/index.ts');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'mpi', 'evaluate', ...args], { encoding: 'utf8' });

describe('icr mpi evaluate', () => {
  it('prints the figures as JSON and writes the linked pairs', (t) => {
    if (!existsSync(path.join(dataDir, 'dataset1.csv'))) return t.skip(`FEBRL data not found at ${dataDir}`);
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'mpi-cli-')), 'links.csv');
    const res = run(path.join(dataDir, 'dataset1.csv'), '--links', out);
    assert.equal(res.status, 0, res.stderr);
    const report = JSON.parse(res.stdout) as Record<string, number>;
    for (const k of [
      'records',
      'truePairs',
      'candidatePairs',
      'reductionRatio',
      'links',
      'precision',
      'recall',
      'f1',
      'seconds',
    ]) {
      assert.equal(typeof report[k], 'number', k);
    }
    assert.equal(report.records, 1000);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'rec_id_a,rec_id_b');
    assert.equal(lines.length - 1, report.links);
    assert.match(lines[1] ?? '', /^rec-\d+-(org|dup-\d),rec-\d+-(org|dup-\d)$/);
  });

  it('fails with exit code 2 and a message naming file and line, no stack', () => {
    const bad = path.join(mkdtempSync(path.join(tmpdir(), 'mpi-cli-')), 'bad.csv');
    writeFileSync(
      bad,
      'rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id\nrec-1-org, a\n',
    );
    const res = run(bad);
    assert.equal(res.status, 2);
    assert.match(
      res.stderr,
      new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: expected 11 values, found 2`),
    );
    assert.doesNotMatch(res.stderr, /\n\s+at /);
    assert.equal(res.stdout, '');
  });

  it('--product: writes a synthetic county to folders, then measures it through the product write path', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mpi-county-'));
    const gen = spawnSync(process.execPath, [cli, 'mpi', 'synthetic', dir, '--people', '120', '--seed', '5'], {
      encoding: 'utf8',
    });
    assert.equal(gen.status, 0, gen.stderr);
    const folders = ['gp', 'acute', 'social-care', 'ambulance'].map((s) => path.join(dir, s));
    const noTruth = run('--product', ...folders);
    assert.equal(noTruth.status, 2);
    assert.match(noTruth.stderr, /no true entity \(FHIR folders need --truth/);
    const res = run('--product', ...folders, '--truth', path.join(dir, 'truth.csv'));
    assert.equal(res.status, 0, res.stderr);
    const report = JSON.parse(res.stdout) as {
      mode: string;
      records: number;
      sources: Array<{ name: string; records: number }>;
      clusters: { precision: number; recall: number; f1: number };
      reviews: { open: number; trueMatches: number; uncertain: number };
      falseLinks: unknown[];
    };
    assert.equal(report.mode, 'product');
    const truthRows = readFileSync(path.join(dir, 'truth.csv'), 'utf8').trim().split('\n').length - 1;
    assert.equal(report.records, truthRows);
    assert.deepEqual(
      report.sources.map((s) => s.name),
      ['gp', 'acute', 'social-care', 'ambulance'],
    );
    for (const k of ['precision', 'recall', 'f1'] as const) assert.equal(typeof report.clusters[k], 'number');
    assert.ok(Array.isArray(report.falseLinks));
    assert.match(res.stderr, /linking ambulance: \d+\/\d+/, 'progress is shown');
  });
});

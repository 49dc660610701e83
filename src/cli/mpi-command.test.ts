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
});

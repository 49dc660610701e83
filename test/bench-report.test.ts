/**
 * bench/report.ts `writeSection`: a bench run rewrites its own section of bench/README.md and keeps the
 * section's hand-written readings (paragraphs from the first one starting "Reading ("), and nothing else of it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { readingsOf, writeSection } from '../bench/report.ts';

describe('a bench writing its section of bench/README.md', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'icr-bench-report-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'README.md');

  test("replaces the run's figures and keeps the readings written under them", async () => {
    writeFileSync(
      file,
      [
        '# Benchmarks',
        '',
        '## Alpha',
        '',
        'Machine: old.',
        '',
        '| rows | per s |',
        '| ---- | ----- |',
        '| 1    | 10    |',
        '',
        'Reading (lead, first run). Ten per second.',
        '',
        'Reading (engineer, second run). Still ten.',
        '',
        '## Beta',
        '',
        'Beta stays as it is.',
        '',
      ].join('\n'),
    );
    await writeSection(
      file,
      '## Alpha',
      '## Alpha\n\nMachine: new.\n\n| rows | per s |\n| ---- | ----- |\n| 1    | 20    |\n',
    );
    const out = readFileSync(file, 'utf8');
    assert.match(out, /Machine: new\./);
    assert.match(out, /\| 1 +\| 20 +\|/);
    assert.doesNotMatch(out, /Machine: old\./);
    assert.doesNotMatch(out, /\| 1 +\| 10 +\|/);
    // The readings follow the new figures, in their order, and the next section is untouched.
    const a = out.indexOf('| 20');
    const r1 = out.indexOf('Reading (lead, first run)');
    const r2 = out.indexOf('Reading (engineer, second run)');
    const beta = out.indexOf('## Beta\n\nBeta stays as it is.');
    assert.ok(a > 0 && a < r1 && r1 < r2 && r2 < beta, out);

    // Written again: the readings are kept once, not doubled.
    await writeSection(file, '## Alpha', '## Alpha\n\nMachine: newer.\n');
    const again = readFileSync(file, 'utf8');
    assert.equal(again.split('Reading (lead, first run)').length, 2);
    assert.match(again, /Machine: newer\.\n\nReading \(lead, first run\)/);
  });

  test('a section with no reading is replaced whole; a new section is appended', async () => {
    writeFileSync(file, '# Benchmarks\n\n## Gamma\n\nOld figures.\n\n## Delta\n\nDelta.\n');
    await writeSection(file, '## Gamma', '## Gamma\n\nNew figures.\n');
    await writeSection(file, '## Epsilon', '## Epsilon\n\nFirst figures.\n');
    assert.equal(
      readFileSync(file, 'utf8'),
      '# Benchmarks\n\n## Gamma\n\nNew figures.\n\n## Delta\n\nDelta.\n\n## Epsilon\n\nFirst figures.\n',
    );
    assert.equal(readingsOf('## Gamma\n\nA line that mentions Reading (not at its start).\n'), '');
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCodes } from './errors.ts';

/**
 * docs/errors.md is the public catalogue of error codes. This test keeps it and `ErrorCodes` in step:
 * every code in one is in the other, with the same HTTP status and FHIR issue code.
 */

interface DocRow {
  status: number;
  issue: string;
  when: string;
}

const DOC = new URL('../../docs/errors.md', import.meta.url);

/** Table rows whose first cell is a backticked `ICR_…` code: | `CODE` | status | `issue` | when | */
function parseCatalogue(markdown: string): Map<string, DocRow> {
  const rows = new Map<string, DocRow>();
  for (const line of markdown.split(/\r?\n/)) {
    const cells = line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
    const code = /^`(ICR_[A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    if (code === undefined) continue;
    assert.ok(!rows.has(code), `docs/errors.md lists ${code} twice`);
    rows.set(code, {
      status: Number(cells[1]),
      issue: (cells[2] ?? '').replace(/`/g, ''),
      when: cells[3] ?? '',
    });
  }
  return rows;
}

describe('error catalogue (docs/errors.md)', () => {
  const documented = parseCatalogue(readFileSync(DOC, 'utf8'));
  const codes = Object.entries(ErrorCodes);

  it('documents every code in ErrorCodes', () => {
    const missing = codes.map(([code]) => code).filter((code) => !documented.has(code));
    assert.deepEqual(missing, [], `add these codes to docs/errors.md: ${missing.join(', ')}`);
  });

  it('documents no code that ErrorCodes does not have', () => {
    const extra = [...documented.keys()].filter((code) => !(code in ErrorCodes));
    assert.deepEqual(
      extra,
      [],
      `remove these codes from docs/errors.md (or add them to ErrorCodes): ${extra.join(', ')}`,
    );
  });

  it('gives each code the same HTTP status and FHIR issue code as ErrorCodes', () => {
    for (const [code, def] of codes) {
      const row = documented.get(code);
      if (row === undefined) continue; // reported above
      assert.equal(
        row.status,
        def.status,
        `${code}: docs/errors.md says HTTP ${row.status}, ErrorCodes says ${def.status}`,
      );
      assert.equal(
        row.issue,
        def.issue,
        `${code}: docs/errors.md says issue "${row.issue}", ErrorCodes says "${def.issue}"`,
      );
    }
  });

  it('says when each code happens', () => {
    const blank = [...documented].filter(([, row]) => row.when.length < 10).map(([code]) => code);
    assert.deepEqual(blank, [], `describe when these happen in docs/errors.md: ${blank.join(', ')}`);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isIcrError } from '../../shared/errors.ts';
import { loadRules, validateRules } from './load-rules.ts';

const defaults = loadRules();
const clone = (): Record<string, unknown> => JSON.parse(JSON.stringify(defaults)) as Record<string, unknown>;
const problems = (json: unknown): string => {
  try {
    validateRules(json, 'test.json');
  } catch (e) {
    assert.ok(isIcrError(e));
    assert.equal(e.code, 'ICR_MPI_RULES_INVALID');
    return e.message;
  }
  assert.fail('rules were accepted');
};

describe('rules loader', () => {
  it('loads the bundled default rules, versioned', () => {
    assert.equal(defaults.version, 'default-v3');
    assert.ok(defaults.fields.length > 5);
    assert.ok(defaults.blocking.length > 3);
    assert.ok(defaults.thresholds.link > defaults.thresholds.review);
  });

  it('names the JSON path of each problem', () => {
    const r = clone();
    const fields = r.fields as Array<{ levels: Array<{ m: number; test: { kind: string } }> }>;
    (fields[0]?.levels[0] as { m: number }).m = 1.5;
    (fields[1]?.levels[0] as { test: { kind: string } }).test.kind = 'soundsLike';
    r.thresholds = { link: 1, review: 2 };
    const msg = problems(r);
    assert.match(msg, /^test\.json: invalid rules/);
    assert.match(msg, /fields\[0\]\.levels\[0\]\.m must be a probability/);
    assert.match(msg, /fields\[1\]\.levels\[0\]\.test\.kind must be one of/);
    assert.match(msg, /thresholds\.review must not be above/);
  });

  it('requires else last, known fields, known guard levels and free key names', () => {
    const r = clone();
    const fields = r.fields as Array<{ field: string; levels: unknown[] }>;
    (fields[0] as { levels: unknown[] }).levels.reverse();
    (fields[2] as { field: string }).field = 'shoeSize';
    (r.guards as Array<{ when: Array<{ levels: string[] }> }>)[0]?.when[0]?.levels.push('nearly');
    (r.blocking as Array<{ name: string }>)[0] = { name: 'nhs', parts: [{ field: 'nhsNumber' }] } as never;
    const msg = problems(r);
    assert.match(msg, /else must be the last level/);
    assert.match(msg, /fields\[2\]\.field must be one of/);
    assert.match(msg, /unknown level nearly/);
    assert.match(msg, /blocking\[0\]\.name nhs is taken/);
  });

  it('reports unreadable and non-JSON files by path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpi-rules-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "version": ');
    assert.throws(
      () => loadRules(bad),
      (e: unknown) => isIcrError(e) && e.message.startsWith(`${bad}: not valid JSON`),
    );
    assert.throws(() => loadRules(join(dir, 'none.json')), /cannot read the rules file/);
  });
});

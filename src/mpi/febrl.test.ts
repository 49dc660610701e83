import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isIcrError } from '../shared/errors.ts';
import { evaluate } from './evaluate.ts';
import { febrlEntity, parseFebrl, readFebrl } from './febrl.ts';
import { loadRules } from './rules/load-rules.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.resolve(repoRoot, '../shared/data/febrl');
const haveData = existsSync(path.join(dataDir, 'dataset4a.csv'));
const SKIP = `FEBRL data not found at ${dataDir} (shared/data is absent): skipping the FEBRL evaluation`;

const HEADER =
  'rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id';

describe('FEBRL reader', () => {
  it('normalises rows and keeps soc_sec_id as a weak identifier, never an NHS number', () => {
    const [r] = parseFebrl(
      `${HEADER}\r\nrec-7-org, Jasmine, silvestro, 41, nott st, , middleton beach, 3173, nsw, 19560720, 9873948`,
    );
    assert.equal(r?.nhsNumber, undefined);
    assert.deepEqual(r, {
      id: 'rec-7-org',
      given: 'jasmine',
      family: 'silvestro',
      birthDate: '19560720',
      postcode: '3173',
      streetNumber: '41',
      street: 'nott street',
      town: 'middleton beach',
      region: 'nsw',
      otherId: '9873948',
    });
  });

  it('names the file and line of a bad row', () => {
    const text = `${HEADER}\nrec-1-org, a, b, 1, x, y, z, 2000, nsw, 19800101, 123\nrec-1-dup-0, a, b\n`;
    assert.throws(
      () => parseFebrl(text, 'f.csv'),
      (e: unknown) =>
        isIcrError(e) && e.code === 'ICR_MPI_INPUT_INVALID' && e.message === 'f.csv:3: expected 11 values, found 3',
    );
    assert.throws(() => parseFebrl('rec_id, given_name\n', 'g.csv'), /g\.csv:1: header lacks column\(s\) surname/);
    assert.throws(() => readFebrl('/nonexistent/x.csv'), /\/nonexistent\/x\.csv: cannot read file/);
  });

  it('reads the true entity from the record id only', () => {
    assert.equal(febrlEntity('rec-123-org'), '123');
    assert.equal(febrlEntity('rec-123-dup-4'), '123');
    assert.equal(febrlEntity('other'), undefined);
  });
});

describe('FEBRL evaluation', () => {
  const rules = loadRules();

  it('links FEBRL 4 (4a x 4b) with F1 >= 0.99 and reduction ratio > 0.999', (t) => {
    if (!haveData) return t.skip(SKIP);
    const a = readFebrl(path.join(dataDir, 'dataset4a.csv')).records;
    const b = readFebrl(path.join(dataDir, 'dataset4b.csv')).records;
    const { report, links } = evaluate(rules, a, b);
    t.diagnostic(
      JSON.stringify({ f1: report.f1, precision: report.precision, recall: report.recall, rr: report.reductionRatio }),
    );
    assert.equal(report.mode, 'linkage');
    assert.equal(report.records, 10_000);
    assert.equal(report.truePairs, 5000);
    assert.ok(report.f1 >= 0.99, `F1 ${report.f1}`);
    assert.ok(report.reductionRatio > 0.999, `RR ${report.reductionRatio}`);
    assert.equal(links.length, report.links);
    assert.ok(
      links.every(([x, y]) => x.endsWith('-org') && y.includes('-dup-')),
      'first file first',
    );
  });

  it('deduplicates FEBRL 3 with F1 >= 0.95', (t) => {
    if (!haveData) return t.skip(SKIP);
    const { report } = evaluate(rules, readFebrl(path.join(dataDir, 'dataset3.csv')).records, undefined);
    t.diagnostic(
      JSON.stringify({ f1: report.f1, precision: report.precision, recall: report.recall, rr: report.reductionRatio }),
    );
    assert.equal(report.mode, 'dedup');
    assert.equal(report.truePairs, 6538);
    assert.ok(report.f1 >= 0.95, `F1 ${report.f1}`);
    assert.ok(report.clusters !== undefined && report.clusters.precision > 0.95);
  });
});

/**
 * `icr import --bulk` as a user runs it (the command in a child process, on the embedded database): a first
 * load links the same person from two sources through the bulk link (ADR 0054), a later plain import still
 * links to what the bulk load made (the MPI lock is released), and a bulk import with a bad entry stores the
 * rest and exits 1 naming the line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/config.ts';
import type { ImportSummary } from '../src/records/import/summary.ts';
import { openDatabase } from '../src/store/open.ts';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

/** A synthetic Patient of source `org`: the same person in every source (valid test NHS number 999 000 0018). */
function patient(id: string, org: string, given: string) {
  return {
    resourceType: 'Patient',
    id,
    identifier: [
      { system: NHS, value: '9990000018' },
      { system: `https://example.org/${org}/mrn`, value: id },
    ],
    name: [{ family: 'Bulkload', given: [given] }],
    gender: 'female',
    birthDate: '1961-03-14',
    address: [{ postalCode: 'NN16 8UZ' }],
  };
}

describe('icr import --bulk (the command, embedded database)', () => {
  const cli = path.resolve(import.meta.dirname, '../src/cli/index.ts');
  let dir: string;
  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, ICR_DATA_DIR: path.join(dir, 'data') };
    delete e.DATABASE_URL;
    return e;
  };
  const icr = (...argv: string[]) => spawnSync(process.execPath, [cli, ...argv], { env: env(), encoding: 'utf8' });
  /** The persons the MPI holds for the test's Patients, read from the command's own database. */
  const personsOf = async (ids: string[]): Promise<Map<string, string>> => {
    const db = await openDatabase(loadConfig(env()));
    try {
      const res = await db.query<{ patient_id: string; person_id: string }>(
        'select patient_id, person_id from person_link where patient_id = any($1::text[]) and retired_into is null',
        [`{${ids.join(',')}}`],
      );
      return new Map(res.rows.map((r) => [r.patient_id, r.person_id]));
    } finally {
      await db.close();
    }
  };

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'icr-bulk-'));
    writeFileSync(path.join(dir, 'gp.ndjson'), `${JSON.stringify(patient('bulk-gp-1', 'gp', 'Anna'))}\n`);
    writeFileSync(
      path.join(dir, 'hospital.ndjson'),
      `${JSON.stringify(patient('bulk-rx-1', 'rx', 'Anna'))}\n{"resourceType":\n`,
    );
    writeFileSync(path.join(dir, 'later.ndjson'), `${JSON.stringify(patient('bulk-late-1', 'late', 'Anna'))}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('registers the feed the imports go through', () => {
    assert.equal(icr('orgs', 'add', 'Y99902', '--name', 'Bulk GP', '--kind', 'gp').status, 0);
    const res = icr('feeds', 'add', 'bulk-feed', '--org', 'Y99902', '--protocol', 'file');
    assert.equal(res.status, 0, res.stderr);
  });

  it('links one person from two sources in a first load, stores the good entries and names the bad line', async () => {
    const res = icr(
      'import',
      path.join(dir, 'gp.ndjson'),
      path.join(dir, 'hospital.ndjson'),
      '--feed',
      'bulk-feed',
      '--bulk',
      '--json',
    );
    assert.equal(res.status, 1, res.stderr);
    assert.match(res.stderr, /bulk link: the MPI is held by this import; 0 linked records and 0 blocking keys indexed/);
    const summary = JSON.parse(res.stdout) as ImportSummary;
    assert.equal(summary.totals.created, 2);
    assert.equal(summary.totals.failed, 1);
    assert.equal(summary.failures[0]?.where, 'line 2');
    const persons = await personsOf(['bulk-gp-1', 'bulk-rx-1']);
    assert.equal(persons.size, 2, 'both Patients are linked');
    assert.equal(persons.get('bulk-gp-1'), persons.get('bulk-rx-1'), 'to the same person');
  });

  it('leaves the MPI to ordinary writes afterwards: a plain import links to the same person', async () => {
    const res = icr('import', path.join(dir, 'later.ndjson'), '--feed', 'bulk-feed', '--json');
    assert.equal(res.status, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /bulk link/);
    const persons = await personsOf(['bulk-gp-1', 'bulk-late-1']);
    assert.equal(persons.get('bulk-late-1'), persons.get('bulk-gp-1'));
  });
});

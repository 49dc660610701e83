/**
 * `icr mpi verify`, `icr mpi trace-out` and `icr mpi trace-in`, run in-process against a PGlite database
 * and the PDS stand-in over real HTTP on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerMpiPdsCommands } from '../src/cli/mpi-pds-command.ts';
import { loadConfig } from '../src/config/config.ts';
import { parseTraceRequestCsv } from '../src/mpi/pds/batch-trace.ts';
import { type RunningStandIn, startPdsStandIn } from '../src/mpi/pds/stand-in.ts';
import type { Db } from '../src/store/db.ts';
import { linksFor } from '../src/store/mpi-store.ts';
import { mpiCommandRunner } from './helpers/cli.ts';
import { borrowed, openTestDb, type TestDb } from './helpers/db.ts';
import { mpiRig, type MpiRig, patient } from './mpi-fixtures.ts';
import { PDS_PEOPLE } from './pds-stand-in/people.ts';

describe('icr mpi verify / trace-out / trace-in', () => {
  let t: TestDb;
  let rig: MpiRig;
  let standIn: RunningStandIn;
  let dir: string;
  let pdsUrl: string | undefined;

  const run = mpiCommandRunner((mpi, out) =>
    registerMpiPdsCommands(mpi, {
      config: () => loadConfig({ ...(pdsUrl ? { ICR_PDS_URL: pdsUrl } : {}), ICR_PDS_ODS: 'X26' }),
      open: async (): Promise<Db> => borrowed(t.db),
      out,
    }),
  );

  before(async () => {
    t = await openTestDb('pglite');
    rig = mpiRig(t.db);
    standIn = await startPdsStandIn(PDS_PEOPLE);
    dir = mkdtempSync(path.join(os.tmpdir(), 'icr-trace-'));
    // An unverified NHS number that PDS knows, with an agreeing date of birth.
    await rig.write([
      patient({
        id: 'v1',
        nhs: '9990000077',
        verified: false,
        family: 'Taylor',
        given: 'Jane',
        birthDate: '1962-03-14',
      }),
    ]);
    // No NHS number at all: only the batch trace can find one.
    await rig.write([
      patient({
        id: 'v2',
        family: 'Taylor',
        given: 'Jane',
        gender: 'female',
        birthDate: '1962-03-14',
        postcode: 'LS1 4AP',
        mrn: 'SC-1',
        mrnSystem: 'https://social.example/id',
      }),
    ]);
  });
  after(async () => {
    await standIn.close();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to verify when no PDS is configured, with a clear message', async () => {
    pdsUrl = undefined;
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (s: string) => (stderr.push(s), true);
    try {
      await run('verify');
    } finally {
      process.stderr.write = write;
    }
    assert.equal(process.exitCode, 2);
    assert.match(stderr.join(''), /ICR_PDS_URL is not set/);
    process.exitCode = undefined;
  });

  it('verifies unverified NHS numbers with PDS and records the outcome', async () => {
    pdsUrl = standIn.url;
    const summary = JSON.parse(await run('verify')) as { checked: number; outcomes: Record<string, number> };
    assert.equal(summary.checked, 1);
    assert.deepEqual(summary.outcomes, { verified: 1 });
    const link = (await linksFor(t.db, ['v1'])).get('v1');
    assert.equal(link?.record.nhsVerified, true);
  });

  it('writes a batch trace request and applies the traced response', async () => {
    const request = path.join(dir, 'request.csv');
    assert.match(await run('trace-out', request), /Wrote 1 records/);
    const rows = parseTraceRequestCsv(readFileSync(request, 'utf8'));
    assert.deepEqual(
      rows.map((r) => r.reference),
      ['v2'],
    );
    const res = await fetch(`${standIn.url}/batch-trace`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-request-id': '0b7e2b1c-55aa-4c1e-9a3e-0123456789ab' },
      body: readFileSync(request, 'utf8'),
    });
    assert.equal(res.status, 200);
    const response = path.join(dir, 'response.csv');
    writeFileSync(response, await res.text());
    const applied = JSON.parse(await run('trace-in', response)) as { verified: number; unmatched: number };
    assert.equal(applied.verified, 1);
    assert.equal(applied.unmatched, 0);
    const link = (await linksFor(t.db, ['v2'])).get('v2');
    assert.equal(link?.record.nhsNumber, '9990000077');
    assert.equal(link?.record.nhsVerified, true);
    // Now both source records carry the same verified NHS number: one person.
    assert.equal(await rig.personOf('v2'), await rig.personOf('v1'));
  });
});

/**
 * `icr mpi review` and `icr mpi decide`, run in-process against a PGlite database holding a review.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerMpiReviewCommand } from '../src/cli/mpi-review-command.ts';
import type { Db } from '../src/store/db.ts';
import { mpiCommandRunner } from './helpers/cli.ts';
import { borrowed, openTestDb, type TestDb } from './helpers/db.ts';
import { mpiRig, type MpiRig, patient } from './mpi-fixtures.ts';

describe('icr mpi review / decide', () => {
  let t: TestDb;
  let rig: MpiRig;
  const run = mpiCommandRunner((mpi, out) =>
    registerMpiReviewCommand(mpi, { open: async (): Promise<Db> => borrowed(t.db), out }),
  );

  before(async () => {
    t = await openTestDb('pglite');
    rig = mpiRig(t.db);
    await rig.write([
      patient({
        id: 'c1',
        family: 'Quinn',
        given: 'Sarah',
        birthDate: '1985-08-08',
        gender: 'female',
        postcode: 'EX1 1AA',
      }),
    ]);
    await rig.write([
      patient({
        id: 'c2',
        family: 'Quinn',
        given: 'Susan',
        birthDate: '1985-08-08',
        gender: 'female',
        postcode: 'EX1 1AA',
      }),
    ]);
  });
  after(async () => {
    process.exitCode = undefined;
    await t?.close();
  });

  it('lists open reviews side by side with the comparison vector', async () => {
    const text = await run('review');
    assert.match(text, /^review \S+ {2}\[open\] {2}score \d+\.\d\d {2}rules default-v3/m);
    assert.match(text, /Patient\/c2\s+Patient\/c1\s+comparison/);
    assert.match(text, /given\s+susan\s+sarah\s+different -\d/);
    assert.match(text, /family\s+quinn\s+quinn\s+exact \+\d/);
    const json = JSON.parse(await run('review', '--json')) as Array<{ review: { id: string } }>;
    assert.equal(json.length, 1);
  });

  it('decides with --link or --not-same and a reason', async () => {
    const [item] = JSON.parse(await run('review', '--json')) as Array<{ review: { id: string } }>;
    assert.ok(item);
    await run('decide', item.review.id, '--link', '--not-same', '--reason', 'x');
    assert.equal(process.exitCode, 2);
    const text = await run(
      'decide',
      item.review.id,
      '--not-same',
      '--reason',
      'Sisters, confirmed by phone',
      '--user',
      'steward7',
      '--org',
      'X26',
    );
    assert.equal(text, 'Recorded: not the same person.\n');
    assert.equal(await run('review'), 'No open reviews.\n');
    const decided = await run('review', '--status', 'not-same');
    assert.match(decided, /decided by user:steward7@X26 at .*: Sisters, confirmed by phone/);
  });
});

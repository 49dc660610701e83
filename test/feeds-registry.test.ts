/**
 * The organisation and feed registry through `icr orgs` / `icr feeds` (in-process), on PGlite and, when
 * configured, PostgreSQL: onboarding states, refusals naming the command to run, the tester rule that the
 * read path uses (FeedVisibility), and the counters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerFeedsCommand } from '../src/cli/feeds-command.ts';
import { registerOrgsCommand } from '../src/cli/orgs-command.ts';
import { AccessDecider } from '../src/records/access/access-decider.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import type { Db } from '../src/store/db.ts';
import { borrowed, openTestDb, testDatabases, type TestDb } from './helpers/db.ts';

function runner(db: () => Db): (...args: string[]) => Promise<{ out: string; code: number | undefined }> {
  return async (...args) => {
    let out = '';
    process.exitCode = undefined;
    const program = new Command().exitOverride();
    const deps = { open: async () => borrowed(db()), out: (s: string) => void (out += s) };
    registerOrgsCommand(program, deps);
    registerFeedsCommand(program, deps);
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (s: string) => {
      errors.push(String(s));
      return true;
    };
    try {
      await program.parseAsync(['node', 'icr', ...args]);
    } finally {
      process.stderr.write = write;
    }
    const code = process.exitCode;
    process.exitCode = undefined;
    return { out: out + errors.join(''), code: typeof code === 'number' ? code : undefined };
  };
}

for (const which of testDatabases) {
  describe(`feed registry (${which})`, () => {
    let t: TestDb;
    const run = runner(() => t.db);

    before(async () => {
      t = await openTestDb(which);
    });
    after(async () => {
      await t.close();
    });

    it('registers organisations and refuses a bad kind or a repeat', async () => {
      assert.match(
        (await run('orgs', 'add', 'RX1', '--name', 'Exeter Acute', '--kind', 'acute')).out,
        /Registered organisation RX1/,
      );
      assert.match((await run('orgs', 'add', 'A81001', '--name', 'Riverside GP', '--kind', 'gp')).out, /A81001/);
      const bad = await run('orgs', 'add', 'X1', '--name', 'Nowhere', '--kind', 'hospital');
      assert.equal(bad.code, 2);
      assert.match(bad.out, /--kind must be one of gp, acute/);
      const again = await run('orgs', 'add', 'RX1', '--name', 'Again', '--kind', 'acute');
      assert.match(again.out, /ICR_CONFLICT: Organisation RX1 is already registered/);
      const list = JSON.parse((await run('orgs', 'list', '--json')).out) as Array<{ ods: string }>;
      assert.deepEqual(
        list.map((o) => o.ods),
        ['A81001', 'RX1'],
      );
    });

    it('registers feeds in testing; refuses an unknown organisation naming `icr orgs add`', async () => {
      const added = await run(
        'feeds',
        'add',
        'rx1-pas',
        '--org',
        'RX1',
        '--protocol',
        'mllp',
        '--system',
        'Epic',
        '--sending-facility',
        'RX1',
        '--sending-application',
        'PAS',
      );
      assert.match(added.out, /Registered feed rx1-pas \(mllp, organisation RX1\), status testing/);
      assert.match(
        (await run('feeds', 'add', 'gp-files', '--org', 'A81001', '--protocol', 'file')).out,
        /status testing/,
      );
      const unknownOrg = await run('feeds', 'add', 'x', '--org', 'ZZ9', '--protocol', 'file');
      assert.match(unknownOrg.out, /Organisation ZZ9 is not registered: register it first with `icr orgs add ZZ9/);
      const noSender = await run('feeds', 'add', 'y', '--org', 'RX1', '--protocol', 'mllp');
      assert.match(noSender.out, /must say how its sender is recognised/);
      const badProtocol = await run('feeds', 'add', 'z', '--org', 'RX1', '--protocol', 'ftp');
      assert.match(badProtocol.out, /--protocol must be one of mllp, fhir, file/);
    });

    it('moves testing → live → suspended, and an unknown feed names `icr feeds add`', async () => {
      const approved = await run('feeds', 'approve', 'gp-files', '--by', 'ie-jones');
      assert.match(approved.out, /Feed gp-files is live \(approved by ie-jones\)/);
      const suspended = await run('feeds', 'suspend', 'gp-files', '--reason', 'duplicate extracts');
      assert.match(suspended.out, /suspended/);
      const list = JSON.parse((await run('feeds', 'list', '--json')).out) as Array<{
        id: string;
        status: string;
        approvedBy: string | null;
        suspendedReason: string | null;
        counters: { backlog: number; rejected: number };
      }>;
      const gp = list.find((f) => f.id === 'gp-files');
      assert.equal(gp?.status, 'suspended');
      assert.equal(gp?.approvedBy, 'ie-jones');
      assert.equal(gp?.suspendedReason, 'duplicate extracts');
      assert.equal(list.find((f) => f.id === 'rx1-pas')?.status, 'testing');
      const unknown = await run('feeds', 'approve', 'nope', '--by', 'x');
      assert.match(unknown.out, /Feed "nope" is not registered: register it with `icr feeds add nope/);
      const table = (await run('feeds', 'list')).out;
      assert.match(
        table,
        /^feed\s+org\s+protocol\s+status\s+last message\s+lag\s+backlog\s+rejected\s+failed\s+excluded/,
      );
      assert.match(table, /rx1-pas\s+RX1\s+mllp\s+testing\s+never/);
    });

    it("hides a testing feed's data from everyone but its testers; approving shows it", async () => {
      const feeds = new FeedService({ db: t.db });
      const clinician = { kind: 'user' as const, userId: 'gp-a81001', orgOds: 'A81001', role: 'R8000' };
      const tester = { ...clinician, userId: 'tester-1' };
      assert.match((await run('feeds', 'tester', 'rx1-pas', '--add', 'tester-1')).out, /tester-1 is a tester/);
      assert.deepEqual(await feeds.hiddenFeeds(clinician), ['rx1-pas']);
      assert.deepEqual(await feeds.hiddenFeeds(tester), []);
      assert.deepEqual(await feeds.hiddenFeeds({ kind: 'system', systemId: 'host-epr' }), ['rx1-pas']);
      assert.deepEqual(await feeds.hiddenFeeds({ kind: 'system', systemId: 'openicr' }), []);
      // The access decision reads the same rule inside its person-facts query (one round trip, no cache).
      assert.equal(feeds.fromRegistry, true);
      const decider = new AccessDecider({ feedVisibility: feeds });
      const hiddenFor = async (u: typeof clinician) =>
        (await decider.person(t.db, u, 'no-such-person')).scope.hiddenFeeds;
      assert.deepEqual(await hiddenFor(clinician), ['rx1-pas']);
      assert.deepEqual(await hiddenFor(tester), []);
      assert.deepEqual((await decider.person(t.db, clinician, 'no-such-person', true)).scope.hiddenFeeds, []);
      await run('feeds', 'approve', 'rx1-pas', '--by', 'ie-jones');
      assert.deepEqual(await feeds.hiddenFeeds(clinician), [], 'live at once: nothing to reprocess');
      assert.deepEqual(await hiddenFor(clinician), [], 'and in the access decision');
    });

    it('refuses admin actions from users without the integration engineer role', async () => {
      const feeds = new FeedService({ db: t.db });
      const clinician = { kind: 'user' as const, userId: 'gp-a81001', orgOds: 'A81001', role: 'R8000' };
      await assert.rejects(feeds.approve(clinician, 'rx1-pas', 'me'), /Only an integration engineer/);
    });
  });
}

/**
 * Rejected HL7 v2 messages (issue 11, ADR 0046): every message answered AR or AE at intake is kept as
 * received (exact bytes), with its feed when the sender was recognised, the reason the ACK gave and the
 * sender's identifiers; it is bounded (row limit, retention), shown to integration engineers only (viewing
 * one is audited), and replayed as received or corrected through the same intake checks — applied once,
 * the outcome recorded on it. Through the feed use cases, the admin API, the admin portal and the CLI, on
 * PGlite and, when configured, PostgreSQL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import type { AuditLog, AuditRecord } from '../src/audit/audit-record.ts';
import { registerFeedsCommand } from '../src/cli/feeds-command.ts';
import { hl7v2JobHandler } from '../src/ingest/jobs/hl7v2-job.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { Worker } from '../src/queue/worker.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { HL7_QUEUE } from '../src/store/feed-store.ts';
import { borrowed, testDatabases } from './helpers/db.ts';
import { sessionCookie } from './helpers/host-system.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const adt = (facility: string, control: string, opts: { pid3?: string; family?: string; app?: string } = {}) =>
  [
    `MSH|^~\\&|${opts.app ?? 'PAS'}|${facility}|ICR|ICR|20260101120000||ADT^A01|${control}|P|2.4`,
    'EVN|A01|20260101120000',
    `PID|1||${opts.pid3 ?? `${control}-MRN^^^${facility}^MR`}||${opts.family ?? 'ZOË'}^ANNA||19800101|F|||1 High St^^Exeter^^EX1 1AA`,
    `PV1|1|I|WARD1^BED1^^${facility}||||||||||||||||V-${control}^^^${facility}|||||||||||||||||||||||||20260101100000|`,
  ].join('\r');

for (const which of testDatabases) {
  describe(`rejected messages (${which})`, () => {
    let t: TestApp;
    let feeds: FeedService;
    let intake: Hl7Intake;
    let worker: Worker;
    const audit: AuditRecord[] = [];
    const auditLog: AuditLog = {
      async record(_db, rec) {
        audit.push(rec);
      },
    };
    const engineer = {
      kind: 'user' as const,
      userId: 'eng-1',
      orgOds: 'local',
      role: 'icr-integration-engineer',
      via: { channel: 'cli' as const },
    };
    const send = (text: string | Buffer) =>
      intake.handle({
        bytes: Buffer.isBuffer(text) ? text : Buffer.from(text),
        remoteAddress: '10.0.0.9:5',
        connectionId: 'c1',
      });
    const patientsOf = async (feedId: string) =>
      (
        await t.t.db.query<{ content: string }>(
          `select content::text as content from resource where resource_type = 'Patient' and feed_id = $1`,
          [feedId],
        )
      ).rows.map((r) => JSON.parse(r.content) as { name?: Array<{ family?: string }> });
    const inboxCount = async (control: string) =>
      Number(
        (
          await t.t.db.query<{ n: number }>('select count(*)::int as n from feed_message where control_id = $1', [
            control,
          ])
        ).rows[0]?.n,
      );

    before(async () => {
      t = await openTestApp(which, { ICR_SIGNIN_RATE_LIMIT: '1000' }, { demo: true, audit: auditLog });
      feeds = t.feeds;
      intake = new Hl7Intake(feeds);
      feeds.useIntake(intake);
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX9', name: 'Test Acute', kind: 'acute' });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX8', name: 'Other Acute', kind: 'acute' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rx8-pas', org: 'RX8', protocol: 'mllp', sendingFacility: 'RX8' });
      worker = new Worker(t.t.db, {
        queue: HL7_QUEUE,
        handler: hl7v2JobHandler({ records: t.records, feeds }),
        backoffSeconds: () => 0,
      });
    });
    after(async () => {
      await worker.close();
      await t.close();
    });

    it('keeps an unknown sender’s message as received; replayed once the feed is registered, it is applied once', async () => {
      const text = adt('RX9', 'U-1');
      const r = await send(text);
      assert.equal(r.code, 'AR');
      assert.match(r.ack, /Unknown sender/);
      const [held] = await feeds.rejected(engineer, { unknownSender: true });
      assert.ok(held);
      assert.equal(held.feedId, null);
      assert.deepEqual(
        [held.sendingApplication, held.sendingFacility, held.controlId, held.messageType, held.ackCode],
        ['PAS', 'RX9', 'U-1', 'ADT^A01', 'AR'],
      );
      assert.match(held.reason, /^Unknown sender: no MLLP feed is registered for sending application "PAS"/);
      assert.equal(held.bytes, Buffer.byteLength(text));
      assert.equal(held.replayAck, null);

      audit.length = 0;
      const m = await feeds.rejectedMessage(engineer, held.id);
      assert.ok(m.raw.equals(Buffer.from(text)), 'the exact bytes');
      assert.equal(m.remoteAddress, '10.0.0.9:5');
      assert.deepEqual(
        audit.map((a) => [a.action, a.what]),
        [['feed-rejected-view', `feed-rejected/${held.id}`]],
      );

      // Nothing of it reached the inbox or the record.
      assert.equal(await inboxCount('U-1'), 0);

      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rx9-pas', org: 'RX9', protocol: 'mllp', sendingFacility: 'RX9' });
      audit.length = 0;
      const replay = await feeds.replayRejected(engineer, held.id);
      assert.equal(replay.ack, 'AA');
      assert.equal(replay.alreadyAccepted, false);
      assert.ok(replay.inboxMessageId);
      assert.deepEqual(
        audit.map((a) => [a.action, a.what]),
        [['feed-rejected-replay', `feed-rejected/${held.id} AA`]],
      );
      assert.equal(await worker.drain(), 1);
      const [patient] = await patientsOf('rx9-pas');
      assert.equal(patient?.name?.[0]?.family, 'ZOË');
      const after = (await feeds.rejected(engineer, { feedId: 'rx9-pas' }))[0];
      assert.equal(after?.id, held.id, 'now filed under the feed that recognised it');
      assert.equal(after?.replayAck, 'AA');
      assert.equal(after?.replayedBy, 'eng-1');
      assert.equal(after?.inboxMessageId, replay.inboxMessageId);

      // Idempotent: a second replay sends nothing again.
      const again = await feeds.replayRejected(engineer, held.id);
      assert.equal(again.alreadyAccepted, true);
      assert.equal(again.inboxMessageId, replay.inboxMessageId);
      assert.equal(await inboxCount('U-1'), 1);
      assert.equal(await worker.drain(), 0);
    });

    it('keeps a suspended feed’s message with its feed; a replay still refused records AR on it, not a new row', async () => {
      await feeds.suspend(engineer, 'rx8-pas', 'interface under repair');
      const before = (await feeds.list()).find((f) => f.id === 'rx8-pas')?.counters.rejected ?? -1;
      const r = await send(adt('RX8', 'S-1', { family: 'SUSPENDED' }));
      assert.equal(r.code, 'AR');
      const list = await feeds.rejected(engineer, { feedId: 'rx8-pas' });
      assert.equal(list.length, 1);
      const id = list[0]?.id ?? 0;
      assert.equal(list[0]?.reason, 'Feed rx8-pas is suspended: interface under repair');
      assert.equal((await feeds.list()).find((f) => f.id === 'rx8-pas')?.counters.rejected, before + 1);

      const refused = await feeds.replayRejected(engineer, id);
      assert.equal(refused.ack, 'AR');
      assert.match(refused.reason ?? '', /suspended/);
      assert.equal((await feeds.rejected(engineer, { feedId: 'rx8-pas' })).length, 1, 'no new row');
      const held = await feeds.rejectedMessage(engineer, id);
      assert.equal(held.replayAck, 'AR');
      assert.equal(held.replayCount, 1);

      await feeds.approve(engineer, 'rx8-pas', 'eng-1');
      const accepted = await feeds.replayRejected(engineer, id);
      assert.equal(accepted.ack, 'AA');
      assert.equal((await feeds.rejectedMessage(engineer, id)).replayCount, 2);
      assert.equal(await worker.drain(), 1);
      assert.ok((await patientsOf('rx8-pas')).some((p) => p.name?.[0]?.family === 'SUSPENDED'));
    });

    it('a malformed message (AE) is replayed corrected; the correction is kept beside the message as received', async () => {
      const broken = adt('RX8', 'M-1', { pid3: '' });
      // PID-3 empty passes the parser; break the message itself: MSH-9 missing.
      const bad = broken.replace('ADT^A01', '');
      const r = await send(bad);
      assert.equal(r.code, 'AE');
      const [held] = await feeds.rejected(engineer, { feedId: 'rx8-pas' });
      assert.ok(held && held.controlId === 'M-1' && held.ackCode === 'AE');
      assert.match(held.reason, /MSH-9|message type/i);
      const fixed = adt('RX8', 'M-1', { family: 'CORRECTED' }).replaceAll('\r', '\n');
      const replay = await feeds.replayRejected(engineer, held.id, fixed);
      assert.equal(replay.ack, 'AA');
      assert.equal(replay.edited, true);
      const m = await feeds.rejectedMessage(engineer, held.id);
      assert.ok(m.raw.equals(Buffer.from(bad)), 'the message as received is unchanged');
      assert.equal(m.replayedRaw?.toString('utf8'), fixed.replaceAll('\n', '\r'), 'segments end with CR');
      assert.equal(await worker.drain(), 1);
      assert.ok((await patientsOf('rx8-pas')).some((p) => p.name?.[0]?.family === 'CORRECTED'));
      await assert.rejects(feeds.replayRejected(engineer, 999_999_999), { code: 'ICR_NOT_FOUND' });
      const other = (await feeds.rejected(engineer, { all: true })).find((x) => x.inboxMessageId === null);
      if (other) await assert.rejects(feeds.replayRejected(engineer, other.id, ' \n '), { code: 'ICR_BAD_REQUEST' });
    });

    it('keeps bytes that are not UTF-8 exactly, and a NUL read from MSH-3 does not stop the row being kept', async () => {
      const bytes = Buffer.concat([
        Buffer.from('MSH|^~\\&|P\u0000S|RX8|ICR|ICR|20260101||ADT^A01|B-1|P|2.4\rPID|1||X^^^RX8||'),
        Buffer.from([0xff, 0xfe, 0x41]),
      ]);
      const r = await send(bytes);
      assert.equal(r.code, 'AR');
      const all = await feeds.rejected(engineer, { all: true });
      const held = all.find((m) => m.controlId === 'B-1');
      assert.ok(held);
      const m = await feeds.rejectedMessage(engineer, held.id);
      assert.ok(m.raw.equals(bytes));
      assert.equal(m.sendingApplication, 'P\ufffdS');
    });

    it('is bounded: the newest rows are kept and older ones past the retention go; the counter counts every one', async () => {
      const bounded = new FeedService({ db: t.t.db, rejectedBounds: { retentionDays: 30, maxRows: 3 } });
      const bIntake = new Hl7Intake(bounded);
      await bounded.suspend(SYSTEM_ACTOR, 'rx8-pas', 'bounded test');
      const before = (await bounded.list()).find((f) => f.id === 'rx8-pas')?.counters.rejected ?? 0;
      for (let n = 1; n <= 5; n += 1) {
        const r = await bIntake.handle({
          bytes: Buffer.from(adt('RX8', `Q-${n}`)),
          remoteAddress: 'x',
          connectionId: 'c',
        });
        assert.equal(r.code, 'AR');
      }
      const all = await bounded.rejected(SYSTEM_ACTOR, { all: true });
      assert.deepEqual(
        all.map((m) => m.controlId),
        ['Q-5', 'Q-4', 'Q-3'],
      );
      assert.equal((await bounded.list()).find((f) => f.id === 'rx8-pas')?.counters.rejected, before + 5);
      await t.t.db.query(`update feed_rejected set received_at = now() - interval '40 days' where control_id = 'Q-3'`);
      await bIntake.handle({ bytes: Buffer.from(adt('RX8', 'Q-6')), remoteAddress: 'x', connectionId: 'c' });
      assert.deepEqual(
        (await bounded.rejected(SYSTEM_ACTOR, { all: true })).map((m) => m.controlId),
        ['Q-6', 'Q-5', 'Q-4'],
      );
      await bounded.approve(SYSTEM_ACTOR, 'rx8-pas', 'eng-1');
    });

    it('admin API: integration engineers list, read (audited) and replay; others are refused; bad input is 400', async () => {
      const eng = { authorization: await t.auth('integration-engineer') };
      const gp = { authorization: await t.auth('gp-a81001') };
      // Suspend through the API (the app's sender registry sees it at once), then send.
      const s = await t.app.inject({
        method: 'POST',
        url: '/api/feeds/rx8-pas/suspend',
        headers: eng,
        payload: { reason: 'api test' },
      });
      assert.equal(s.statusCode, 200, s.body);
      await send(adt('RX8', 'H-1', { family: 'VIAAPI' }));
      const list = await t.app.inject({ url: '/api/feeds/rx8-pas/rejected?limit=5', headers: eng });
      assert.equal(list.statusCode, 200);
      const held = list
        .json<{ rejected: Array<{ id: number; controlId: string }> }>()
        .rejected.find((m) => m.controlId === 'H-1');
      assert.ok(held);
      assert.equal((await t.app.inject({ url: '/api/feeds/rx8-pas/rejected', headers: gp })).statusCode, 403);
      assert.equal((await t.app.inject({ url: `/api/rejected/${held.id}`, headers: gp })).statusCode, 403);
      assert.equal((await t.app.inject({ url: '/api/feeds/rx8-pas/rejected?limit=0', headers: eng })).statusCode, 400);
      assert.equal((await t.app.inject({ url: '/api/rejected?sender=known', headers: eng })).statusCode, 400);
      assert.equal((await t.app.inject({ url: '/api/rejected/abc', headers: eng })).statusCode, 400);
      assert.equal((await t.app.inject({ url: '/api/rejected/987654321', headers: eng })).statusCode, 404);
      const unknown = await t.app.inject({ url: '/api/rejected?sender=unknown', headers: eng });
      assert.equal(unknown.statusCode, 200);

      audit.length = 0;
      const one = await t.app.inject({ url: `/api/rejected/${held.id}`, headers: eng });
      assert.equal(one.statusCode, 200);
      assert.equal(one.headers['cache-control'], 'no-store');
      const body = one.json<{ message: string; messageBase64: string; reason: string }>();
      assert.match(body.message, /^MSH\|.*\nEVN/s);
      assert.match(body.reason, /suspended: api test/);
      assert.equal(Buffer.from(body.messageBase64, 'base64').toString('utf8'), adt('RX8', 'H-1', { family: 'VIAAPI' }));
      assert.ok(audit.some((a) => a.action === 'feed-rejected-view' && a.actor.kind === 'user'));

      const badBody = await t.app.inject({
        method: 'POST',
        url: `/api/rejected/${held.id}/replay`,
        headers: eng,
        payload: { message: 42 },
      });
      assert.equal(badBody.statusCode, 400);
      const a = await t.app.inject({ method: 'POST', url: '/api/feeds/rx8-pas/approve', headers: eng, payload: {} });
      assert.equal(a.statusCode, 200);
      const replay = await t.app.inject({ method: 'POST', url: `/api/rejected/${held.id}/replay`, headers: eng });
      assert.equal(replay.statusCode, 200, replay.body);
      assert.equal(replay.json<{ ack: string }>().ack, 'AA');
      const gpReplay = await t.app.inject({ method: 'POST', url: `/api/rejected/${held.id}/replay`, headers: gp });
      assert.equal(gpReplay.statusCode, 403);
      await worker.drain();
    });

    it('the CLI lists, shows and replays rejected messages (as received or from a corrected file)', async () => {
      const run = async (...args: string[]) => {
        let out = '';
        process.exitCode = undefined;
        const program = new Command().exitOverride();
        registerFeedsCommand(program, { open: async () => borrowed(t.t.db), out: (s: string) => void (out += s) });
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
      await feeds.suspend(engineer, 'rx8-pas', 'cli test');
      await send(adt('RX8', 'C-1', { family: 'FROMCLI' }));
      await send(adt('RX8', 'C-2', { family: 'WRONG' }));
      const table = await run('feeds', 'rejected', 'rx8-pas');
      assert.match(table.out, /C-1 +ADT\^A01 +AR +Feed rx8-pas is suspended: cli test/);
      const json = JSON.parse((await run('feeds', 'rejected', 'rx8-pas', '--json', '--limit', '2')).out) as Array<{
        id: number;
        controlId: string;
      }>;
      assert.deepEqual(
        json.map((m) => m.controlId),
        ['C-2', 'C-1'],
      );
      const [c2, c1] = json;
      const shown = await run('feeds', 'rejected', '--show', String(c1?.id));
      assert.match(shown.out, /\nMSH\|\^~\\&\|PAS\|RX8/);
      assert.match((await run('feeds', 'rejected', '--unknown-sender')).out, /unknown sender|No rejected/);
      const missing = await run('feeds', 'rejected', 'no-such-feed');
      assert.equal(missing.code, 2);
      assert.match(missing.out, /not registered/);
      assert.equal((await run('feeds', 'replay', '--rejected', 'x')).code, 2);
      assert.equal((await run('feeds', 'replay', 'rx8-pas', '--message', '1', '--rejected', '2')).code, 2);

      const still = await run('feeds', 'replay', '--rejected', String(c1?.id));
      assert.match(still.out, /refused again \(AR\): Feed rx8-pas is suspended/);
      await feeds.approve(engineer, 'rx8-pas', 'eng-1');
      const ok = await run('feeds', 'replay', '--rejected', String(c1?.id));
      assert.match(ok.out, /accepted \(AA\): inbox message \d+/);
      const dir = mkdtempSync(path.join(tmpdir(), 'icr-rejected-'));
      const file = path.join(dir, 'fixed.hl7');
      writeFileSync(file, adt('RX8', 'C-2', { family: 'FIXEDFILE' }).replaceAll('\r', '\r\n'));
      const edited = JSON.parse(
        (await run('feeds', 'replay', '--rejected', String(c2?.id), '--file', file, '--json')).out,
      ) as { ack: string; edited: boolean };
      assert.deepEqual([edited.ack, edited.edited], ['AA', true]);
      assert.match((await run('feeds', 'replay', '--rejected', String(c1?.id))).out, /already accepted/);
      await worker.drain();
      const families = (await patientsOf('rx8-pas')).map((p) => p.name?.[0]?.family);
      assert.ok(families.includes('FROMCLI') && families.includes('FIXEDFILE') && !families.includes('WRONG'));
    });

    it('admin portal: the feed page lists them; the message page shows it escaped and replays with the CSRF token', async () => {
      const page0 = await t.app.inject({ url: '/signin' });
      const csrf0 = /name="_csrf" value="([^"]+)"/.exec(page0.body)?.[1] ?? '';
      const signin = await t.app.inject({
        method: 'POST',
        url: '/signin/demo',
        cookies: sessionCookie(page0),
        headers: FORM,
        payload: `user=integration-engineer&_csrf=${encodeURIComponent(csrf0)}`,
      });
      assert.equal(signin.statusCode, 303);
      const cookies = sessionCookie(signin);
      await feeds.suspend(engineer, 'rx8-pas', 'portal test');
      await send(adt('RX8', 'P-1', { family: '<b>HTML</b>' }));
      assert.equal((await send(adt('NOBODY', 'P-2'))).code, 'AR');
      await feeds.approve(engineer, 'rx8-pas', 'eng-1');
      const feedPage = await t.app.inject({ url: '/admin/feeds/rx8-pas', cookies });
      assert.equal(feedPage.statusCode, 200);
      assert.match(feedPage.body, /Rejected at intake/);
      const id = /href="\/admin\/rejected\/(\d+)"[^]*?P-1/.exec(feedPage.body)?.[1];
      assert.ok(id, 'the rejected message is listed with a link');
      assert.match(feedPage.body, /Feed rx8-pas is suspended: portal test/);
      const unknownList = await t.app.inject({ url: '/admin/feeds', cookies });
      assert.match(unknownList.body, /Messages from unknown senders/);

      audit.length = 0;
      const view = await t.app.inject({ url: `/admin/rejected/${id}`, cookies });
      assert.equal(view.statusCode, 200);
      assert.match(view.body, /&#60;b&#62;HTML&#60;\/b&#62;/, 'escaped');
      assert.ok(!view.body.includes('<b>HTML</b>'));
      assert.ok(audit.some((a) => a.action === 'feed-rejected-view' && a.what === `feed-rejected/${id}`));
      const token = /name="_csrf" value="([^"]+)"/.exec(view.body)?.[1] ?? '';
      const noCsrf = await t.app.inject({
        method: 'POST',
        url: `/admin/rejected/${id}/replay`,
        cookies,
        headers: FORM,
        payload: '',
      });
      assert.equal(noCsrf.statusCode, 403);
      assert.equal((await feeds.rejectedMessage(engineer, Number(id))).replayAck, null, 'nothing happened');
      const replay = await t.app.inject({
        method: 'POST',
        url: `/admin/rejected/${id}/replay`,
        cookies,
        headers: FORM,
        payload: `_csrf=${encodeURIComponent(token)}`,
      });
      assert.equal(replay.statusCode, 303);
      assert.equal(replay.headers.location, `/admin/rejected/${id}?done=accepted`);
      const done = await t.app.inject({ url: String(replay.headers.location), cookies });
      assert.match(done.body, /accepted \(AA\)/);
      assert.match(done.body, /accepted on replay \(message \d+\)/);
      assert.ok(!done.body.includes('Replay as received'), 'no replay form once accepted');
      await worker.drain();
    });

    it('recognises a sender whose MSH-3 carries an escape sequence (R\\T\\D is R&D), and echoes it escaped once', async () => {
      await feeds.addFeed(SYSTEM_ACTOR, {
        id: 'rx8-rnd',
        org: 'RX8',
        protocol: 'mllp',
        sendingApplication: 'R&D PAS',
        sendingFacility: 'RX8',
      });
      const r = await send(adt('RX8', 'E-1', { app: 'R\\T\\D PAS' }));
      assert.equal(r.code, 'AA', r.ack);
      assert.match(r.ack, /^MSH\|\^~\\&\|OPENICR\|OPENICR\|R\\T\\D PAS\|RX8\|/);
      assert.equal(r.feedId, 'rx8-rnd');
      await worker.drain();
    });
  });
}

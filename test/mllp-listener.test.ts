/**
 * The MLLP listener over real TCP sockets (port 0): node-hl7-client as the sender for the ordinary
 * exchanges, raw sockets for the framing edge cases; every ACK code; the inbox row committed before the
 * ACK; duplicates; group commit across connections; idle timeout; TLS.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import Client, { type InboundResponse, Message } from 'node-hl7-client';
import { parseMessage } from '../src/ingest/hl7v2/parse.ts';
import { frame, MllpDecoder } from '../src/ingest/mllp/framing.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { type MllpListener, startMllpListener } from '../src/ingest/mllp/listener.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';

const adt = (control: string, opts: { app?: string; fac?: string; version?: string; extra?: string } = {}) =>
  [
    `MSH|^~\\&|${opts.app ?? 'PAS'}|${opts.fac ?? 'RX1'}|ICR|ICR|20260101120000||ADT^A01^ADT_A01|${control}|P|${opts.version ?? '2.4'}`,
    'EVN|A01|20260101120000',
    'PID|1||H123^^^RX1^MR~9990000018^^^NHS^NH||SMITH^ANNA||19800101|F',
    'PV1|1|I|WARD1^BED1',
    ...(opts.extra ? [opts.extra] : []),
  ].join('\r');

/** A raw MLLP client: writes bytes as given and collects parsed ACKs. */
class RawClient {
  readonly acks: string[] = [];
  readonly #socket: net.Socket;
  readonly #decoder = new MllpDecoder(1 << 20);
  #waiters: Array<() => void> = [];
  closed: Promise<void>;
  constructor(port: number, socket?: net.Socket) {
    this.#socket = socket ?? net.connect(port, '127.0.0.1');
    this.#socket.on('data', (chunk: Buffer) => {
      for (const ev of this.#decoder.push(chunk)) {
        if (ev.kind === 'message') this.acks.push(ev.bytes.toString('utf8'));
      }
      this.#waiters.forEach((w) => w());
    });
    this.#socket.on('error', () => undefined); // a reset after the test's last ACK is not a failure
    this.closed = new Promise((r) => this.#socket.on('close', () => r()));
  }
  write(b: Buffer | string): void {
    this.#socket.write(b);
  }
  async waitFor(n: number, ms = 10_000): Promise<string[]> {
    const deadline = Date.now() + ms;
    while (this.acks.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} ACKs (got ${this.acks.length})`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.acks.slice(0, n);
  }
  end(): void {
    this.#socket.end();
  }
}

const msa = (ack: string) => {
  const m = parseMessage(ack);
  return { code: m.segment('MSA')?.get(1), control: m.segment('MSA')?.get(2), err: m.segment('ERR'), msg: m };
};

for (const which of testDatabases) {
  describe(`MLLP listener (${which})`, () => {
    let t: TestDb;
    let feeds: FeedService;
    let intake: Hl7Intake;
    let listener: MllpListener;

    before(async () => {
      t = await openTestDb(which);
      feeds = new FeedService({ db: t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Exeter Acute', kind: 'acute' });
      await feeds.addFeed(SYSTEM_ACTOR, {
        id: 'rx1-pas',
        org: 'RX1',
        protocol: 'mllp',
        sendingApplication: 'PAS',
        sendingFacility: 'RX1',
      });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rx1-lab', org: 'RX1', protocol: 'mllp', sendingFacility: 'RX1LAB' });
      intake = new Hl7Intake(feeds);
      listener = await startMllpListener(intake, {
        host: '127.0.0.1',
        port: 0,
        idleTimeoutMs: 1500,
        maxFrameBytes: 64 * 1024,
      });
    });
    after(async () => {
      await listener.close();
      await t.close();
    });

    const inboxCount = async (control?: string) =>
      Number(
        (
          await t.db.query<{ n: number }>(
            `select count(*)::int as n from feed_message where ($1::text is null or control_id = $1)`,
            [control ?? null],
          )
        ).rows[0]?.n,
      );

    it('AA from node-hl7-client, with the message committed to the inbox (and its job) before the ACK', async () => {
      const client = new Client({ host: '127.0.0.1', version: '2.4' } as never);
      const acks: Array<{ code: string; control: string; stored: number }> = [];
      const reads: Array<Promise<unknown>> = [];
      let done!: () => void;
      const got = new Promise<void>((r) => (done = r));
      // waitAck: false — node-hl7-client 4.0.0 busy-waits for the ACK in sendMessage with waitAck: true, which
      // blocks the event loop this test's listener shares; our listener answers in order either way.
      const conn = client.createConnection(
        { port: listener.port, waitAck: false } as never,
        async (res: InboundResponse) => {
          const m = res.getMessage();
          const control = m.get('MSA.2').toString();
          // Record the ACK's arrival order before awaiting anything (two callbacks' queries may finish in
          // either order), then read the database: the row must already be there when the ACK arrives.
          const ack = { code: m.get('MSA.1').toString(), control, stored: -1 };
          acks.push(ack);
          const pending = inboxCount(control).then((n) => (ack.stored = n));
          reads.push(pending);
          if (acks.length === 2) void Promise.all(reads).then(() => done());
        },
      );
      await conn.sendMessage(new Message({ text: adt('NHC-1') }));
      await conn.sendMessage(new Message({ text: adt('NHC-2') }));
      await got;
      await conn.close();
      assert.deepEqual(acks, [
        { code: 'AA', control: 'NHC-1', stored: 1 },
        { code: 'AA', control: 'NHC-2', stored: 1 },
      ]);
      const row = (
        await t.db.query<{
          feed_id: string;
          message_type: string;
          remote_address: string;
          job_id: number | null;
          raw: string;
        }>(`select feed_id, message_type, remote_address, job_id, raw from feed_message where control_id = 'NHC-1'`)
      ).rows[0];
      assert.equal(row?.feed_id, 'rx1-pas');
      assert.equal(row?.message_type, 'ADT^A01');
      assert.match(row?.remote_address ?? '', /^127\.0\.0\.1:\d+$/);
      assert.ok(row?.job_id, 'a processing job was enqueued in the same commit');
      assert.equal(row?.raw, adt('NHC-1'));
    });

    it('acknowledges a repeat (same MSH-3, MSH-4, MSH-10) with AA and stores it once', async () => {
      const c = new RawClient(listener.port);
      c.write(frame(adt('DUP-1')));
      c.write(frame(adt('DUP-1')));
      const acks = (await c.waitFor(2)).map(msa);
      c.end();
      assert.deepEqual(
        acks.map((a) => [a.code, a.control]),
        [
          ['AA', 'DUP-1'],
          ['AA', 'DUP-1'],
        ],
      );
      assert.equal(await inboxCount('DUP-1'), 1);
      const jobs = await t.db.query<{ n: number }>(
        `select count(*)::int as n from job j join feed_message m on m.job_id = j.id where m.control_id = 'DUP-1'`,
      );
      assert.equal(Number(jobs.rows[0]?.n), 1);
    });

    it('AR for an unknown sender and for a suspended feed, with the reason, in the sender version', async () => {
      const c = new RawClient(listener.port);
      c.write(frame(adt('U-1', { app: 'OTHER', fac: 'ELSEWHERE', version: '2.5.1' })));
      const [unknown] = (await c.waitFor(1)).map(msa);
      assert.equal(unknown?.code, 'AR');
      assert.equal(unknown?.control, 'U-1');
      assert.equal(unknown?.msg.header.version, '2.5.1');
      assert.match(
        unknown?.err?.get(8) ?? '',
        /Unknown sender: no MLLP feed is registered for sending application "OTHER"/,
      );
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rx1-old', org: 'RX1', protocol: 'mllp', sendingFacility: 'RX1OLD' });
      await feeds.suspend(SYSTEM_ACTOR, 'rx1-old', 'replaced by rx1-pas');
      c.write(frame(adt('S-1', { app: 'X', fac: 'RX1OLD', version: '2.3' })));
      const [, suspended] = (await c.waitFor(2)).map(msa);
      c.end();
      assert.equal(suspended?.code, 'AR');
      assert.match(suspended?.msg.segment('MSA')?.get(3) ?? '', /Feed rx1-old is suspended: replaced by rx1-pas/);
      assert.equal(await inboxCount('U-1'), 0);
      assert.equal(await inboxCount('S-1'), 0);
      const list = await feeds.list();
      assert.equal(list.find((f) => f.id === 'rx1-old')?.counters.rejected, 1);
    });

    it('AE with the ERR location for a known sender’s malformed message; AR for an unsupported version', async () => {
      const c = new RawClient(listener.port);
      c.write(frame(`${adt('BAD-1', { version: '2.5' })}\rthis line was wrapped|x`));
      c.write(frame(adt('V-1', { version: '3.1' })));
      const [bad, version] = (await c.waitFor(2)).map(msa);
      c.end();
      assert.equal(bad?.code, 'AE');
      assert.equal(bad?.control, 'BAD-1');
      assert.equal(bad?.err?.get(2, 2), '5', 'ERR-2.2: the fifth segment');
      assert.equal(bad?.err?.get(3, 1), '100');
      assert.match(bad?.err?.get(8) ?? '', /Segment 5 \("thi"\) does not start with a segment identifier/);
      assert.equal(version?.code, 'AR');
      assert.match(version?.msg.segment('MSA')?.get(3) ?? '', /MSH-12 version id "3.1" is not an HL7 v2 version/);
      assert.equal(await inboxCount('BAD-1'), 0);
    });

    it('frames across split reads, several frames per read and garbage between frames', async () => {
      const c = new RawClient(listener.port);
      const wire = Buffer.concat([
        Buffer.from('garbage before\r\n'),
        frame(adt('F-1')),
        Buffer.from('noise'),
        frame(adt('F-2')),
        frame(adt('F-3')),
      ]);
      // One byte per write for the first frame, then the rest in one write.
      const firstEnd = wire.indexOf(0x1c) + 2;
      for (let i = 0; i < firstEnd; i += 1) {
        c.write(wire.subarray(i, i + 1));
        if (i % 40 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      c.write(wire.subarray(firstEnd));
      const acks = (await c.waitFor(3)).map(msa);
      c.end();
      assert.deepEqual(
        acks.map((a) => [a.code, a.control]),
        [
          ['AA', 'F-1'],
          ['AA', 'F-2'],
          ['AA', 'F-3'],
        ],
      );
    });

    it('answers an oversized frame with AR and goes on with the next one', async () => {
      const c = new RawClient(listener.port);
      c.write(frame(adt('BIG-1', { extra: `NTE|1||${'x'.repeat(70 * 1024)}` })));
      c.write(frame(adt('AFTER-BIG')));
      const [big, next] = (await c.waitFor(2)).map(msa);
      c.end();
      assert.equal(big?.code, 'AR');
      assert.match(big?.msg.segment('MSA')?.get(3) ?? '', /larger than 65536 bytes/);
      assert.equal(next?.code, 'AA');
      assert.equal(next?.control, 'AFTER-BIG');
    });

    it('closes an idle connection', async () => {
      const c = new RawClient(listener.port);
      const t0 = Date.now();
      await c.closed;
      assert.ok(Date.now() - t0 >= 1000, 'closed after the idle timeout, not at once');
    });

    it('takes many connections at once, and messages arriving together share a commit', async () => {
      const commitsBefore = intake.commits;
      const clients = Array.from({ length: 8 }, () => new RawClient(listener.port));
      clients.forEach((c, n) => {
        for (let k = 0; k < 25; k += 1) c.write(frame(adt(`M-${n}-${k}`, { app: 'LAB', fac: 'RX1LAB' })));
      });
      const all = await Promise.all(clients.map(async (c) => (await c.waitFor(25)).map(msa)));
      clients.forEach((c) => c.end());
      for (const [n, acks] of all.entries()) {
        assert.deepEqual(
          acks.map((a) => a.control),
          Array.from({ length: 25 }, (_, k) => `M-${n}-${k}`),
          'each connection gets its ACKs in order',
        );
        assert.ok(acks.every((a) => a.code === 'AA'));
      }
      const rows = await t.db.query<{ n: number }>(
        `select count(*)::int as n from feed_message where feed_id = 'rx1-lab'`,
      );
      assert.equal(Number(rows.rows[0]?.n), 200);
      assert.ok(
        intake.commits - commitsBefore < 200,
        `group commit: ${intake.commits - commitsBefore} commits for 200 messages`,
      );
      assert.ok(intake.largestCommit > 1);
    });

    it('speaks TLS when given a certificate and key', async (ctx) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'icr-mllp-tls-'));
      try {
        try {
          execFileSync(
            'openssl',
            [
              'req',
              '-x509',
              '-newkey',
              'rsa:2048',
              '-nodes',
              '-keyout',
              path.join(dir, 'key.pem'),
              '-out',
              path.join(dir, 'cert.pem'),
              '-days',
              '1',
              '-subj',
              '/CN=localhost',
            ],
            { stdio: 'ignore' },
          );
        } catch {
          ctx.skip('openssl is not available to make a test certificate');
          return;
        }
        const cert = readFileSync(path.join(dir, 'cert.pem'));
        const secure = await startMllpListener(intake, {
          host: '127.0.0.1',
          port: 0,
          tls: { cert, key: readFileSync(path.join(dir, 'key.pem')) },
        });
        try {
          const socket = tls.connect({ port: secure.port, host: '127.0.0.1', ca: cert, servername: 'localhost' });
          await new Promise<void>((r) => socket.once('secureConnect', () => r()));
          const c = new RawClient(0, socket);
          c.write(frame(adt('TLS-1')));
          const [ack] = (await c.waitFor(1)).map(msa);
          c.end();
          assert.equal(ack?.code, 'AA');
        } finally {
          await secure.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

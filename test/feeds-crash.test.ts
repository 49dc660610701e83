/**
 * Crash safety of HL7 v2 intake (issue 11, DESIGN.md §11): the real server runs as a child process
 * (`icr serve`) on its own database; 4 connections stream 2,000 messages by default (the 10,000 with
 * ICR_CRASH_MESSAGES=10000: minutes, not seconds, on a shared 2-core machine);
 * the server is killed with SIGKILL in the middle of the stream, then started again on the same database
 * (PGlite: the same data directory; PostgreSQL: the same schema), and each sender resends what was not
 * acknowledged. Afterwards every ACKed message is in the inbox exactly once, with exactly one job, and
 * processed; every resend was acknowledged and applied once: each person's Patient has one version per
 * message about them, and ends as their last message says (their messages applied in order).
 *
 * The sender is a small raw-socket MLLP client (framing from src/ingest/mllp/framing.ts) rather than
 * node-hl7-client: the test must know exactly which messages were acknowledged when the connection drops,
 * and keeps several messages in flight per connection; node-hl7-client's `waitAck: true` send never
 * resolves here and its asynchronous form does not say which message an ACK or a dropped connection
 * belongs to.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { frame, MllpDecoder } from '../src/ingest/mllp/framing.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import type { Db } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { openPglite } from '../src/store/pglite-db.ts';
import { testDatabases, testDatabaseUrl } from './helpers/db.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const TOTAL = Number(process.env.ICR_CRASH_MESSAGES ?? 2_000);
const CONNECTIONS = 4;
const PER_PERSON = 10;
const IN_FLIGHT = 16;
// Ports of the child server; on a machine shared by several runs, ICR_CRASH_MLLP_PORT / ICR_CRASH_HTTP_PORT
// move them (PGlite on the port given, PostgreSQL on the next).
const mllpBase = Number(process.env.ICR_CRASH_MLLP_PORT ?? 2641);
const httpBase = Number(process.env.ICR_CRASH_HTTP_PORT ?? 8141);
const MLLP_PORT = { pglite: mllpBase, postgres: mllpBase + 1 };
const HTTP_PORT = { pglite: httpBase, postgres: httpBase + 1 };

/** Message `n` of connection `c`: an A31 (demographics only) changing its person's address each time. */
function message(c: number, n: number): { id: string; text: string; person: string; street: string } {
  const k = Math.floor(n / PER_PERSON);
  const person = `P${c}x${k}`;
  const street = `${n} Crash Lane`;
  const text = [
    `MSH|^~\\&|PAS|CRASH|ICR|ICR|20260101120000||ADT^A31^ADT_A05|C${c}-${n}|P|2.4`,
    'EVN|A31|20260101120000',
    `PID|1||${person}^^^CRASH^MR||TEST^CRASH${k}||${1940 + (k % 60)}0101|F|||${street}^^Exeter^^EX1 1AA`,
    'PV1|1|N',
  ].join('\r');
  return { id: `C${c}-${n}`, text, person, street };
}

interface SendResult {
  acked: Set<string>;
  /** Sent (or never sent) without an ACK. */
  unacked: number[];
}

/**
 * Sends messages `ns` of connection `c` with up to IN_FLIGHT unacknowledged; stops at the first refusal
 * or when the connection drops. `onAck` is called after each AA.
 */
async function send(port: number, c: number, ns: readonly number[], onAck: () => void): Promise<SendResult> {
  const acked = new Set<string>();
  const socket = net.connect(port, '127.0.0.1');
  const ok = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('error', () => resolve(false));
  });
  if (!ok) return { acked, unacked: [...ns] };
  const decoder = new MllpDecoder(1 << 20);
  let next = 0;
  const inFlight: number[] = [];
  return new Promise<SendResult>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve({ acked, unacked: [...inFlight, ...ns.slice(next)] });
    };
    const pump = () => {
      while (inFlight.length < IN_FLIGHT && next < ns.length) {
        const n = ns[next] ?? 0;
        next += 1;
        inFlight.push(n);
        socket.write(frame(message(c, n).text));
      }
      if (inFlight.length === 0 && next >= ns.length) finish();
    };
    socket.on('data', (chunk: Buffer) => {
      for (const ev of decoder.push(chunk)) {
        if (ev.kind !== 'message') continue;
        const ack = ev.bytes.toString('utf8');
        const n = inFlight.shift();
        if (n === undefined) continue;
        const id = message(c, n).id;
        // ACKs come back in order: each names its message's control id (MSA-2).
        assert.match(
          ack,
          new RegExp(`\\rMSA\\|AA\\|${id}(\\||\\r|$)`),
          `ACK for ${id}: ${ack.replaceAll('\r', ' / ')}`,
        );
        acked.add(id);
        onAck();
      }
      pump();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    pump();
  });
}

function startServer(env: Record<string, string>): {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
} {
  const child = spawn(process.execPath, ['src/cli/index.ts', 'serve'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('HL7 v2 (MLLP)')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then(() => reject(new Error(`server exited before it was ready:\n${out.slice(-2000)}`)));
  });
  return { child, ready, exited };
}

async function backlog(httpPort: number): Promise<number | null> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    const m = /icr_feed_backlog\{feed="crash"\} (\d+)/.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

for (const which of testDatabases) {
  describe(`crash safety of MLLP intake (${which})`, () => {
    it(`keeps every ACKed message of ${TOTAL} on ${CONNECTIONS} connections across a SIGKILL, and applies resends once`, async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'icr-crash-'));
      const schema = `crash_${randomBytes(5).toString('hex')}`;
      const open = async (): Promise<Db> =>
        which === 'postgres'
          ? openPostgres({ connectionString: testDatabaseUrl ?? '', schema, max: 2 })
          : openPglite(path.join(dir, 'pglite'));
      const env: Record<string, string> = {
        ICR_DATA_DIR: dir,
        ICR_HTTP_HOST: '127.0.0.1',
        ICR_HTTP_PORT: String(HTTP_PORT[which]),
        ICR_MLLP_PORT: String(MLLP_PORT[which]),
        ICR_TOKEN_SECRET: 'crash-test-secret-crash-test-secret-0123456789',
        ICR_SESSION_SECRET: 'crash-test-session-secret-crash-test-0123456',
        LOG_LEVEL: 'warn',
      };
      if (which === 'postgres') {
        const admin = await openPostgres({ connectionString: testDatabaseUrl ?? '', max: 1 });
        await admin.exec(`create schema ${schema}`);
        await admin.close();
        const url = new URL(testDatabaseUrl ?? '');
        url.searchParams.set('options', `-c search_path=${schema}`);
        env.DATABASE_URL = url.toString();
      }
      let server: ReturnType<typeof startServer> | undefined;
      try {
        // The feed, registered and live before the server starts.
        const setup = await open();
        await migrate(setup);
        const feeds = new FeedService({ db: setup });
        await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'CRASH', name: 'Crash test', kind: 'acute' });
        await feeds.addFeed(SYSTEM_ACTOR, { id: 'crash', org: 'CRASH', protocol: 'mllp', sendingFacility: 'CRASH' });
        await feeds.approve(SYSTEM_ACTOR, 'crash', 'test');
        await setup.close();

        const perConn = TOTAL / CONNECTIONS;
        const all = Array.from({ length: perConn }, (_, n) => n);
        server = startServer(env);
        await server.ready;
        // Kill the server once about 40% of the messages are acknowledged.
        let acks = 0;
        const victim = server;
        const killAt = Math.floor(TOTAL * 0.4);
        const first = await Promise.all(
          Array.from({ length: CONNECTIONS }, (_, c) =>
            send(MLLP_PORT[which], c, all, () => {
              acks += 1;
              if (acks === killAt) victim.child.kill('SIGKILL');
            }),
          ),
        );
        await server.exited;
        const ackedBefore = first.reduce((n, r) => n + r.acked.size, 0);
        assert.ok(ackedBefore >= killAt && ackedBefore < TOTAL, `acknowledged before the kill: ${ackedBefore}`);

        server = startServer(env);
        await server.ready;
        const second = await Promise.all(first.map((r, c) => send(MLLP_PORT[which], c, r.unacked, () => undefined)));
        for (const [c, r] of second.entries()) {
          assert.deepEqual(r.unacked, [], `connection ${c}: every resend acknowledged`);
        }
        // Wait for the queue to apply everything (the metrics gauge), then stop the server to look.
        // (4 minutes for the default 2,000; the queue's rate on a loaded shared machine sets the time, so a
        // longer stream gets proportionally longer.)
        const deadline = Date.now() + Math.max(240_000, TOTAL * 120);
        for (;;) {
          const b = await backlog(HTTP_PORT[which]);
          if (b === 0) break;
          assert.ok(Date.now() < deadline, `backlog still ${b}`);
          await new Promise((r) => setTimeout(r, 250));
        }
        server.child.kill('SIGTERM');
        await server.exited;
        server = undefined;

        const db = await open();
        try {
          const inbox = await db.query<{ control_id: string; status: string; error: string | null; jobs: number }>(
            `select m.control_id, m.status, m.error,
                    (select count(*)::int from job j where j.queue = 'hl7v2' and j.payload::jsonb ->> 'messageId' = m.id::text
                       and j.status = 'done') as jobs
               from feed_message m where m.feed_id = 'crash'`,
          );
          const byId = new Map(inbox.rows.map((r) => [r.control_id, r]));
          // Exactly once: the inbox holds each message once (10,000 rows, no more), each with one done job.
          assert.equal(inbox.rows.length, TOTAL);
          const jobs = await db.query<{ n: number }>(`select count(*)::int as n from job where queue = 'hl7v2'`);
          assert.equal(Number(jobs.rows[0]?.n), TOTAL, 'one job per stored message, none for resends');
          for (const r of first) {
            for (const id of r.acked) {
              const row = byId.get(id);
              assert.ok(row, `ACKed ${id} stored`);
              assert.equal(row.status, 'processed', `${id} processed (${row.error ?? ''})`);
              assert.equal(row.error, null);
              assert.equal(Number(row.jobs), 1, `${id}: one job done`);
            }
          }
          for (const row of inbox.rows) assert.equal(row.status, 'processed', `${row.control_id}: ${row.error ?? ''}`);
          // Applied once and in order: one version per message about each person; the last one wins.
          const patients = await db.query<{ content: string; versions: number }>(
            `select r.content::text as content,
                    (select count(*)::int from resource_version v where v.resource_type = 'Patient' and v.id = r.id) as versions
               from resource r where r.resource_type = 'Patient' and r.feed_id = 'crash'`,
          );
          assert.equal(patients.rows.length, TOTAL / PER_PERSON);
          for (const p of patients.rows) {
            const patient = JSON.parse(p.content) as {
              address?: Array<{ line?: string[] }>;
              identifier?: Array<{ value?: string }>;
            };
            assert.equal(Number(p.versions), PER_PERSON, 'one version per message');
            const line = patient.address?.[0]?.line?.[0] ?? '';
            const n = Number(line.split(' ')[0]);
            assert.equal(n % PER_PERSON, PER_PERSON - 1, `ends with the person's last message (${line})`);
          }
        } finally {
          await db.close();
        }
      } finally {
        if (server) {
          server.child.kill('SIGKILL');
          await server.exited;
        }
        if (which === 'postgres') {
          const admin = await openPostgres({ connectionString: testDatabaseUrl ?? '', max: 1 });
          await admin.exec(`drop schema if exists ${schema} cascade`);
          await admin.close();
        }
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

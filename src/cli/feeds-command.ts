/**
 * `icr feeds add|list|approve|suspend|tester|failed|replay|rejected`: onboarding a feed (testing → live →
 * suspended), its health counters, replaying failed messages after a fix, and the messages refused at
 * intake (AR/AE) with their reason, shown and replayed as received or corrected (ADR 0046). Commands act as an integration engineer
 * (`--by` / `--user`, default the operating-system user) and are audited.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { createAuditLog } from '../audit/audit-log.ts';
import { loadConfig } from '../config/config.ts';
import { Hl7Intake } from '../ingest/mllp/intake.ts';
import { FeedService, INTEGRATION_ROLE, type RejectedReplay } from '../records/feeds/feed-service.ts';
import { rejectedText } from '../records/feeds/rejected-text.ts';
import type { RejectedSummary } from '../store/feed-rejected-store.ts';
import type { UserActor } from '../shared/actor.ts';
import type { Db } from '../store/db.ts';
import type { FeedWithCounters } from '../store/feed-store.ts';
import { migrate } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action, CliError } from './cli-error.ts';

export interface FeedCommandDeps {
  /** Opens the database (default: the configured one, migrated). */
  open?: () => Promise<Db>;
  out?: (text: string) => void;
}

export function cliEngineer(user: string | undefined): UserActor {
  return {
    kind: 'user',
    userId: user || userInfo().username,
    orgOds: 'local',
    role: INTEGRATION_ROLE,
    via: { channel: 'cli' },
  };
}

async function openMigrated(): Promise<Db> {
  const db = await openDatabase(loadConfig());
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

export async function withFeeds<T>(deps: FeedCommandDeps, fn: (s: FeedService) => Promise<T>): Promise<T> {
  const db = await (deps.open ?? openMigrated)();
  try {
    // Feed administration is audited; rejected messages are replayed through an intake of this process (the
    // server's worker applies what it adds to the inbox).
    const config = deps.open ? undefined : loadConfig();
    const service = new FeedService({
      db,
      audit: createAuditLog(),
      ...(config ? { rejectedBounds: config.rejected } : {}),
    });
    service.useIntake(new Hl7Intake(service));
    return await fn(service);
  } finally {
    await db.close();
  }
}

function ago(iso: string | null): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

/** `icr feeds list` as a table: one feed a line with its status and counters. */
export function formatFeeds(feeds: readonly FeedWithCounters[]): string {
  if (feeds.length === 0)
    return 'No feeds registered. Add one with `icr feeds add <id> --org <ods> --protocol mllp|fhir|file`.\n';
  const head = [
    'feed',
    'org',
    'protocol',
    'status',
    'last message',
    'lag',
    'backlog',
    'rejected',
    'failed',
    'excluded',
  ];
  const rows = feeds.map((f) => [
    f.id,
    f.orgOds,
    f.protocol,
    f.status,
    ago(f.counters.lastReceivedAt),
    `${Math.round(f.counters.lagSeconds)}s`,
    String(f.counters.backlog),
    String(f.counters.rejected),
    String(f.counters.failed),
    String(f.counters.excludedSensitive),
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return `${all
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function wholeNumber(raw: string, flag: string): number {
  const n = Number(raw);
  if (!/^[1-9]\d{0,15}$/.test(raw) || !Number.isSafeInteger(n)) throw new CliError(`${flag} "${raw}" is not an id`);
  return n;
}

/** Rejected messages as a table: id, when, feed, sender, control id, type, ACK, reason, replay outcome. */
export function formatRejected(list: readonly RejectedSummary[]): string {
  const head = ['id', 'received', 'feed', 'sender (MSH-3/MSH-4)', 'control id', 'type', 'ack', 'reason', 'replay'];
  const rows = list.map((m) => [
    String(m.id),
    m.receivedAt.slice(0, 19).replace('T', ' '),
    m.feedId ?? '(unknown sender)',
    `${m.sendingApplication}/${m.sendingFacility}`,
    m.controlId,
    m.messageType,
    m.ackCode,
    m.reason.replace(/\s+/g, ' ').slice(0, 100),
    m.replayAck === null
      ? ''
      : `${m.replayAck}${m.inboxMessageId !== null ? ` → message ${m.inboxMessageId}` : ''} (${m.replayedBy ?? ''})`,
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return `${all
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function formatReplay(r: RejectedReplay): string {
  if (r.alreadyAccepted)
    return `Rejected message ${r.id} was already accepted (inbox message ${r.inboxMessageId ?? '?'}): not sent again.\n`;
  if (r.ack === 'AA') {
    return `Rejected message ${r.id} accepted (AA)${r.edited ? ' as corrected' : ''}: inbox message ${r.inboxMessageId ?? '?'}${r.reason ? ` (${r.reason})` : ''}.\n`;
  }
  return `Rejected message ${r.id} refused again (${r.ack}): ${r.reason ?? ''}\n`;
}

export function registerFeedsCommand(program: Command, deps: FeedCommandDeps = {}): Command {
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));
  const feeds = program.command('feeds').description('feeds: onboarding, health and replay');

  feeds
    .command('add')
    .description('register a feed (it starts in testing: stored, shown only to its testers)')
    .argument('<id>', 'feed id (letters, digits, . _ -)')
    .requiredOption('--org <ods>', 'the organisation it belongs to (registered with `icr orgs add`)')
    .requiredOption('--protocol <protocol>', 'mllp, fhir or file')
    .option('--system <name>', 'the source system (e.g. "Epic", "EMIS Web")')
    .option('--sending-facility <msh-4>', 'MLLP: the MSH-4 it sends')
    .option('--sending-application <msh-3>', 'MLLP: the MSH-3 it sends')
    .option('--user <user-id>', 'who registers it (default: the operating-system user)')
    .action(
      action(
        async (
          id: string,
          f: {
            org: string;
            protocol: string;
            system?: string;
            sendingFacility?: string;
            sendingApplication?: string;
            user?: string;
          },
        ) => {
          const feed = await withFeeds(deps, (s) =>
            s.addFeed(cliEngineer(f.user), {
              id,
              org: f.org,
              protocol: f.protocol,
              system: f.system,
              sendingFacility: f.sendingFacility,
              sendingApplication: f.sendingApplication,
            }),
          );
          out(`Registered feed ${feed.id} (${feed.protocol}, organisation ${feed.orgOds}), status ${feed.status}.\n`);
        },
      ),
    );

  feeds
    .command('list')
    .description('list feeds with status, last message, lag, backlog, rejected, failed and excluded-sensitive counts')
    .option('--json', 'print JSON')
    .action(
      action(async (flags: { json?: boolean }) => {
        const list = await withFeeds(deps, (s) => s.list());
        out(flags.json ? `${JSON.stringify(list, null, 2)}\n` : formatFeeds(list));
      }),
    );

  feeds
    .command('approve')
    .description('make a testing (or suspended) feed live: its data shows at once, with no reprocessing')
    .argument('<id>', 'feed id')
    .requiredOption('--by <user-id>', 'who approves it')
    .action(
      action(async (id: string, f: { by: string }) => {
        const feed = await withFeeds(deps, (s) => s.approve(cliEngineer(f.by), id, f.by));
        out(`Feed ${feed.id} is live (approved by ${feed.approvedBy ?? f.by}).\n`);
      }),
    );

  feeds
    .command('suspend')
    .description('stop intake (senders get AR); data already live stays shown')
    .argument('<id>', 'feed id')
    .requiredOption('--reason <text>', 'why')
    .option('--user <user-id>', 'who suspends it (default: the operating-system user)')
    .action(
      action(async (id: string, f: { reason: string; user?: string }) => {
        const feed = await withFeeds(deps, (s) => s.suspend(cliEngineer(f.user), id, f.reason));
        out(`Feed ${feed.id} is suspended.\n`);
      }),
    );

  feeds
    .command('tester')
    .description("let a user see a testing feed's data before it is approved")
    .argument('<id>', 'feed id')
    .requiredOption('--add <user-id>', 'the user')
    .option('--user <user-id>', 'who grants it (default: the operating-system user)')
    .action(
      action(async (id: string, f: { add: string; user?: string }) => {
        await withFeeds(deps, (s) => s.addTester(cliEngineer(f.user), id, f.add));
        out(`${f.add} is a tester of feed ${id}.\n`);
      }),
    );

  feeds
    .command('replay')
    .description(
      'put failed messages back on the queue after a fix, or replay a message rejected at intake (--rejected)',
    )
    .argument('[feed]', 'feed id (for --message and --all-failed)')
    .option('--message <id>', 'one failed message (its id from `icr feeds failed`)')
    .option('--all-failed', 'every failed message of the feed')
    .option('--rejected <id>', 'a message rejected at intake (its id from `icr feeds rejected`)')
    .option('--file <path>', 'with --rejected: replay this corrected text instead of the message as received')
    .option('--json', 'with --rejected: print the outcome as JSON')
    .option('--user <user-id>', 'who replays (default: the operating-system user)')
    .action(
      action(
        async (
          id: string | undefined,
          f: { message?: string; allFailed?: boolean; rejected?: string; file?: string; json?: boolean; user?: string },
        ) => {
          const chosen = [f.message !== undefined, Boolean(f.allFailed), f.rejected !== undefined].filter(Boolean);
          if (chosen.length !== 1)
            throw new CliError('give exactly one of --message <id>, --all-failed or --rejected <id>');
          if (f.rejected !== undefined) {
            const rid = wholeNumber(f.rejected, '--rejected');
            let edited: string | undefined;
            if (f.file !== undefined) {
              try {
                edited = readFileSync(f.file, 'utf8');
              } catch {
                throw new CliError(`--file ${f.file}: cannot be read`);
              }
            }
            const r = await withFeeds(deps, (s) => s.replayRejected(cliEngineer(f.user), rid, edited));
            out(f.json ? `${JSON.stringify(r, null, 2)}\n` : formatReplay(r));
            return;
          }
          if (f.file !== undefined) throw new CliError('--file goes with --rejected <id>');
          if (id === undefined)
            throw new CliError('say which feed: icr feeds replay <feed> --message <id>|--all-failed');
          const messageId = f.message === undefined ? undefined : wholeNumber(f.message, '--message');
          const ids = await withFeeds(deps, (s) =>
            s.replay(cliEngineer(f.user), id, messageId !== undefined ? { messageId } : { allFailed: true }),
          );
          out(`Replaying ${ids.length} message${ids.length === 1 ? '' : 's'} of feed ${id}.\n`);
        },
      ),
    );

  feeds
    .command('rejected')
    .description(
      'list messages rejected at intake (AR/AE) with the reason: a feed’s, or those from unknown senders; --show one',
    )
    .argument('[feed]', 'feed id (leave out with --unknown-sender, or to list every feed’s)')
    .option('--unknown-sender', 'messages from senders no registered feed matched')
    .option('--show <id>', 'print one rejected message as received (audited)')
    .option('--limit <n>', 'at most this many, newest first (default 100)')
    .option('--json', 'print JSON')
    .option('--user <user-id>', 'who looks (default: the operating-system user)')
    .action(
      action(
        async (
          feed: string | undefined,
          f: { unknownSender?: boolean; show?: string; limit?: string; json?: boolean; user?: string },
        ) => {
          if (f.show !== undefined) {
            const rid = wholeNumber(f.show, '--show');
            const m = await withFeeds(deps, (s) => s.rejectedMessage(cliEngineer(f.user), rid));
            const { raw, replayedRaw, ...rest } = m;
            const shown = rejectedText(raw);
            if (f.json) {
              out(
                `${JSON.stringify(
                  {
                    ...rest,
                    message: shown.text,
                    encoding: shown.encoding,
                    replayedMessage: replayedRaw ? rejectedText(replayedRaw).text : null,
                  },
                  null,
                  2,
                )}\n`,
              );
            } else {
              out(`${formatRejected([rest])}\n${shown.text}\n`);
            }
            return;
          }
          if (feed !== undefined && f.unknownSender) throw new CliError('give a feed or --unknown-sender, not both');
          const limit = f.limit === undefined ? 100 : wholeNumber(f.limit, '--limit');
          const which =
            feed !== undefined
              ? { feedId: feed }
              : f.unknownSender
                ? { unknownSender: true as const }
                : { all: true as const };
          const list = await withFeeds(deps, (s) => s.rejected(cliEngineer(f.user), which, limit));
          if (f.json) return out(`${JSON.stringify(list, null, 2)}\n`);
          if (list.length === 0) {
            return out(
              feed !== undefined ? `No rejected messages held for feed ${feed}.\n` : 'No rejected messages held.\n',
            );
          }
          out(formatRejected(list));
        },
      ),
    );

  feeds
    .command('failed')
    .description("list a feed's failed messages with the reason")
    .argument('<id>', 'feed id')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, f: { json?: boolean }) => {
        const list = await withFeeds(deps, (s) => s.failed(cliEngineer(undefined), id));
        if (f.json) return out(`${JSON.stringify(list, null, 2)}\n`);
        if (list.length === 0) return out(`No failed messages in feed ${id}.\n`);
        out(list.map((m) => `${m.id}  ${m.error ?? ''}`).join('\n') + '\n');
      }),
    );
  return feeds;
}

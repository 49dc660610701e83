/**
 * `icr feeds add|list|approve|suspend|tester|replay`: onboarding a feed (testing → live → suspended),
 * its health counters, and replaying failed messages after a fix. Commands act as an integration engineer
 * (`--by` / `--user`, default the operating-system user) and are audited.
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { FeedService, INTEGRATION_ROLE } from '../records/feeds/feed-service.ts';
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
    return await fn(new FeedService({ db }));
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
    .description('put failed messages back on the queue after a fix')
    .argument('<id>', 'feed id')
    .option('--message <id>', 'one message (its id from `icr feeds failed`)')
    .option('--all-failed', 'every failed message of the feed')
    .option('--user <user-id>', 'who replays (default: the operating-system user)')
    .action(
      action(async (id: string, f: { message?: string; allFailed?: boolean; user?: string }) => {
        if ((f.message === undefined) === !f.allFailed)
          throw new CliError('give exactly one of --message <id> or --all-failed');
        const messageId = f.message === undefined ? undefined : Number(f.message);
        if (messageId !== undefined && (!Number.isInteger(messageId) || messageId < 1)) {
          throw new CliError(`--message "${f.message}" is not a message id`);
        }
        const ids = await withFeeds(deps, (s) =>
          s.replay(cliEngineer(f.user), id, messageId !== undefined ? { messageId } : { allFailed: true }),
        );
        out(`Replaying ${ids.length} message${ids.length === 1 ? '' : 's'} of feed ${id}.\n`);
      }),
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

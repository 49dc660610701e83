/**
 * `icr mpi review` lists possible duplicates waiting for a data steward, the two source records side by
 * side with the comparison vector that explains the score. `icr mpi decide <review-id> --link|--not-same
 * --reason "..."` records the steward's decision (who: `--user`, default the operating-system user).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { loadConfig } from '../config/config.ts';
import { MATCH_FIELDS } from '../mpi/types.ts';
import { loadRules } from '../mpi/rules/load-rules.ts';
import { mpiContext } from '../records/mpi/assign.ts';
import { coreMatchEngine } from '../records/mpi/engine.ts';
import { MpiService, type ReviewItem } from '../records/mpi/mpi-service.ts';
import type { UserActor } from '../shared/actor.ts';
import type { Db } from '../store/db.ts';
import { openDatabase } from '../store/open.ts';
import type { ReviewStatus } from '../store/mpi-store-review.ts';
import { action, CliError } from './cli-error.ts';

export interface MpiReviewCommandDeps {
  /** Opens the database (default: the configured one). */
  open?: () => Promise<Db>;
  out?: (text: string) => void;
}

const STATUSES: readonly ReviewStatus[] = ['open', 'linked', 'not-same', 'withdrawn'];

function pad(s: string, n: number): string {
  return s.length >= n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

/** One review as a side-by-side table: field, left record, right record, comparison level and weight. */
export function formatReview(item: ReviewItem): string {
  const { review, left, right } = item;
  const vector = (review.vector ?? {}) as Record<string, { level?: string; weight?: number } | undefined>;
  const lines = [
    `review ${review.id}  [${review.status}]  score ${review.score.toFixed(2)}  rules ${review.ruleVersion}  opened ${review.createdAt}`,
    ...(review.reasons.length > 0 ? [`  why: ${review.reasons.join(', ')}`] : []),
    `  ${pad('', 13)} ${pad(`Patient/${left.patientId}`, 26)} ${pad(`Patient/${right.patientId}`, 26)} comparison`,
    `  ${pad('person', 13)} ${pad(left.personId ?? '-', 26)} ${pad(right.personId ?? '-', 26)}`,
  ];
  for (const field of MATCH_FIELDS) {
    const a = left.record?.[field];
    const b = right.record?.[field];
    const v = vector[field];
    if (a === undefined && b === undefined && (v === undefined || v.level === 'missing')) continue;
    const cmp = v
      ? `${v.level ?? ''} ${v.weight !== undefined ? (v.weight >= 0 ? '+' : '') + v.weight.toFixed(2) : ''}`.trim()
      : '';
    lines.push(`  ${pad(field, 13)} ${pad(String(a ?? '-'), 26)} ${pad(String(b ?? '-'), 26)} ${cmp}`);
  }
  if (left.record?.nhsNumber !== undefined || right.record?.nhsNumber !== undefined) {
    const verified = (r: ReviewItem['left']) =>
      r.record?.nhsVerified ? 'verified' : r.record?.nhsNumber ? 'unverified' : '-';
    lines.push(`  ${pad('nhs status', 13)} ${pad(verified(left), 26)} ${pad(verified(right), 26)}`);
  }
  if (review.decidedBy)
    lines.push(`  decided by ${review.decidedBy} at ${review.decidedAt ?? ''}: ${review.reason ?? ''}`);
  return `${lines.join('\n')}\n`;
}

function stewardActor(user: string | undefined, org: string | undefined): UserActor {
  return { kind: 'user', userId: user || userInfo().username, orgOds: org || 'local', role: 'data-steward' };
}

export function registerMpiReviewCommand(mpiCommand: Command, deps: MpiReviewCommandDeps = {}): void {
  const open = deps.open ?? (() => openDatabase(loadConfig()));
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));
  const withService = async <T>(fn: (s: MpiService) => Promise<T>): Promise<T> => {
    const db = await open();
    try {
      return await fn(new MpiService({ db, ctx: mpiContext(coreMatchEngine(loadRules())) }));
    } finally {
      await db.close();
    }
  };

  mpiCommand
    .command('review')
    .description('list possible duplicate people for a data steward, side by side with the comparison vector')
    .option('--status <status>', `open, linked, not-same or withdrawn (default open)`, 'open')
    .option('--limit <n>', 'at most this many (default 20)', '20')
    .option('--json', 'print JSON instead of tables')
    .action(
      action(async (flags: { status: string; limit: string; json?: boolean }) => {
        if (!STATUSES.includes(flags.status as ReviewStatus))
          throw new CliError(`--status must be one of ${STATUSES.join(', ')}`);
        const limit = Number(flags.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit must be a positive integer');
        const items = await withService((s) => s.reviews({ status: flags.status as ReviewStatus, limit }));
        if (flags.json) return out(`${JSON.stringify(items, null, 2)}\n`);
        if (items.length === 0) return out(`No ${flags.status} reviews.\n`);
        out(items.map(formatReview).join('\n'));
      }),
    );

  mpiCommand
    .command('decide')
    .description('decide a review: link the two records, or record that they are not the same person')
    .argument('<review-id>', 'the review id shown by `icr mpi review`')
    .option('--link', 'the records are the same person: link them')
    .option('--not-same', 'the records are different people: never link them automatically')
    .requiredOption('--reason <text>', 'why (recorded with the decision)')
    .option('--user <user-id>', 'who decides (default: the operating-system user)')
    .option('--org <ods>', "the steward's organisation (ODS code)")
    .action(
      action(
        async (
          reviewId: string,
          flags: { link?: boolean; notSame?: boolean; reason: string; user?: string; org?: string },
        ) => {
          if (flags.link === flags.notSame) throw new CliError('give exactly one of --link or --not-same');
          const decision = flags.link ? 'link' : 'not-same';
          const res = await withService((s) =>
            s.decide(stewardActor(flags.user, flags.org), reviewId, decision, flags.reason),
          );
          out(
            decision === 'link'
              ? `Linked: both records now belong to person ${res.personId}.\n`
              : 'Recorded: not the same person.\n',
          );
        },
      ),
    );
}

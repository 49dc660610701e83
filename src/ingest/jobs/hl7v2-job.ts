/**
 * The queue job that applies one inbox message: parse, map to FHIR R4, and apply it to the record through
 * the records service (`applyMappedMessage`: the set write with the feed's provenance, older messages not
 * overwriting newer data, A40 merges through the MPI; the MPI links the Patient as it is written; sensitive
 * items are dropped and counted there). Deterministic failures (malformed, unmappable, invalid FHIR) fail
 * the message at once with the reason, kept for replay; anything else is retried with back-off, and after
 * the last attempt the message is marked failed too. Nothing is silently dropped.
 *
 * `hl7v2BatchHandler` does the same for a round of messages about different people at once (one inbox
 * read, the messages applied together in one transaction and set write, one statement marking them
 * processed; ADR 0047).
 */
import {
  applyMappedMessage,
  applyMappedMessages,
  type ApplyOutcome,
  type MappedMessage,
  type MessageContext,
} from '../../records/feeds/apply-message.ts';
import type { FeedService } from '../../records/feeds/feed-service.ts';
import type { RecordsService } from '../../records/records-service.ts';
import type { SystemActor } from '../../shared/actor.ts';
import { type BatchJobHandler, type JobHandler, PermanentJobError } from '../../queue/worker.ts';
import type { InboxRow } from '../../store/feed-store.ts';
import type { JobRow } from '../../store/job-store.ts';
import { Hl7ParseError, parseMessage } from '../hl7v2/parse.ts';
import { mapMessage, MappingError } from '../mapping/index.ts';

export interface Hl7JobDeps {
  records: RecordsService;
  feeds: FeedService;
  /**
   * Told the control ids (MSH-10) of the messages just marked processed, after the commit (their data is
   * visible): the MLLP bench's receipt-to-visible clock, outside the server's process.
   */
  onProcessed?: (controlIds: readonly string[]) => void;
}

/** Reason text kept with a failed message: codes, resource types and element paths, never values. */
function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.slice(0, 1000);
  return String(err).slice(0, 1000);
}

type Feed = Awaited<ReturnType<FeedService['feed']>>;

/** What one inbox message comes to before anything is written. */
type Prepared =
  | { kind: 'done' }
  | { kind: 'failed'; reason: string }
  | { kind: 'ignored'; reason: string }
  | { kind: 'apply'; actor: SystemActor; mapped: MappedMessage; context: MessageContext };

/** Parses and maps one message (no database): what to apply, or why not. */
function prepare(row: InboxRow, feed: Feed): Prepared {
  if (row.status === 'processed') return { kind: 'done' };
  let message;
  try {
    message = parseMessage(row.raw);
  } catch (err) {
    if (err instanceof Hl7ParseError) return { kind: 'failed', reason: `HL7 parse: ${err.message}` };
    throw err;
  }
  let mapped;
  try {
    mapped = mapMessage({ feedId: feed.id, orgOds: feed.orgOds }, message);
  } catch (err) {
    if (err instanceof MappingError) return { kind: 'failed', reason: `mapping ${message.type}: ${err.message}` };
    throw err;
  }
  if ('unsupported' in mapped) return { kind: 'ignored', reason: mapped.unsupported };
  const actor: SystemActor = {
    kind: 'system',
    systemId: `feed:${feed.id}`,
    orgOds: feed.orgOds,
    via: { channel: 'mllp' },
  };
  const context: MessageContext = {
    feedId: feed.id,
    orgOds: feed.orgOds,
    messageId: row.id,
    controlId: message.header.controlId,
    type: message.type,
    receivedAt: row.receivedAt,
  };
  return { kind: 'apply', actor, mapped, context };
}

export function hl7v2JobHandler(deps: Hl7JobDeps): JobHandler {
  return async (job) => {
    const { messageId } = JSON.parse(job.payload) as { messageId: number };
    const row = await deps.feeds.message(messageId);
    if (!row) throw new PermanentJobError(`inbox message ${messageId} not found`);
    const fail = async (reason: string): Promise<never> => {
      await deps.feeds.markFailed(messageId, reason);
      throw new PermanentJobError(reason);
    };
    try {
      const p = prepare(row, await deps.feeds.feed(row.feedId));
      if (p.kind === 'done') return;
      if (p.kind === 'failed') return await fail(p.reason);
      if (p.kind === 'ignored') {
        await deps.feeds.markIgnored(messageId, p.reason);
        return;
      }
      const applied = await applyMappedMessage(deps.records, p.actor, p.mapped, p.context);
      if (!applied.ok) return await fail(applied.reason);
      await deps.feeds.markProcessed(messageId);
      deps.onProcessed?.([p.context.controlId]);
    } catch (err) {
      if (err instanceof PermanentJobError) throw err;
      if (job.attempts >= job.maxAttempts) await deps.feeds.markFailed(messageId, describe(err));
      throw err;
    }
  };
}

/** How many messages of a round are applied at the same time when each is its own transaction. */
const SIDE_BY_SIDE = 8;

export interface Hl7BatchOptions {
  /**
   * `set` (the default): the round's messages are applied in one transaction and set write
   * (`applyMappedMessages`). `each`: one transaction per message, eight side by side — the way before
   * ADR 0047, kept for the bench's before/after comparison in one run.
   */
  apply?: 'set' | 'each';
}

/**
 * The same work for a round of jobs about different people (BatchJobHandler): one read of their inbox
 * rows, the messages applied together (`applyMappedMessages`: one transaction and set write, a message the
 * set could not take applied alone), and one statement marking those applied processed. A message that
 * fails (malformed, unmappable, invalid FHIR) fails alone, kept with its reason; a database error is that
 * job's, retried with back-off.
 */
export function hl7v2BatchHandler(deps: Hl7JobDeps, opts: Hl7BatchOptions = {}): BatchJobHandler {
  return async (jobs) => {
    const failures = new Map<number, unknown>();
    const messageIds = new Map(jobs.map((j) => [j.id, (JSON.parse(j.payload) as { messageId: number }).messageId]));
    const rows = new Map((await deps.feeds.messages([...messageIds.values()])).map((r) => [r.id, r]));
    const feeds = new Map<string, Feed>();
    const applied: number[] = [];
    const appliedControlIds: string[] = [];
    const work: Array<{ job: JobRow; p: Extract<Prepared, { kind: 'apply' }> }> = [];
    for (const job of jobs) {
      const messageId = messageIds.get(job.id) ?? -1;
      const row = rows.get(messageId);
      if (!row) {
        failures.set(job.id, new PermanentJobError(`inbox message ${messageId} not found`));
        continue;
      }
      let feed = feeds.get(row.feedId);
      if (!feed) {
        feed = await deps.feeds.feed(row.feedId);
        feeds.set(feed.id, feed);
      }
      const p = prepare(row, feed);
      if (p.kind === 'ignored') await deps.feeds.markIgnored(row.id, p.reason);
      else if (p.kind === 'failed') {
        await deps.feeds.markFailed(row.id, p.reason);
        failures.set(job.id, new PermanentJobError(p.reason));
      } else if (p.kind === 'apply') work.push({ job, p });
    }
    const settle = async (
      job: JobRow,
      context: MessageContext,
      result: { outcome: ApplyOutcome } | { error: unknown },
    ) => {
      const { messageId } = context;
      if ('error' in result) {
        if (job.attempts >= job.maxAttempts) await deps.feeds.markFailed(messageId, describe(result.error));
        failures.set(job.id, result.error);
      } else if (result.outcome.ok) {
        applied.push(messageId);
        appliedControlIds.push(context.controlId);
      } else {
        await deps.feeds.markFailed(messageId, result.outcome.reason);
        failures.set(job.id, new PermanentJobError(result.outcome.reason));
      }
    };
    if (opts.apply === 'each') {
      const next = async (): Promise<void> => {
        for (let w = work.shift(); w; w = work.shift()) {
          const { job, p } = w;
          let result: { outcome: ApplyOutcome } | { error: unknown };
          try {
            result = { outcome: await applyMappedMessage(deps.records, p.actor, p.mapped, p.context) };
          } catch (error) {
            result = { error };
          }
          await settle(job, p.context, result);
        }
      };
      await Promise.all(Array.from({ length: Math.min(SIDE_BY_SIDE, work.length) }, next));
    } else {
      const results = await applyMappedMessages(
        deps.records,
        work.map((w) => w.p),
      );
      for (const [n, { job, p }] of work.entries()) {
        await settle(job, p.context, results[n] ?? { error: new Error('message not applied') });
      }
    }
    await deps.feeds.markProcessedMany(applied);
    if (appliedControlIds.length > 0) deps.onProcessed?.(appliedControlIds);
    return failures;
  };
}

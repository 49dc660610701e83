/**
 * The queue job that applies one inbox message: parse, map to FHIR R4, and write the resources through the
 * records service's set write with the feed's provenance (the MPI links the Patient as it is written;
 * sensitive items are dropped and counted there). Deterministic failures (malformed, unmappable, invalid
 * FHIR) fail the message at once with the reason, kept for replay; anything else is retried with back-off,
 * and after the last attempt the message is marked failed too. Nothing is silently dropped.
 */
import type { FeedService } from '../../records/feeds/feed-service.ts';
import type { PreparedSet, RecordsService, SetItem } from '../../records/records-service.ts';
import type { SystemActor } from '../../shared/actor.ts';
import { type BatchJobHandler, type JobHandler, PermanentJobError } from '../../queue/worker.ts';
import type { InboxRow } from '../../store/feed-store.ts';
import type { JobRow } from '../../store/job-store.ts';
import { Hl7ParseError, parseMessage } from '../hl7v2/parse.ts';
import { mapMessage, MappingError } from '../mapping/index.ts';

export interface Hl7JobDeps {
  records: RecordsService;
  feeds: FeedService;
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
  | { kind: 'write'; actor: SystemActor; items: SetItem[]; messageType: string };

/** Parses and maps one message (no database): what to write, or why not. */
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
  const provenance = {
    feedId: feed.id,
    sourceOrg: feed.orgOds,
    sourceId: message.header.controlId,
    receivedAt: row.receivedAt,
  };
  return {
    kind: 'write',
    actor,
    items: mapped.resources.map((resource) => ({ resource, provenance })),
    messageType: message.type,
  };
}

/** Why a prepared set refused some of its resources (codes, types and paths, never values). */
function refusedReasons(set: PreparedSet, items: readonly SetItem[], from = 0, to = items.length): string[] {
  return set.refused
    .filter((r) => 'error' in r && r.index >= from && r.index < to)
    .map((r) => {
      const res = items[r.index]?.resource;
      const e = 'error' in r ? r.error : undefined;
      const where = e?.details[0]?.expression ?? '';
      return `${res?.resourceType ?? '?'}: ${e?.code ?? ''} ${where} ${e?.details[0]?.message ?? e?.message ?? ''}`.trim();
    });
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
      // Validate the whole message first: either all of it is written or none (no half-applied message).
      const set = await deps.records.prepareMany(p.actor, p.items);
      const reasons = refusedReasons(set, p.items);
      if (reasons.length > 0) return await fail(`invalid FHIR from ${p.messageType}: ${reasons.join('; ')}`);
      await deps.records.writeMany(p.actor, set);
      await deps.feeds.markProcessed(messageId);
    } catch (err) {
      if (err instanceof PermanentJobError) throw err;
      if (job.attempts >= job.maxAttempts) await deps.feeds.markFailed(messageId, describe(err));
      throw err;
    }
  };
}

/**
 * The same work for a round of jobs about different people (BatchJobHandler): one read of their inbox
 * rows, and per feed one validated set write through the records service (the set-write path `icr import`
 * uses, MPI linking included) and one statement marking them processed. A message that fails (malformed,
 * unmappable, invalid FHIR) fails alone, kept with its reason; a message whose resources share an id with
 * another's in the round, and any database error, make the worker run those jobs one by one instead.
 */
export function hl7v2BatchHandler(deps: Hl7JobDeps): BatchJobHandler {
  const single = hl7v2JobHandler(deps);
  return async (jobs) => {
    const failures = new Map<number, unknown>();
    const messageIds = new Map(jobs.map((j) => [j.id, (JSON.parse(j.payload) as { messageId: number }).messageId]));
    const rows = new Map((await deps.feeds.messages([...messageIds.values()])).map((r) => [r.id, r]));
    const feeds = new Map<string, Feed>();
    const groups = new Map<string, Array<{ job: JobRow; row: InboxRow; p: Extract<Prepared, { kind: 'write' }> }>>();
    const alone: JobRow[] = [];
    const ignored: Array<{ id: number; reason: string }> = [];
    const seen = new Set<string>();
    for (const job of jobs) {
      const row = rows.get(messageIds.get(job.id) ?? -1);
      if (!row) {
        failures.set(job.id, new PermanentJobError(`inbox message ${messageIds.get(job.id) ?? '?'} not found`));
        continue;
      }
      let feed = feeds.get(row.feedId);
      if (!feed) {
        feed = await deps.feeds.feed(row.feedId);
        feeds.set(feed.id, feed);
      }
      const p = prepare(row, feed);
      if (p.kind === 'done') continue;
      if (p.kind === 'ignored') ignored.push({ id: row.id, reason: p.reason });
      else if (p.kind === 'failed') {
        await deps.feeds.markFailed(row.id, p.reason);
        failures.set(job.id, new PermanentJobError(p.reason));
      } else {
        const keys = p.items.map((i) => `${i.resource.resourceType}/${i.resource.id}`);
        if (keys.some((k) => seen.has(k))) {
          alone.push(job);
          continue;
        }
        for (const k of keys) seen.add(k);
        const group = groups.get(feed.id) ?? [];
        group.push({ job, row, p });
        groups.set(feed.id, group);
      }
    }
    for (const { id, reason } of ignored) await deps.feeds.markIgnored(id, reason);
    for (const group of groups.values()) {
      let members = group;
      const actor = members[0]?.p.actor;
      if (!actor) continue;
      let items = members.flatMap((m) => m.p.items);
      let set = await deps.records.prepareMany(actor, items);
      if (set.refused.some((r) => 'error' in r)) {
        // Fail the messages with invalid resources; write the others.
        const ok: typeof members = [];
        let from = 0;
        for (const m of members) {
          const to = from + m.p.items.length;
          const reasons = refusedReasons(set, items, from, to);
          if (reasons.length > 0) {
            const reason = `invalid FHIR from ${m.p.messageType}: ${reasons.join('; ')}`;
            await deps.feeds.markFailed(m.row.id, reason);
            failures.set(m.job.id, new PermanentJobError(reason));
          } else ok.push(m);
          from = to;
        }
        members = ok;
        items = members.flatMap((m) => m.p.items);
        set = await deps.records.prepareMany(actor, items);
      }
      if (members.length === 0) continue;
      await deps.records.writeMany(actor, set);
      await deps.feeds.markProcessedMany(members.map((m) => m.row.id));
    }
    for (const job of alone) {
      try {
        await single(job);
      } catch (err) {
        failures.set(job.id, err);
      }
    }
    return failures;
  };
}

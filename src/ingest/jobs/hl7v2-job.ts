/**
 * The queue job that applies one inbox message: parse, map to FHIR R4, and write the resources through the
 * records service's set write with the feed's provenance (the MPI links the Patient as it is written;
 * sensitive items are dropped and counted there). Deterministic failures (malformed, unmappable, invalid
 * FHIR) fail the message at once with the reason, kept for replay; anything else is retried with back-off,
 * and after the last attempt the message is marked failed too. Nothing is silently dropped.
 */
import { applyMappedMessage } from '../../records/feeds/apply-message.ts';
import type { FeedService } from '../../records/feeds/feed-service.ts';
import type { RecordsService } from '../../records/records-service.ts';
import type { SystemActor } from '../../shared/actor.ts';
import { type JobHandler, PermanentJobError } from '../../queue/worker.ts';
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

export function hl7v2JobHandler(deps: Hl7JobDeps): JobHandler {
  return async (job) => {
    const { messageId } = JSON.parse(job.payload) as { messageId: number };
    const row = await deps.feeds.message(messageId);
    if (!row) throw new PermanentJobError(`inbox message ${messageId} not found`);
    if (row.status === 'processed') return;
    const fail = async (reason: string): Promise<never> => {
      await deps.feeds.markFailed(messageId, reason);
      throw new PermanentJobError(reason);
    };
    try {
      const feed = await deps.feeds.feed(row.feedId);
      let message;
      try {
        message = parseMessage(row.raw);
      } catch (err) {
        if (err instanceof Hl7ParseError) return await fail(`HL7 parse: ${err.message}`);
        throw err;
      }
      let mapped;
      try {
        mapped = mapMessage({ feedId: feed.id, orgOds: feed.orgOds }, message);
      } catch (err) {
        if (err instanceof MappingError) return await fail(`mapping ${message.type}: ${err.message}`);
        throw err;
      }
      if ('unsupported' in mapped) {
        await deps.feeds.markIgnored(messageId, mapped.unsupported);
        return;
      }
      const actor: SystemActor = {
        kind: 'system',
        systemId: `feed:${feed.id}`,
        orgOds: feed.orgOds,
        via: { channel: 'mllp' },
      };
      const applied = await applyMappedMessage(deps.records, actor, mapped, {
        feedId: feed.id,
        orgOds: feed.orgOds,
        messageId,
        controlId: message.header.controlId,
        type: message.type,
        receivedAt: row.receivedAt,
      });
      if (!applied.ok) return await fail(applied.reason);
      await deps.feeds.markProcessed(messageId);
    } catch (err) {
      if (err instanceof PermanentJobError) throw err;
      if (job.attempts >= job.maxAttempts) await deps.feeds.markFailed(messageId, describe(err));
      throw err;
    }
  };
}

/**
 * Applies one mapped HL7 v2 message to the record (issue 11): in one transaction, reads what is stored
 * for the message's resources (with the source time each last reflects), keeps an older message from
 * overwriting newer data (an Encounter still takes its location history), retires the records an A40
 * merges, validates and writes the set with the feed's provenance, and records the source times. The
 * A40 merges then go through the MPI's merge (audited, never overriding a data steward's decision).
 * The rule itself is pure (`reconcile`, `retirePatient` in fhir/feed-order.ts).
 *
 * `applyMappedMessages` applies several messages about different people in one transaction and one set
 * write (ADR 0047): each message is reconciled and validated on its own (an invalid one fails alone,
 * nothing of it written), the rest are written together; a message with an A40 merge, and every message of
 * a set the database refused, is applied alone with `applyMappedMessage`.
 */
import { reconcile, retirePatient } from '../../fhir/feed-order.ts';
import type { FhirResource } from '../../fhir/types.ts';
import type { SystemActor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import { currentWithSourceTimes, putSourceTimes, putSourceTimesMany } from '../../store/feed-source-time-store.ts';
import { PreparedSet, type RecordsService } from '../records-service.ts';

type Resource = FhirResource & { id: string };

/** A message mapped to FHIR (ingest/mapping's `Mapped`): its resources, A40 retirements, source time. */
export interface MappedMessage {
  resources: readonly Resource[];
  merges: ReadonlyArray<{ retired: Resource; survivorId: string }>;
  sourceTime: string | undefined;
}

export interface MessageContext {
  feedId: string;
  orgOds: string;
  messageId: number;
  /** MSH-10, kept as each resource's source id. */
  controlId: string;
  /** `ADT^A40` style, for reasons and the merge's reason text. */
  type: string;
  receivedAt: string;
}

export type ApplyOutcome =
  | { ok: true; written: number; olderSkipped: number; merged: number }
  /** The message cannot be applied as it is (invalid FHIR): nothing was written. */
  | { ok: false; reason: string };

/** Reason text for invalid resources: type, code, element path and message, never values. */
function describeRefusals(
  resources: readonly Resource[],
  refused: ReadonlyArray<{ index: number; error?: IcrError }>,
): string {
  return refused
    .map((r) => {
      const res = resources[r.index];
      const e = r.error;
      const where = e?.details[0]?.expression ?? '';
      return `${res?.resourceType ?? '?'}: ${e?.code ?? ''} ${where} ${e?.details[0]?.message ?? e?.message ?? ''}`.trim();
    })
    .join('; ');
}

export async function applyMappedMessage(
  records: RecordsService,
  actor: SystemActor,
  mapped: MappedMessage,
  m: MessageContext,
): Promise<ApplyOutcome> {
  const provenance = { feedId: m.feedId, sourceOrg: m.orgOds, sourceId: m.controlId, receivedAt: m.receivedAt };
  const all = [...mapped.resources, ...mapped.merges.map((x) => x.retired)];
  const result = await records.db.transaction(async (tx): Promise<ApplyOutcome> => {
    const current = await currentWithSourceTimes(
      tx,
      all.map((r) => [r.resourceType, r.id] as const),
    );
    const stored = (r: Resource) => current.get(`${r.resourceType}/${r.id}`);
    const writes: Array<{ resource: Resource; sourceTime: string | undefined }> = [];
    let olderSkipped = 0;
    for (const r of mapped.resources) {
      const cur = stored(r);
      const next = reconcile(
        r,
        mapped.sourceTime,
        cur ? { resource: JSON.parse(cur.json) as Resource, sourceTime: cur.sourceTime } : undefined,
      );
      if (next) writes.push(next);
      else olderSkipped += 1;
    }
    for (const merge of mapped.merges) {
      const cur = stored(merge.retired);
      const existing = cur ? (JSON.parse(cur.json) as Resource) : undefined;
      writes.push({
        resource: retirePatient(merge.retired, existing),
        sourceTime: cur?.sourceTime ?? mapped.sourceTime,
      });
    }
    const scoped = records.withTransaction(tx);
    const set = await scoped.prepareMany(
      actor,
      writes.map((w) => ({ resource: w.resource, provenance })),
    );
    const refused = set.refused.filter((r): r is { index: number; error: IcrError } => 'error' in r);
    if (refused.length > 0) {
      return {
        ok: false,
        reason: `invalid FHIR from ${m.type}: ${describeRefusals(
          writes.map((w) => w.resource),
          refused,
        )}`,
      };
    }
    await scoped.writeMany(actor, set);
    const timed = set.indexes
      .map((i) => writes[i])
      .filter((w): w is { resource: Resource; sourceTime: string } => w?.sourceTime !== undefined)
      .map((w) => ({ resourceType: w.resource.resourceType, id: w.resource.id, sourceTime: w.sourceTime }));
    await putSourceTimes(tx, m.feedId, m.messageId, timed);
    return { ok: true, written: set.indexes.length, olderSkipped, merged: 0 };
  });
  if (!result.ok || mapped.merges.length === 0) return result;
  // The merges follow the write (the MPI needs both records linked); each is its own audited transaction.
  if (!records.hasPatientIndex) {
    throw new IcrError('ICR_NOT_IMPLEMENTED', `${m.type} needs the master patient index, which is not configured`);
  }
  for (const merge of mapped.merges) {
    try {
      await records.mpiMerge(
        actor,
        { sourcePatientId: merge.retired.id, targetPatientId: merge.survivorId },
        `HL7 ${m.type} message ${m.controlId} from feed ${m.feedId}`,
        'hl7-a40',
      );
    } catch (err) {
      // A steward's not-same decision (or a record the MPI cannot find) needs a person to look at it: the
      // message fails with the reason and can be replayed once the steward has decided.
      if (err instanceof IcrError && (err.code === 'ICR_CONFLICT' || err.code === 'ICR_NOT_FOUND')) {
        return { ok: false, reason: `merge refused by the MPI (${err.code}): ${err.message}` };
      }
      throw err;
    }
  }
  return { ...result, merged: mapped.merges.length };
}

/** One message of a set: who writes it, what it maps to, where it came from. */
export interface MessageToApply {
  actor: SystemActor;
  mapped: MappedMessage;
  context: MessageContext;
}

/** What became of one message of a set: its outcome, or the error that stopped it (to retry). */
export type SetApplyResult = { outcome: ApplyOutcome } | { error: unknown };

const keyOf = (r: Resource) => `${r.resourceType}/${r.id}`;

/**
 * Applies messages about different people (the queue's rounds never hold two messages of one ordering
 * key; their order between each other does not matter). They are split into waves in which no resource is
 * written by two messages (a later message touching what an earlier one of the wave writes waits for the
 * next wave, in its own transaction, so it reconciles against what the earlier one wrote). Each wave is one
 * transaction: one read of the stored resources, each message reconciled and validated on its own (an
 * invalid message is refused alone, none of its resources written), one set write per feed, one statement
 * for the source times. If the database refuses a wave (a deadlock, a constraint), each of its messages is
 * applied alone, so one bad message never fails the others. Messages with A40 merges are applied alone.
 * Results are in the order of `items`.
 */
export async function applyMappedMessages(
  records: RecordsService,
  items: readonly MessageToApply[],
): Promise<SetApplyResult[]> {
  const results: Array<SetApplyResult | undefined> = new Array<SetApplyResult | undefined>(items.length);
  const alone: number[] = [];
  let pending = items.map((_, i) => i);
  while (pending.length > 0) {
    const wave: number[] = [];
    const later: number[] = [];
    const written = new Set<string>();
    for (const i of pending) {
      const it = items[i];
      if (!it) continue;
      if (it.mapped.merges.length > 0) {
        alone.push(i);
        continue;
      }
      const keys = it.mapped.resources.map(keyOf);
      if (keys.some((k) => written.has(k))) later.push(i);
      else {
        for (const k of keys) written.add(k);
        wave.push(i);
      }
    }
    if (wave.length === 1) alone.push(...wave);
    else if (wave.length > 1) {
      try {
        const outcomes = await applyWave(
          records,
          wave.map((i) => items[i] as MessageToApply),
        );
        for (const [n, outcome] of outcomes.entries()) results[wave[n] ?? -1] = { outcome };
      } catch {
        // The set as a whole was refused: each message alone, with its own outcome or error.
        alone.push(...wave);
      }
    }
    pending = later;
  }
  for (const i of alone.sort((a, b) => a - b)) {
    const it = items[i] as MessageToApply;
    try {
      results[i] = { outcome: await applyMappedMessage(records, it.actor, it.mapped, it.context) };
    } catch (error) {
      results[i] = { error };
    }
  }
  return results.map((r) => r ?? { error: new Error('message not applied') });
}

/** Messages validated between two turns of the event loop. */
const YIELD_EVERY = 16;

/** One wave of `applyMappedMessages`: messages without merges, no resource written by two of them. */
async function applyWave(records: RecordsService, items: readonly MessageToApply[]): Promise<ApplyOutcome[]> {
  return records.db.transaction(async (tx) => {
    const current = await currentWithSourceTimes(
      tx,
      items.flatMap((it) => it.mapped.resources.map((r) => [r.resourceType, r.id] as const)),
    );
    const scoped = records.withTransaction(tx);
    const outcomes: ApplyOutcome[] = [];
    // One set per writer (feed): its messages' prepared items, in message order.
    const sets = new Map<string, { actor: SystemActor; sets: PreparedSet[] }>();
    const timed: Array<{ resourceType: string; id: string; sourceTime: string; feedId: string; messageId: number }> =
      [];
    for (const [n, { actor, mapped, context: m }] of items.entries()) {
      // Validation is CPU work: let the MLLP listener's reads and ACKs (same event loop) in between.
      if (n > 0 && n % YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
      const provenance = { feedId: m.feedId, sourceOrg: m.orgOds, sourceId: m.controlId, receivedAt: m.receivedAt };
      const writes: Array<{ resource: Resource; sourceTime: string | undefined }> = [];
      let olderSkipped = 0;
      for (const r of mapped.resources) {
        const cur = current.get(keyOf(r));
        const next = reconcile(
          r,
          mapped.sourceTime,
          cur ? { resource: JSON.parse(cur.json) as Resource, sourceTime: cur.sourceTime } : undefined,
        );
        if (next) writes.push(next);
        else olderSkipped += 1;
      }
      const set = await scoped.prepareMany(
        actor,
        writes.map((w) => ({ resource: w.resource, provenance })),
      );
      const refused = set.refused.filter((r): r is { index: number; error: IcrError } => 'error' in r);
      if (refused.length > 0) {
        outcomes.push({
          ok: false,
          reason: `invalid FHIR from ${m.type}: ${describeRefusals(
            writes.map((w) => w.resource),
            refused,
          )}`,
        });
        continue;
      }
      const writer = `${actor.systemId}\u0000${actor.orgOds ?? ''}`;
      const group = sets.get(writer) ?? { actor, sets: [] };
      group.sets.push(set);
      sets.set(writer, group);
      for (const i of set.indexes) {
        const w = writes[i];
        if (w?.sourceTime !== undefined) {
          timed.push({
            resourceType: w.resource.resourceType,
            id: w.resource.id,
            sourceTime: w.sourceTime,
            feedId: m.feedId,
            messageId: m.messageId,
          });
        }
      }
      outcomes.push({ ok: true, written: set.indexes.length, olderSkipped, merged: 0 });
    }
    for (const { actor, sets: parts } of sets.values()) await scoped.writeMany(actor, joinSets(parts));
    await putSourceTimesMany(tx, timed);
    return outcomes;
  });
}

/** Several prepared sets as one (what each dropped as sensitive still counted per feed). */
function joinSets(parts: readonly PreparedSet[]): PreparedSet {
  const items = parts.flatMap((p) => p.items);
  const excluded = new Map<string, number>();
  for (const p of parts) for (const [feed, n] of p.excluded) excluded.set(feed, (excluded.get(feed) ?? 0) + n);
  return new PreparedSet(
    [],
    items.map((_, i) => i),
    items,
    excluded,
  );
}

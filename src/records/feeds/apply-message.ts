/**
 * Applies one mapped HL7 v2 message to the record (issue 11): in one transaction, reads what is stored
 * for the message's resources (with the source time each last reflects), keeps an older message from
 * overwriting newer data (an Encounter still takes its location history), retires the records an A40
 * merges, validates and writes the set with the feed's provenance, and records the source times. The
 * A40 merges then go through the MPI's merge (audited, never overriding a data steward's decision).
 * The rule itself is pure (`reconcile`, `retirePatient` in fhir/feed-order.ts).
 */
import { reconcile, retirePatient } from '../../fhir/feed-order.ts';
import type { FhirResource } from '../../fhir/types.ts';
import type { SystemActor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import { currentWithSourceTimes, putSourceTimes } from '../../store/feed-source-time-store.ts';
import type { RecordsService } from '../records-service.ts';

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

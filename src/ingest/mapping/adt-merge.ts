/**
 * ADT^A40 (merge patient, structure ADT_A39): each PID/MRG pair names a surviving record (PID) and a
 * retired one (MRG-1, the prior patient identifier list; MRG-4 in older versions; MRG-7 its name). The
 * surviving Patient is mapped as usual; the retired one becomes an inactive Patient linked `replaced-by`
 * the survivor, and a merge for the MPI (done through the records service, audited). Pure, no I/O.
 */
import type { Hl7Message } from '../hl7v2/message.ts';
import { cxIdentifiers, humanNames, MappingError, type MappingContext, patientKey, stableId } from './common.ts';
import { mapPatient, type Resource } from './patient.ts';

/** One merge an A40 asks for: the retired record (as a stub Patient) into the surviving record. */
export interface Hl7Merge {
  retired: Resource;
  survivorId: string;
}

export function mapAdtMerge(ctx: MappingContext, msg: Hl7Message): { resources: Resource[]; merges: Hl7Merge[] } {
  const event = msg.header.triggerEvent;
  const pids = msg.all('PID');
  if (pids.length === 0) throw new MappingError(`ADT^${event} has no PID segment`);
  const resources: Resource[] = [];
  const merges: Hl7Merge[] = [];
  for (const [n, pid] of pids.entries()) {
    const next = pids[n + 1]?.position ?? Number.MAX_SAFE_INTEGER;
    const mrg = msg.segments.find((s) => s.name === 'MRG' && s.position > pid.position && s.position < next);
    if (!mrg) throw new MappingError(`ADT^${event}: PID (segment ${pid.position}) has no MRG segment after it`);
    const survivor = mapPatient(ctx, msg, pid);
    const priorIds = cxIdentifiers(ctx, [...mrg.reps(1), ...mrg.reps(4)]);
    const key = patientKey(priorIds);
    if (!key) throw new MappingError(`MRG (segment ${mrg.position}) has no usable identifier in MRG-1`);
    const retiredId = stableId(ctx, 'Patient', key);
    if (retiredId === survivor.id) {
      throw new MappingError(`MRG (segment ${mrg.position}): MRG-1 names the surviving patient itself`);
    }
    const retired: Record<string, unknown> = {
      resourceType: 'Patient',
      id: retiredId,
      identifier: priorIds,
      active: false,
      link: [{ other: { reference: `Patient/${survivor.id}` }, type: 'replaced-by' }],
    };
    const name = humanNames(mrg, 7);
    if (name.length > 0) retired.name = name;
    resources.push(survivor);
    merges.push({ retired: retired as Resource, survivorId: survivor.id });
  }
  return { resources, merges };
}

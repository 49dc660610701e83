/**
 * ADT A01 A02 A03 A04 A05 A08 A11 A12 A13 A28 A31 → Patient (+ contacts, registered GP), Encounter (class,
 * status, period, location), AllergyIntolerance (AL1), Condition (DG1), Procedure (PR1). The Encounter's
 * id comes from the visit number (PV1-19), else from the patient and the admission time, so that an A03
 * discharge or an A11 cancellation updates the Encounter its A01 created, whatever order they arrive in.
 * Pure, no I/O.
 */
import type { Hl7Message, Hl7Segment } from '../hl7v2/message.ts';
import { mapAllergy, mapCondition, mapProcedure } from './clinical.ts';
import { compact, hl7DateTime, localSystem, MappingError, type MappingContext, stableId } from './common.ts';
import { mapPatient, type Resource } from './patient.ts';

export const ADT_EVENTS = ['A01', 'A02', 'A03', 'A04', 'A05', 'A08', 'A11', 'A12', 'A13', 'A28', 'A31'] as const;

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CLASS: Record<string, [string, string]> = {
  I: ['IMP', 'inpatient encounter'],
  O: ['AMB', 'ambulatory'],
  E: ['EMER', 'emergency'],
  P: ['PRENC', 'pre-admission'],
  R: ['AMB', 'ambulatory'],
  B: ['AMB', 'ambulatory'],
};

/** Encounter.status by trigger event (A11 cancels an admission; A13 cancels a discharge). */
function statusFor(event: string, pv1: Hl7Segment): string {
  switch (event) {
    case 'A03':
      return 'finished';
    case 'A05':
      return 'planned';
    case 'A11':
      return 'cancelled';
    case 'A13':
      return 'in-progress';
    default:
      return hl7DateTime(pv1.get(45)) ? 'finished' : 'in-progress';
  }
}

function mapEncounter(ctx: MappingContext, event: string, pv1: Hl7Segment, patientId: string): Resource {
  const visit = pv1.value(19);
  const admitted = pv1.get(44);
  const id = visit.isEmpty
    ? stableId(ctx, 'Encounter', patientId, admitted || 'no-visit-number')
    : stableId(ctx, 'Encounter', visit.c(4), visit.c(1));
  const [code, display] = CLASS[pv1.get(2).toUpperCase()] ?? ['AMB', 'ambulatory'];
  const status = statusFor(event, pv1);
  const start = hl7DateTime(admitted);
  // A13 (cancel discharge) reopens the stay: no end, whatever PV1-45 still says.
  const end = event === 'A13' ? undefined : hl7DateTime(pv1.get(45));
  const encounter: Record<string, unknown> = {
    resourceType: 'Encounter',
    id,
    status,
    class: { system: ACT_CODE, code, display },
    subject: { reference: `Patient/${patientId}` },
  };
  if (!visit.isEmpty) {
    encounter.identifier = [{ system: localSystem(ctx, `visit-${visit.c(4) || 'number'}`), value: visit.c(1) }];
  }
  if (start || end) encounter.period = compact({ start, end: end && start && end < start ? undefined : end });
  const ward = pv1.value(3);
  const where = [ward.c(1), ward.c(2), ward.c(3), ward.c(4)].map((s) => s.trim()).filter((s) => s && s !== '""');
  if (where.length > 0) {
    encounter.location = [
      { location: { display: where.join(' ') }, status: status === 'finished' ? 'completed' : 'active' },
    ];
  }
  const discharge = pv1.get(36);
  if (discharge && end) encounter.hospitalization = { dischargeDisposition: { text: discharge } };
  return encounter as Resource;
}

export function mapAdt(ctx: MappingContext, msg: Hl7Message): Resource[] {
  const event = msg.header.triggerEvent || msg.segment('EVN')?.get(1) || '';
  const pid = msg.segment('PID');
  if (!pid) throw new MappingError(`ADT^${event} has no PID segment`);
  const patient = mapPatient(ctx, msg, pid);
  const out: Resource[] = [patient];
  const pv1 = msg.segment('PV1');
  const personOnly = event === 'A28' || event === 'A31';
  const encounter = pv1 && !personOnly && !pv1.value(2).isEmpty ? mapEncounter(ctx, event, pv1, patient.id) : undefined;
  if (encounter) out.push(encounter);
  for (const al1 of msg.all('AL1')) {
    const a = mapAllergy(ctx, al1, patient.id);
    if (a) out.push(a);
  }
  for (const dg1 of msg.all('DG1')) {
    const c = mapCondition(ctx, dg1, patient.id, encounter?.id);
    if (c) out.push(c);
  }
  for (const pr1 of msg.all('PR1')) {
    const p = mapProcedure(ctx, pr1, patient.id, encounter?.id);
    if (p) out.push(p);
  }
  return dedupe(out);
}

/** One resource per id (a message repeating a segment maps to the same resource): the last one wins. */
export function dedupe(resources: Resource[]): Resource[] {
  const byId = new Map<string, Resource>();
  for (const r of resources) byId.set(`${r.resourceType}/${r.id}`, r);
  return [...byId.values()];
}

/**
 * ADT A01 A02 A03 A04 A05 A08 A11 A12 A13 A28 A31 → Patient (+ contacts, registered GP), Encounter (class,
 * status, period, location), AllergyIntolerance (AL1), Condition (DG1), Procedure (PR1). The Encounter's
 * id comes from the visit number (PV1-19), else from the patient and the admission time, so that an A03
 * discharge or an A11 cancellation updates the Encounter its A01 created, whatever order they arrive in.
 * Pure, no I/O.
 */
import type { Hl7Message, Hl7Segment, Hl7Value } from '../hl7v2/message.ts';
import { mapAllergy, mapCondition, mapProcedure } from './clinical.ts';
import {
  codeable,
  compact,
  feedOrganisation,
  hl7DateTime,
  localSystem,
  MappingError,
  type MappingContext,
  personReference,
  stableId,
} from './common.ts';
import { type LocationEntry, mergeLocations, transferCancelled } from '../../fhir/feed-order.ts';
import { mapPatient, type Resource } from './patient.ts';

export const ADT_EVENTS = ['A01', 'A02', 'A03', 'A04', 'A05', 'A08', 'A11', 'A12', 'A13', 'A28', 'A31'] as const;

/** PL (point of care, room, bed, facility) → the display of a location; '' when empty. */
function placeDisplay(pl: Hl7Value): string {
  return [pl.c(1), pl.c(2), pl.c(3), pl.c(4)]
    .map((s) => s.trim())
    .filter((s) => s && s !== '""')
    .join(' ');
}

/** When a transfer (or other event) happened: EVN-6 (event occurred), else EVN-2, else MSH-7. */
function eventTime(msg: Hl7Message): string | undefined {
  const evn = msg.segment('EVN');
  return (evn && (hl7DateTime(evn.get(6)) ?? hl7DateTime(evn.get(2)))) || hl7DateTime(msg.header.dateTime);
}

/** The Encounter id of a PV1: its visit number (PV1-19), else the patient and the admission time. */
export function encounterIdOf(ctx: MappingContext, pv1: Hl7Segment, patientId: string): string {
  const visit = pv1.value(19);
  return visit.isEmpty
    ? stableId(ctx, 'Encounter', patientId, pv1.get(44) || 'no-visit-number')
    : stableId(ctx, 'Encounter', visit.c(4), visit.c(1));
}

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

function mapEncounter(
  ctx: MappingContext,
  msg: Hl7Message,
  event: string,
  pv1: Hl7Segment,
  patientId: string,
): Resource {
  const visit = pv1.value(19);
  const admitted = pv1.get(44);
  const id = encounterIdOf(ctx, pv1, patientId);
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
  const validEnd = end && start && end < start ? undefined : end;
  if (start || validEnd) encounter.period = compact({ start, end: validEnd });
  // Location history: where the patient is now (PV1-3) and, for a transfer, where they were (PV1-6).
  const here = placeDisplay(pv1.value(3));
  const before = placeDisplay(pv1.value(6));
  const at = eventTime(msg);
  const stays: LocationEntry[] = [];
  if (event === 'A02' && before && at) stays.push({ location: { display: before }, period: { end: at } });
  if (here) {
    const since = event === 'A02' ? at : event === 'A01' || event === 'A04' ? start : undefined;
    stays.push({ location: { display: here }, ...(since ? { period: { start: since } } : {}) });
  }
  const location = mergeLocations([stays], status, validEnd);
  // A12 (cancel transfer): PV1-3 is where the patient is back (else PV1-6 the stay that never happened); the
  // marker is applied to the stored history and dropped (fhir/feed-order.ts).
  if (event === 'A12' && (here || before))
    location.push(transferCancelled(here || before, here ? 'restore' : 'cancel'));
  if (location.length > 0) encounter.location = location;
  const attending = personReference(ctx, pv1.value(7));
  if (attending) encounter.participant = [{ individual: attending }];
  encounter.serviceProvider = feedOrganisation(ctx);
  const discharge = pv1.get(36);
  if (discharge && end) encounter.hospitalization = { dischargeDisposition: { text: discharge } };
  return encounter as Resource;
}

const EPISODE_STATUS: Record<string, string> = {
  planned: 'planned',
  'in-progress': 'active',
  finished: 'finished',
  cancelled: 'cancelled',
};

/**
 * The EpisodeOfCare an inpatient or outpatient stay belongs to, where ADT gives one: PV1-10 (hospital
 * service, the specialty responsible) within the visit. Its status and period follow the Encounter.
 */
function mapEpisode(
  ctx: MappingContext,
  pv1: Hl7Segment,
  encounter: Resource,
  patientId: string,
): Resource | undefined {
  const service = pv1.value(10);
  if (service.isEmpty) return undefined;
  const type = codeable(ctx, service);
  if (!type) return undefined;
  const enc = encounter as Record<string, unknown> & { period?: { start?: string; end?: string } };
  const episode: Record<string, unknown> = {
    resourceType: 'EpisodeOfCare',
    id: stableId(ctx, 'EpisodeOfCare', encounter.id, service.raw),
    status: EPISODE_STATUS[String(enc.status)] ?? 'active',
    type: [type],
    patient: { reference: `Patient/${patientId}` },
    managingOrganization: feedOrganisation(ctx),
  };
  if (enc.period?.start) episode.period = compact({ start: enc.period.start, end: enc.period.end });
  const manager = personReference(ctx, pv1.value(7));
  if (manager) episode.careManager = manager;
  return episode as Resource;
}

export function mapAdt(ctx: MappingContext, msg: Hl7Message): Resource[] {
  const event = msg.header.triggerEvent || msg.segment('EVN')?.get(1) || '';
  const pid = msg.segment('PID');
  if (!pid) throw new MappingError(`ADT^${event} has no PID segment`);
  const patient = mapPatient(ctx, msg, pid);
  const out: Resource[] = [patient];
  const pv1 = msg.segment('PV1');
  const personOnly = event === 'A28' || event === 'A31';
  const encounter =
    pv1 && !personOnly && !pv1.value(2).isEmpty ? mapEncounter(ctx, msg, event, pv1, patient.id) : undefined;
  if (encounter && pv1) {
    const episode = mapEpisode(ctx, pv1, encounter, patient.id);
    if (episode) {
      (encounter as Record<string, unknown>).episodeOfCare = [{ reference: `EpisodeOfCare/${episode.id}` }];
      out.push(episode);
    }
    out.push(encounter);
  }
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

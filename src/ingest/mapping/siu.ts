/**
 * SIU^S12–S15 (and S17, S26) → Appointment: booked (S12 new, S13 rescheduled, S14 modified), cancelled
 * (S15), entered-in-error (S17 deleted), noshow (S26). The id comes from the filler's appointment id
 * (SCH-2, else the placer's SCH-1), so every later message about the booking updates the same
 * Appointment. Times from TQ1-7/8 (v2.5+), else SCH-11 (TQ components 4 and 5), else the first AIS/AIL/AIP
 * start with its duration. Participants: the patient, the AIP people and the AIL locations, by display.
 * Pure, no I/O.
 */
import type { Hl7Message, Hl7Segment } from '../hl7v2/message.ts';
import {
  codeable,
  hl7DateTime,
  localSystem,
  MappingError,
  type MappingContext,
  personReference,
  stableId,
} from './common.ts';
import { mapPatient, type Resource } from './patient.ts';

export const SIU_EVENTS = ['S12', 'S13', 'S14', 'S15', 'S17', 'S26'] as const;

const STATUS: Record<string, string> = {
  S12: 'booked',
  S13: 'booked',
  S14: 'booked',
  S15: 'cancelled',
  S17: 'entered-in-error',
  S26: 'noshow',
};

function notesAfter(msg: Hl7Message, seg: Hl7Segment): string[] {
  const out: string[] = [];
  for (const s of msg.segments.filter((x) => x.position > seg.position)) {
    if (s.name !== 'NTE') break;
    const text = s
      .reps(3)
      .map((r) => r.text())
      .join('\n')
      .trim();
    if (text) out.push(text);
  }
  return out;
}

function minutes(amount: string, unit: string): number | undefined {
  const n = Number(amount);
  if (!amount.trim() || !Number.isFinite(n) || n <= 0) return undefined;
  const u = unit.toLowerCase();
  if (u === '' || u.startsWith('min') || u === 'm') return Math.round(n);
  if (u.startsWith('h')) return Math.round(n * 60);
  if (u === 's' || u.startsWith('sec')) return Math.max(1, Math.round(n / 60));
  return undefined;
}

export function mapSiu(ctx: MappingContext, msg: Hl7Message): Resource[] {
  const event = msg.header.triggerEvent;
  const sch = msg.segment('SCH');
  if (!sch) throw new MappingError(`SIU^${event} has no SCH segment`);
  const pid = msg.segment('PID');
  if (!pid) throw new MappingError(`SIU^${event} has no PID segment`);
  const patient = mapPatient(ctx, msg, pid);
  const filler = sch.value(2);
  const placer = sch.value(1);
  const booking = !filler.isEmpty ? filler : placer;
  if (booking.isEmpty) throw new MappingError(`SCH (segment ${sch.position}) has no appointment id in SCH-1 or SCH-2`);
  const appointment: Record<string, unknown> = {
    resourceType: 'Appointment',
    id: stableId(ctx, 'Appointment', booking.c(2), booking.c(1)),
    identifier: [
      {
        system: localSystem(ctx, `appointment-${booking.c(2) || (filler.isEmpty ? 'placer' : 'filler')}`),
        value: booking.c(1),
      },
    ],
    status: STATUS[event] ?? 'booked',
  };
  if (event === 'S15' || event === 'S17') {
    const why = codeable(ctx, sch.value(6));
    if (why && event === 'S15') appointment.cancelationReason = why;
  }
  const reason = codeable(ctx, sch.value(7));
  if (reason) appointment.reasonCode = [reason];
  const type = codeable(ctx, sch.value(8));
  if (type) appointment.appointmentType = type;
  const services = msg
    .all('AIS')
    .map((ais) => codeable(ctx, ais.value(3)))
    .filter((c) => c !== undefined);
  if (services.length > 0) appointment.serviceType = services;
  // When: TQ1, else SCH-11, else the first resource's start and duration.
  const tq1 = msg.segment('TQ1');
  let start = tq1 ? hl7DateTime(tq1.get(7)) : undefined;
  let end = tq1 ? hl7DateTime(tq1.get(8)) : undefined;
  if (!start) {
    start = hl7DateTime(sch.get(11, 4));
    end = hl7DateTime(sch.get(11, 5));
  }
  const duration = minutes(sch.get(9), sch.get(10, 1)) ?? minutes(sch.get(9), sch.get(10, 2));
  if (!start) {
    const first = msg.segments.find((s) => ['AIS', 'AIG', 'AIL', 'AIP'].includes(s.name) && hl7DateTime(s.get(6)));
    if (first) {
      start = hl7DateTime(first.get(6));
      const d = minutes(first.get(8), first.get(9, 1));
      if (start && d) end = new Date(Date.parse(start) + d * 60000).toISOString();
    }
  }
  // Start and end come together or not at all (app-2); a booking without them is only "proposed" (app-3).
  if (start && end && start.length > 10 && end.length > 10 && Date.parse(end) >= Date.parse(start)) {
    appointment.start = start;
    appointment.end = end;
    const mins = Math.round((Date.parse(end) - Date.parse(start)) / 60000);
    if (mins > 0) appointment.minutesDuration = mins;
  } else if (appointment.status === 'booked' || appointment.status === 'noshow') {
    appointment.status = 'proposed';
    if (duration) appointment.minutesDuration = duration;
  }
  const notes = notesAfter(msg, tq1 && tq1.position > sch.position ? tq1 : sch);
  if (notes.length > 0) appointment.comment = notes.join('\n');
  const created = hl7DateTime(msg.header.dateTime);
  if (created && created.length > 10 && event === 'S12') appointment.created = created;
  const participant: Array<Record<string, unknown>> = [
    { actor: { reference: `Patient/${patient.id}` }, status: 'accepted' },
  ];
  for (const aip of msg.all('AIP')) {
    const who = personReference(ctx, aip.value(3));
    if (!who) continue;
    const role = codeable(ctx, aip.value(4));
    participant.push({ actor: who, ...(role ? { type: [role] } : {}), status: 'accepted' });
  }
  for (const ail of msg.all('AIL')) {
    const pl = ail.value(3);
    const display = [pl.c(1), pl.c(2), pl.c(3), pl.c(4)]
      .map((s) => s.trim())
      .filter((s) => s)
      .join(' ');
    if (display) participant.push({ actor: { display }, status: 'accepted' });
  }
  appointment.participant = participant;
  return [patient, appointment as Resource];
}

/**
 * Pharmacy: RDE^O11 (encoded order) → MedicationRequest per ORC/RXE group; RDS^O13 (dispense) →
 * MedicationDispense per ORC/RXD group, pointing at the MedicationRequest of the same order. Ids come
 * from the order number (ORC-2 placer, else ORC-3 filler; RXE-15 / RXD-7 prescription number as a
 * fallback), so an order's later messages (status changes, dispenses) update the same resources.
 * Pure, no I/O.
 */
import type { Hl7Message, Hl7Segment } from '../hl7v2/message.ts';
import { dedupe } from './adt.ts';
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

/** ORC-1 order control / ORC-5 order status → MedicationRequest.status. */
function requestStatus(orc: Hl7Segment | undefined): string {
  const control = orc?.get(1).toUpperCase() ?? '';
  const st = orc?.get(5).toUpperCase() ?? '';
  if (control === 'CA' || control === 'OC' || st === 'CA') return 'cancelled';
  if (control === 'DC' || control === 'OD' || st === 'DC') return 'stopped';
  if (control === 'HD' || control === 'OH' || st === 'HD') return 'on-hold';
  if (st === 'CM') return 'completed';
  return 'active';
}

/** The segments of one order group: from its ORC (or the first segment after PID) to the next ORC. */
function orderGroups(msg: Hl7Message, main: string): Array<{ orc: Hl7Segment | undefined; segs: Hl7Segment[] }> {
  const orcs = msg.all('ORC');
  if (orcs.length === 0) return [{ orc: undefined, segs: [...msg.segments] }];
  return orcs
    .map((orc, n) => {
      const next = orcs[n + 1]?.position ?? Number.MAX_SAFE_INTEGER;
      return { orc, segs: msg.segments.filter((s) => s.position >= orc.position && s.position < next) };
    })
    .filter((g) => g.segs.some((s) => s.name === main));
}

function orderKey(orc: Hl7Segment | undefined, fallback: string): [string, string] | undefined {
  const placer = orc?.value(2);
  const filler = orc?.value(3);
  const order = placer && !placer.isEmpty ? placer : filler && !filler.isEmpty ? filler : undefined;
  if (order) return [order.c(2), order.c(1)];
  return fallback ? ['rx', fallback] : undefined;
}

function quantity(value: string, units: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value.trim())) return undefined;
  const q: Record<string, unknown> = { value: Number(value.trim()) };
  const coding = (units?.coding as Array<Record<string, unknown>> | undefined)?.[0];
  const unit = (coding?.display ?? coding?.code ?? units?.text) as string | undefined;
  if (unit) q.unit = unit;
  return q;
}

function routeOf(ctx: MappingContext, segs: Hl7Segment[], after: Hl7Segment): Record<string, unknown> | undefined {
  const rxr = segs.find((s) => s.name === 'RXR' && s.position > after.position);
  return rxr ? codeable(ctx, rxr.value(1)) : undefined;
}

function requestIdOf(ctx: MappingContext, key: [string, string]): string {
  return stableId(ctx, 'MedicationRequest', ...key);
}

export function mapRde(ctx: MappingContext, msg: Hl7Message): Resource[] {
  const event = msg.header.triggerEvent;
  const pid = msg.segment('PID');
  if (!pid) throw new MappingError(`RDE^${event} has no PID segment`);
  const patient = mapPatient(ctx, msg, pid);
  const out: Resource[] = [patient];
  const groups = orderGroups(msg, 'RXE');
  if (groups.length === 0) throw new MappingError(`RDE^${event} has no RXE segment`);
  for (const { orc, segs } of groups) {
    const rxe = segs.find((s) => s.name === 'RXE') as Hl7Segment;
    const key = orderKey(orc, rxe.get(15));
    if (!key) throw new MappingError(`RXE (segment ${rxe.position}): no order number in ORC-2/ORC-3 nor RXE-15`);
    const medication = codeable(ctx, rxe.value(2));
    if (!medication) throw new MappingError(`RXE (segment ${rxe.position}) has no give code in RXE-2`);
    const request: Record<string, unknown> = {
      resourceType: 'MedicationRequest',
      id: requestIdOf(ctx, key),
      identifier: [{ system: localSystem(ctx, `order-${key[0] || 'placer'}`), value: key[1] }],
      status: requestStatus(orc),
      intent: 'order',
      medicationCodeableConcept: medication,
      subject: { reference: `Patient/${patient.id}` },
    };
    const authored = hl7DateTime(orc?.get(9) ?? '');
    if (authored) request.authoredOn = authored;
    const requester = personReference(ctx, orc?.value(12)) ?? personReference(ctx, rxe.value(13));
    if (requester) request.requester = requester;
    const instructions = [...rxe.reps(7), ...rxe.reps(21)].map((v) => (v.c(2) || v.c(1)).trim()).filter((t) => t);
    const dosage: Record<string, unknown> = {};
    if (instructions.length > 0) dosage.text = instructions.join('; ');
    const dose = quantity(rxe.get(3), codeable(ctx, rxe.value(5)));
    if (dose) dosage.doseAndRate = [{ doseQuantity: dose }];
    const route = routeOf(ctx, segs, rxe);
    if (route) dosage.route = route;
    if (Object.keys(dosage).length > 0) request.dosageInstruction = [dosage];
    const dispense: Record<string, unknown> = {};
    const qty = quantity(rxe.get(10), codeable(ctx, rxe.value(11)));
    if (qty) dispense.quantity = qty;
    const refills = Number(rxe.get(12));
    if (rxe.get(12).trim() && Number.isInteger(refills) && refills >= 0) dispense.numberOfRepeatsAllowed = refills;
    if (Object.keys(dispense).length > 0) request.dispenseRequest = dispense;
    out.push(request as Resource);
  }
  return dedupe(out);
}

export function mapRds(ctx: MappingContext, msg: Hl7Message): Resource[] {
  const event = msg.header.triggerEvent;
  const pid = msg.segment('PID');
  if (!pid) throw new MappingError(`RDS^${event} has no PID segment`);
  const patient = mapPatient(ctx, msg, pid);
  const out: Resource[] = [patient];
  const groups = orderGroups(msg, 'RXD');
  if (groups.length === 0) throw new MappingError(`RDS^${event} has no RXD segment`);
  for (const { orc, segs } of groups) {
    for (const rxd of segs.filter((s) => s.name === 'RXD')) {
      const key = orderKey(orc, rxd.get(7));
      if (!key) throw new MappingError(`RXD (segment ${rxd.position}): no order number in ORC-2/ORC-3 nor RXD-7`);
      const medication = codeable(ctx, rxd.value(2));
      if (!medication) throw new MappingError(`RXD (segment ${rxd.position}) has no dispense code in RXD-2`);
      const dispense: Record<string, unknown> = {
        resourceType: 'MedicationDispense',
        id: stableId(ctx, 'MedicationDispense', ...key, rxd.get(1), rxd.get(3)),
        status: 'completed',
        medicationCodeableConcept: medication,
        subject: { reference: `Patient/${patient.id}` },
        authorizingPrescription: [{ reference: `MedicationRequest/${requestIdOf(ctx, key)}` }],
      };
      const handed = hl7DateTime(rxd.get(3));
      if (handed) dispense.whenHandedOver = handed;
      const qty = quantity(rxd.get(4), codeable(ctx, rxd.value(5)));
      if (qty) dispense.quantity = qty;
      const by = personReference(ctx, rxd.value(10));
      if (by) dispense.performer = [{ actor: by }];
      const instructions = rxd
        .reps(9)
        .map((v) => (v.c(2) || v.c(1)).trim())
        .filter((t) => t);
      const route = routeOf(ctx, segs, rxd);
      if (instructions.length > 0 || route) {
        dispense.dosageInstruction = [
          { ...(instructions.length > 0 ? { text: instructions.join('; ') } : {}), ...(route ? { route } : {}) },
        ];
      }
      out.push(dispense as Resource);
    }
  }
  return dedupe(out);
}

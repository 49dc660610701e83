/**
 * ORU^R01 → Patient, and per OBR a DiagnosticReport with its Observations (OBX): values with units
 * (NM → Quantity, SN → Quantity with comparator, CE/CWE → CodeableConcept, ST/TX/FT → string), reference
 * ranges, interpretation flags, result status, notes (NTE). Ids come from the filler/placer order number
 * and the OBX set id and sub-id, so a corrected result replaces the earlier one. Pure, no I/O.
 */
import type { Hl7Message, Hl7Segment } from '../hl7v2/message.ts';
import { dedupe } from './adt.ts';
import { codeable, hl7DateTime, localSystem, MappingError, type MappingContext, stableId } from './common.ts';
import { mapPatient, type Resource } from './patient.ts';

const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const FLAGS = new Set(['L', 'H', 'LL', 'HH', 'N', 'A', 'AA', 'U', 'D', 'B', 'W', 'S', 'R', 'I', '<', '>']);

function observationStatus(raw: string): string {
  switch (raw.toUpperCase()) {
    case 'C':
      return 'corrected';
    case 'P':
    case 'S':
    case 'R':
    case 'I':
      return 'preliminary';
    case 'D':
    case 'W':
      return 'entered-in-error';
    case 'X':
      return 'cancelled';
    case 'A':
      return 'amended';
    default:
      return 'final';
  }
}

function reportStatus(raw: string): string {
  switch (raw.toUpperCase()) {
    case 'C':
      return 'corrected';
    case 'P':
    case 'I':
    case 'S':
    case 'R':
      return 'preliminary';
    case 'X':
      return 'cancelled';
    case 'A':
      return 'partial';
    default:
      return 'final';
  }
}

function notesAfter(msg: Hl7Message, seg: Hl7Segment): Array<{ text: string }> {
  const out: Array<{ text: string }> = [];
  for (const s of msg.segments.filter((x) => x.position > seg.position)) {
    if (s.name !== 'NTE') break;
    const text = s
      .reps(3)
      .map((r) => r.text())
      .join('\n')
      .trim();
    if (text) out.push({ text });
  }
  return out;
}

function quantity(value: string, unit: string): Record<string, unknown> | undefined {
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value.trim())) return undefined;
  const q: Record<string, unknown> = { value: Number(value.trim()) };
  if (unit) q.unit = unit;
  return q;
}

function setValue(ctx: MappingContext, obs: Record<string, unknown>, obx: Hl7Segment): void {
  const type = obx.get(2).toUpperCase();
  const unitValue = obx.value(6);
  const unit = (unitValue.c(2) || unitValue.c(1)).trim();
  const values = obx.reps(5).filter((v) => !v.isEmpty);
  const first = values[0];
  if (!first) return;
  if (type === 'NM') {
    const q = quantity(first.c(1), unit);
    if (q) obs.valueQuantity = q;
    else obs.valueString = first.text();
  } else if (type === 'SN') {
    const cmp = first.c(1).trim();
    const q = quantity(first.c(2), unit);
    if (q && ['<', '<=', '>', '>='].includes(cmp)) obs.valueQuantity = { ...q, comparator: cmp };
    else if (q && (cmp === '' || cmp === '=')) obs.valueQuantity = q;
    else obs.valueString = `${cmp}${first.c(2)}${first.c(3)}${first.c(4)}`;
  } else if (type === 'CE' || type === 'CWE' || type === 'CF' || type === 'CNE') {
    const c = codeable(ctx, first);
    if (c) obs.valueCodeableConcept = c;
  } else if (type === 'ST' || type === 'TX' || type === 'FT' || type === 'TS' || type === 'DT' || type === 'TM') {
    const text = values.map((v) => v.text()).join('\n');
    if (text.trim()) obs.valueString = text;
  }
  // ED (embedded documents), RP (pointers) and the rest carry no value here: the report stands without it.
}

function mapObservation(
  ctx: MappingContext,
  msg: Hl7Message,
  obx: Hl7Segment,
  reportKey: string,
  patientId: string,
  effective: string | undefined,
): Resource | undefined {
  const code = codeable(ctx, obx.value(3));
  if (!code) return undefined;
  const obs: Record<string, unknown> = {
    resourceType: 'Observation',
    id: stableId(ctx, 'Observation', reportKey, obx.get(3), obx.get(4), obx.get(1)),
    status: observationStatus(obx.get(11)),
    code,
    subject: { reference: `Patient/${patientId}` },
  };
  const when = hl7DateTime(obx.get(14)) ?? effective;
  if (when) obs.effectiveDateTime = when;
  setValue(ctx, obs, obx);
  const range = obx.get(7).trim();
  if (range) {
    const m = /^\s*([+-]?\d+(?:\.\d+)?)\s*-\s*([+-]?\d+(?:\.\d+)?)\s*$/.exec(range);
    const unit = (obx.value(6).c(2) || obx.value(6).c(1)).trim();
    const q = (v: string) => (unit ? { value: Number(v), unit } : { value: Number(v) });
    obs.referenceRange = [m?.[1] && m[2] ? { low: q(m[1]), high: q(m[2]), text: range } : { text: range }];
  }
  const flags = obx
    .reps(8)
    .map((f) => f.c(1).trim().toUpperCase())
    .filter((f) => f !== '');
  if (flags.length > 0) {
    obs.interpretation = flags.map((f) =>
      FLAGS.has(f) ? { coding: [{ system: INTERPRETATION, code: f }] } : { text: f },
    );
  }
  const note = notesAfter(msg, obx);
  if (note.length > 0) obs.note = note;
  return obs as Resource;
}

export function mapOruR01(ctx: MappingContext, msg: Hl7Message): Resource[] {
  const pid = msg.segment('PID');
  if (!pid) throw new MappingError('ORU^R01 has no PID segment');
  const patient = mapPatient(ctx, msg, pid);
  const out: Resource[] = [patient];
  const obrs = msg.all('OBR');
  if (obrs.length === 0) throw new MappingError('ORU^R01 has no OBR segment');
  for (const [n, obr] of obrs.entries()) {
    const next = obrs[n + 1]?.position ?? Number.MAX_SAFE_INTEGER;
    const filler = obr.value(3);
    const placer = obr.value(2);
    const order = !filler.isEmpty ? filler : placer;
    // One order number can carry several tests (OBR-4): each is its own report.
    const reportKey = order.isEmpty
      ? `${msg.header.controlId}#${n + 1}`
      : `${order.c(2)}|${order.c(1)}|${obr.value(4).c(1)}`;
    const code = codeable(ctx, obr.value(4)) ?? { text: 'Report' };
    const effective = hl7DateTime(obr.get(7)) ?? hl7DateTime(obr.get(22));
    const observations = msg.segments
      .filter((s) => s.name === 'OBX' && s.position > obr.position && s.position < next)
      .map((obx) => mapObservation(ctx, msg, obx, reportKey, patient.id, effective))
      .filter((o): o is Resource => o !== undefined);
    const report: Record<string, unknown> = {
      resourceType: 'DiagnosticReport',
      id: stableId(ctx, 'DiagnosticReport', reportKey),
      status: reportStatus(obr.get(25)),
      code,
      subject: { reference: `Patient/${patient.id}` },
    };
    if (!order.isEmpty) {
      report.identifier = [{ system: localSystem(ctx, `order-${order.c(2) || 'filler'}`), value: order.c(1) }];
    }
    if (effective) report.effectiveDateTime = effective;
    const issued = hl7DateTime(obr.get(22));
    if (issued && issued.length > 10) report.issued = issued;
    if (observations.length > 0) report.result = observations.map((o) => ({ reference: `Observation/${o.id}` }));
    const notes = notesAfter(msg, obr);
    if (notes.length > 0) report.conclusion = notes.map((x) => x.text).join('\n');
    out.push(report as Resource, ...observations);
  }
  return dedupe(out);
}

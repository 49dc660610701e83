/**
 * REF^I12 (patient referral) → ServiceRequest (intent order), with the referral's patient and its
 * diagnoses: RF1-6 (originating referral identifier) keys the id; RF1-1 status, RF1-2 priority, RF1-3
 * type (category), RF1-10 reason, RF1-7/RF1-9 dates; PRD with role RP → requester, RT → performer; DG1 →
 * reasonCode. The I12's DG1, AL1 and PR1 also become Condition, AllergyIntolerance and Procedure as in ADT.
 * Pure, no I/O.
 */
import type { Hl7Message, Hl7Segment } from '../hl7v2/message.ts';
import { dedupe } from './adt.ts';
import { mapAllergy, mapCondition, mapProcedure } from './clinical.ts';
import {
  codeable,
  feedOrganisation,
  hl7DateTime,
  localSystem,
  MappingError,
  type MappingContext,
  stableId,
} from './common.ts';
import { mapPatient, type Resource } from './patient.ts';

export const REF_EVENTS = ['I12', 'I13', 'I14'] as const;

/** RF1-1 referral status (HL7 table 0283) → ServiceRequest.status. */
function status(event: string, rf1: Hl7Segment): string {
  if (event === 'I14') return 'revoked'; // cancel patient referral
  switch (rf1.get(1).toUpperCase()) {
    case 'R':
    case 'E':
      return 'revoked';
    case 'A':
    case 'P':
      return 'active';
    default:
      return 'active';
  }
}

/** RF1-2 referral priority (table 0280) → ServiceRequest.priority. */
function priority(raw: string): string | undefined {
  switch (raw.toUpperCase()) {
    case 'S':
      return 'stat';
    case 'A':
      return 'asap';
    case 'R':
      return 'routine';
    default:
      return undefined;
  }
}

/** PRD-2 (provider name, XPN) and PRD-4 (location) → a Reference by display. */
function provider(prd: Hl7Segment): Record<string, unknown> | undefined {
  const n = prd.value(2);
  const name = [n.c(5), n.c(2), n.c(1)]
    .map((s) => s.trim())
    .filter((s) => s)
    .join(' ');
  const place = prd.value(4).c(10).trim() || prd.value(4).c(4).trim();
  const display = [name, place].filter((s) => s).join(', ');
  return display ? { display } : undefined;
}

export function mapRef(ctx: MappingContext, msg: Hl7Message): Resource[] {
  const event = msg.header.triggerEvent;
  const rf1 = msg.segment('RF1');
  if (!rf1) throw new MappingError(`REF^${event} has no RF1 segment`);
  const pid = msg.segment('PID');
  if (!pid) throw new MappingError(`REF^${event} has no PID segment`);
  const patient = mapPatient(ctx, msg, pid);
  const referral = rf1.value(6);
  const external = rf1.value(11);
  const ref = !referral.isEmpty ? referral : external;
  if (ref.isEmpty)
    throw new MappingError(`RF1 (segment ${rf1.position}) has no referral identifier in RF1-6 or RF1-11`);
  const request: Record<string, unknown> = {
    resourceType: 'ServiceRequest',
    id: stableId(ctx, 'ServiceRequest', ref.c(2), ref.c(1)),
    identifier: [{ system: localSystem(ctx, `referral-${ref.c(2) || 'id'}`), value: ref.c(1) }],
    status: status(event, rf1),
    intent: 'order',
    subject: { reference: `Patient/${patient.id}` },
  };
  const category = codeable(ctx, rf1.value(3)) ?? codeable(ctx, rf1.value(5));
  if (category) request.category = [category];
  const p = priority(rf1.get(2));
  if (p) request.priority = p;
  const reason = codeable(ctx, rf1.value(10));
  request.code = reason ?? { text: 'Referral' };
  const authored = hl7DateTime(rf1.get(9)) ?? hl7DateTime(rf1.get(7));
  if (authored) request.authoredOn = authored;
  const from = hl7DateTime(rf1.get(7));
  const until = hl7DateTime(rf1.get(8));
  if (from || until) {
    request.occurrencePeriod = {
      ...(from ? { start: from } : {}),
      ...(until && (!from || until >= from) ? { end: until } : {}),
    };
  }
  for (const prd of msg.all('PRD')) {
    const role = prd.get(1).toUpperCase();
    const who = provider(prd);
    if (!who) continue;
    if (role === 'RP' && !request.requester) request.requester = who;
    if (role === 'RT') request.performer = [...((request.performer as unknown[] | undefined) ?? []), who];
  }
  if (!request.requester) request.requester = feedOrganisation(ctx);
  const out: Resource[] = [patient];
  const reasons: Array<Record<string, unknown>> = [];
  for (const dg1 of msg.all('DG1')) {
    const c = mapCondition(ctx, dg1, patient.id, undefined);
    if (!c) continue;
    out.push(c);
    reasons.push({ reference: `Condition/${c.id}` });
  }
  if (reasons.length > 0) request.reasonReference = reasons;
  for (const al1 of msg.all('AL1')) {
    const a = mapAllergy(ctx, al1, patient.id);
    if (a) out.push(a);
  }
  for (const pr1 of msg.all('PR1')) {
    const pr = mapProcedure(ctx, pr1, patient.id, undefined);
    if (pr) out.push(pr);
  }
  const notes = msg
    .all('NTE')
    .filter((n) => n.position < (msg.segment('PID')?.position ?? 0))
    .map((n) => n.get(3).trim())
    .filter((t) => t);
  if (notes.length > 0) request.note = notes.map((text) => ({ text }));
  out.push(request as Resource);
  return dedupe(out);
}

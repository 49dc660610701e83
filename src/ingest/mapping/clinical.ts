/**
 * AL1 → AllergyIntolerance, DG1 → Condition, PR1 → Procedure: the clinical segments an ADT message may
 * carry, each with a stable id from the patient and the segment's own code. Pure, no I/O.
 */
import type { Hl7Segment } from '../hl7v2/message.ts';
import { codeable, hl7Date, hl7DateTime, type MappingContext, stableId } from './common.ts';
import type { Resource } from './patient.ts';

const CLINICAL = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const CONDITION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';

function codeKey(c: Record<string, unknown> | undefined): string {
  return JSON.stringify(c ?? {});
}

export function mapAllergy(ctx: MappingContext, al1: Hl7Segment, patientId: string): Resource | undefined {
  const code = codeable(ctx, al1.value(3));
  if (!code) return undefined;
  const type = al1.get(2).toUpperCase();
  const severity = al1.get(4).toUpperCase();
  const reactions = al1
    .reps(5)
    .map((r) => r.text().trim())
    .filter((t) => t !== '');
  const resource: Record<string, unknown> = {
    resourceType: 'AllergyIntolerance',
    id: stableId(ctx, 'AllergyIntolerance', patientId, codeKey(code)),
    clinicalStatus: { coding: [{ system: CLINICAL, code: 'active' }] },
    code,
    patient: { reference: `Patient/${patientId}` },
  };
  if (type === 'DA' || type === 'MA') resource.category = ['medication'];
  else if (type === 'FA') resource.category = ['food'];
  else if (type === 'EA' || type === 'PA') resource.category = ['environment'];
  if (severity === 'SV') resource.criticality = 'high';
  else if (severity === 'MO' || severity === 'MI') resource.criticality = 'low';
  if (reactions.length > 0) resource.reaction = [{ manifestation: reactions.map((text) => ({ text })) }];
  const onset = hl7Date(al1.get(6));
  if (onset && /^\d{4}-\d{2}-\d{2}$/.test(onset)) resource.onsetDateTime = onset;
  return resource as Resource;
}

export function mapCondition(
  ctx: MappingContext,
  dg1: Hl7Segment,
  patientId: string,
  encounterId: string | undefined,
): Resource | undefined {
  const code = codeable(ctx, dg1.value(3)) ?? (dg1.get(4) ? { text: dg1.get(4) } : undefined);
  if (!code) return undefined;
  const resource: Record<string, unknown> = {
    resourceType: 'Condition',
    id: stableId(ctx, 'Condition', patientId, encounterId ?? '', codeKey(code)),
    clinicalStatus: { coding: [{ system: CONDITION_CLINICAL, code: 'active' }] },
    category: [{ coding: [{ system: CONDITION_CATEGORY, code: 'encounter-diagnosis' }] }],
    code,
    subject: { reference: `Patient/${patientId}` },
  };
  if (encounterId) resource.encounter = { reference: `Encounter/${encounterId}` };
  const recorded = hl7DateTime(dg1.get(5));
  if (recorded) resource.onsetDateTime = recorded;
  return resource as Resource;
}

export function mapProcedure(
  ctx: MappingContext,
  pr1: Hl7Segment,
  patientId: string,
  encounterId: string | undefined,
): Resource | undefined {
  const code = codeable(ctx, pr1.value(3)) ?? (pr1.get(4) ? { text: pr1.get(4) } : undefined);
  if (!code) return undefined;
  const when = hl7DateTime(pr1.get(5));
  const resource: Record<string, unknown> = {
    resourceType: 'Procedure',
    id: stableId(ctx, 'Procedure', patientId, encounterId ?? '', codeKey(code), pr1.get(5)),
    status: 'completed',
    code,
    subject: { reference: `Patient/${patientId}` },
  };
  if (encounterId) resource.encounter = { reference: `Encounter/${encounterId}` };
  if (when) resource.performedDateTime = when;
  return resource as Resource;
}

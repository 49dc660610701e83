/**
 * Reading a PDS FHIR API Patient (UK Core shape): the NHS number and its verification status, the
 * confidentiality code in `meta.security` (U unrestricted, R restricted, V very restricted) and the
 * demographics. No I/O. See ADR 0014 for what of the published API this follows.
 */

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const NHS_VERIFICATION_EXTENSION =
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus';
export const NHS_VERIFICATION_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus';
export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const SPINE_ERROR_SYSTEM = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode';

export const PDS_SECURITY = { unrestricted: 'U', restricted: 'R', veryRestricted: 'V' } as const;
export type PdsSecurity = (typeof PDS_SECURITY)[keyof typeof PDS_SECURITY];

export interface PdsPatient {
  /** The Patient id PDS answered with: the NHS number of the current record. */
  id: string;
  nhsNumber: string;
  /** True when the NHS number identifier carries verification status 01. */
  verified: boolean;
  versionId?: string;
  security: PdsSecurity | undefined;
  /** R or V: address, telecom and GP must be withheld from other users. */
  restricted: boolean;
  name?: unknown;
  birthDate?: string;
  gender?: string;
  deceasedDateTime?: string;
  address?: unknown;
  telecom?: unknown;
  generalPractitioner?: unknown;
  /** The Patient resource as PDS sent it. */
  resource: Record<string, unknown>;
}

interface Coding {
  system?: string;
  code?: string;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The PDS Patient, or undefined when `resource` is not a Patient with an NHS number identifier. */
export function readPdsPatient(resource: unknown): PdsPatient | undefined {
  const p = obj(resource);
  if (!p || p.resourceType !== 'Patient') return undefined;
  const nhsId = arr(p.identifier)
    .map(obj)
    .find((i) => i?.system === NHS_NUMBER_SYSTEM);
  const nhsNumber = str(nhsId?.value) ?? str(p.id);
  if (!nhsNumber) return undefined;
  const verification = arr(nhsId?.extension)
    .map(obj)
    .find((e) => e?.url === NHS_VERIFICATION_EXTENSION);
  const codes = arr(obj(verification?.valueCodeableConcept)?.coding) as Coding[];
  const meta = obj(p.meta);
  const security = (arr(meta?.security) as Coding[]).find((c) => c.system === CONFIDENTIALITY_SYSTEM)?.code;
  const sec = security === 'U' || security === 'R' || security === 'V' ? security : undefined;
  const out: PdsPatient = {
    id: str(p.id) ?? nhsNumber,
    nhsNumber,
    verified: codes.some((c) => c.code === '01'),
    security: sec,
    restricted: sec === 'R' || sec === 'V',
    resource: p,
  };
  const versionId = str(meta?.versionId);
  if (versionId !== undefined) out.versionId = versionId;
  if (p.name !== undefined) out.name = p.name;
  const birthDate = str(p.birthDate);
  if (birthDate !== undefined) out.birthDate = birthDate;
  const gender = str(p.gender);
  if (gender !== undefined) out.gender = gender;
  const deceased = str(p.deceasedDateTime);
  if (deceased !== undefined) out.deceasedDateTime = deceased;
  if (p.address !== undefined) out.address = p.address;
  if (p.telecom !== undefined) out.telecom = p.telecom;
  if (p.generalPractitioner !== undefined) out.generalPractitioner = p.generalPractitioner;
  return out;
}

/** The Spine error code in an OperationOutcome (`RESOURCE_NOT_FOUND`, `TOO_MANY_MATCHES`, …). */
export function spineErrorCode(outcome: unknown): string | undefined {
  const o = obj(outcome);
  if (!o || o.resourceType !== 'OperationOutcome') return undefined;
  for (const issue of arr(o.issue).map(obj)) {
    const codings = arr(obj(issue?.details)?.coding) as Coding[];
    const c = codings.find((x) => x.system === SPINE_ERROR_SYSTEM) ?? codings[0];
    if (c?.code) return c.code;
  }
  return undefined;
}

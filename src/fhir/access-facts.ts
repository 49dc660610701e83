/**
 * What the access rules need to know about a resource, computed once at write time and kept as plain
 * columns (DESIGN.md §6, docs/access.md): its category, whether it was entered in error, whether a
 * Patient is marked restricted (PDS `R`), and which organisations a care event names. No I/O here.
 */
import type { FhirResource, SupportedType } from './types.ts';

/** The categories of the role → categories matrix (DESIGN.md §6 step 5), plus `audit`. */
export const CATEGORIES = [
  'demographics',
  'care-network',
  'encounters',
  'appointments',
  'referrals',
  'alerts',
  'allergies',
  'medications',
  'problems',
  'procedures',
  'results',
  'immunisations',
  'documents',
  'care-plans',
  'social-care',
  'audit',
] as const;

export type Category = (typeof CATEGORIES)[number];

/** The clinical categories: everything but demographics and audit needs a legitimate relationship. */
export const CLINICAL_CATEGORIES: readonly Category[] = CATEGORIES.filter((c) => c !== 'demographics' && c !== 'audit');

/**
 * Every supported resource type belongs to exactly one category (a unit test checks this covers
 * SUPPORTED_TYPES; migration 0006 backfills with the same table). `social-care` has no type of its own: a
 * resource of one of SOCIAL_CARE_TYPES marked as social care is in it instead (categoryOfResource).
 */
export const CATEGORY_OF_TYPE: Readonly<Record<SupportedType, Category>> = {
  Patient: 'demographics',
  Consent: 'demographics',
  Practitioner: 'care-network',
  PractitionerRole: 'care-network',
  Organization: 'care-network',
  Location: 'care-network',
  CareTeam: 'care-network',
  RelatedPerson: 'care-network',
  Encounter: 'encounters',
  // A registration with a practice, or being under a service (community, mental health), is who looks
  // after the person: the care network (migration 0033), which admin and clinical support also see.
  EpisodeOfCare: 'care-network',
  Appointment: 'appointments',
  ServiceRequest: 'referrals',
  Flag: 'alerts',
  AllergyIntolerance: 'allergies',
  Medication: 'medications',
  MedicationRequest: 'medications',
  MedicationStatement: 'medications',
  MedicationDispense: 'medications',
  Condition: 'problems',
  Procedure: 'procedures',
  Observation: 'results',
  DiagnosticReport: 'results',
  Immunization: 'immunisations',
  DocumentReference: 'documents',
  Binary: 'documents',
  Provenance: 'documents',
  CarePlan: 'care-plans',
  Goal: 'care-plans',
  AuditEvent: 'audit',
};

export function categoryOf(resourceType: string): Category {
  return (CATEGORY_OF_TYPE as Readonly<Record<string, Category>>)[resourceType] ?? 'documents';
}

/**
 * The mark that puts a resource in the `social-care` category (docs/access.md): a `meta.tag`, or a coding of
 * its `category`, with this system and code. Social care systems' feeds (a council's case management
 * system) set it on what they send; a professional may set it on what they record.
 */
export const SOCIAL_CARE_MARK = { system: 'https://openicr.org/fhir/CodeSystem/record-category', code: 'social-care' };

/**
 * The types a social care record is made of: involvement (EpisodeOfCare), visits and reviews (Encounter),
 * referrals (ServiceRequest), assessments (Observation), care and support plans and their goals (CarePlan,
 * Goal), and letters and case notes (DocumentReference). Marked, they are `social-care`; unmarked, their
 * type's category.
 */
export const SOCIAL_CARE_TYPES: ReadonlySet<string> = new Set([
  'EpisodeOfCare',
  'Encounter',
  'ServiceRequest',
  'Observation',
  'CarePlan',
  'Goal',
  'DocumentReference',
]);

function marked(codings: unknown): boolean {
  return (
    Array.isArray(codings) &&
    codings.some((c) => {
      const x = c as { system?: unknown; code?: unknown } | null;
      return x?.system === SOCIAL_CARE_MARK.system && x.code === SOCIAL_CARE_MARK.code;
    })
  );
}

/** Whether a resource carries the social-care mark (in `meta.tag` or a `category` coding). */
export function isSocialCareMarked(resource: FhirResource): boolean {
  if (marked((resource.meta as { tag?: unknown } | undefined)?.tag)) return true;
  const category = (resource as { category?: unknown }).category;
  const list = Array.isArray(category) ? category : category === undefined ? [] : [category];
  return list.some((cc) => marked((cc as { coding?: unknown } | null)?.coding));
}

/** The category of one resource: `social-care` for a marked resource of SOCIAL_CARE_TYPES, else its type's. */
export function categoryOfResource(resource: FhirResource): Category {
  if (SOCIAL_CARE_TYPES.has(resource.resourceType) && isSocialCareMarked(resource)) return 'social-care';
  return categoryOf(resource.resourceType);
}

/** Every category a resource of this type may be in (its type's, and `social-care` for SOCIAL_CARE_TYPES). */
export function categoriesOfType(resourceType: string): Category[] {
  const own = categoryOf(resourceType);
  return SOCIAL_CARE_TYPES.has(resourceType) ? [own, 'social-care'] : [own];
}

export const CONFIDENTIALITY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';

type Json = Record<string, unknown>;

function codes(cc: unknown): string[] {
  const coding = (cc as { coding?: unknown } | undefined)?.coding;
  return Array.isArray(coding)
    ? coding.map((c) => (c as { code?: unknown }).code).filter((c) => typeof c === 'string')
    : [];
}

/** `status` entered-in-error, or a verificationStatus (Condition, AllergyIntolerance) of entered-in-error. */
export function isEnteredInError(resource: FhirResource): boolean {
  const r = resource as Json;
  return r.status === 'entered-in-error' || codes(r.verificationStatus).includes('entered-in-error');
}

/** A Patient marked restricted (`meta.security` R of v3-Confidentiality), as PDS marks them. */
export function isRestrictedPatient(resource: FhirResource): boolean {
  if (resource.resourceType !== 'Patient') return false;
  const security = (resource.meta as { security?: unknown } | undefined)?.security;
  return (
    Array.isArray(security) &&
    security.some((s) => {
      const c = s as { system?: unknown; code?: unknown };
      return c.system === CONFIDENTIALITY_SYSTEM && c.code === 'R';
    })
  );
}

/** The elements of a Patient withheld from everyone when the person is restricted. */
export const RESTRICTED_ELEMENTS = ['address', 'telecom', 'generalPractitioner'] as const;

/** The care events from which a relationship is derived, and the elements naming organisations. */
const ORG_ELEMENTS: Readonly<Record<string, readonly string[]>> = {
  Patient: ['generalPractitioner'],
  Encounter: ['serviceProvider'],
  EpisodeOfCare: ['managingOrganization'],
  Appointment: ['participant.actor'],
  ServiceRequest: ['performer', 'requester'],
  CareTeam: ['participant.member', 'managingOrganization'],
};

/** Types whose contributing organisation (provenance) has a relationship with the person. */
export const CARE_EVENT_TYPES: ReadonlySet<string> = new Set([
  'Encounter',
  'EpisodeOfCare',
  'Appointment',
  'ServiceRequest',
  'CareTeam',
]);

/** The types that carry care links (what the relationship query scans per person). */
export const CARE_LINK_TYPES: readonly string[] = Object.keys(ORG_ELEMENTS);

function at(value: unknown, path: readonly string[]): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v) => at(v, path));
  if (path.length === 0) return [value];
  const [head, ...rest] = path;
  return at((value as Json)[head as string], rest);
}

/** `ods:<code>` for an ODS identifier, `Organization/<id>` for a local reference; else null. */
export function orgKeyOf(ref: unknown): string | null {
  if (typeof ref !== 'object' || ref === null) return null;
  const { reference, identifier } = ref as { reference?: unknown; identifier?: { system?: unknown; value?: unknown } };
  if (typeof reference === 'string') {
    const m = /(?:^|\/)Organization\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
    if (m) return `Organization/${m[1] as string}`;
  }
  if (identifier?.system === ODS_SYSTEM && typeof identifier.value === 'string' && identifier.value !== '') {
    return `ods:${identifier.value}`;
  }
  return null;
}

export interface CareLinks {
  orgKeys: string[];
  /**
   * Until when the event counts: its end (or start, or date) as an ISO date-time; `null` when it has no
   * date; `'always'` for a registration (GP) or a care team, which count while the resource stands.
   */
  until: string | null;
  /** A registration (GP) or a care team without an end: counts while the resource stands. */
  always: boolean;
}

const ALWAYS = Symbol('always');

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function periodEnd(p: unknown): string | undefined {
  const period = p as { start?: unknown; end?: unknown } | undefined;
  return str(period?.end) ?? str(period?.start);
}

function untilOf(resource: Json): string | null | typeof ALWAYS {
  switch (resource.resourceType) {
    case 'Patient':
      return ALWAYS;
    case 'CareTeam':
      return str((resource.period as { end?: unknown } | undefined)?.end) ?? ALWAYS;
    case 'EpisodeOfCare':
      return str((resource.period as { end?: unknown } | undefined)?.end) ?? ALWAYS;
    case 'Encounter':
      return periodEnd(resource.period) ?? null;
    case 'Appointment':
      return str(resource.end) ?? str(resource.start) ?? null;
    case 'ServiceRequest':
      return (
        str(resource.occurrenceDateTime) ?? periodEnd(resource.occurrencePeriod) ?? str(resource.authoredOn) ?? null
      );
    default:
      return null;
  }
}

/** The organisations a care event names and until when (null when the resource is no care event). */
export function careLinksOf(resource: FhirResource): CareLinks | null {
  const elements = ORG_ELEMENTS[resource.resourceType];
  if (!elements) return null;
  const keys = new Set<string>();
  for (const el of elements) {
    for (const ref of at(resource, el.split('.'))) {
      const key = orgKeyOf(ref);
      if (key) keys.add(key);
    }
  }
  const until = untilOf(resource);
  return until === ALWAYS
    ? { orgKeys: [...keys], until: null, always: true }
    : { orgKeys: [...keys], until, always: false };
}

/**
 * Loose FHIR R4 resource shapes used across layers. Precise per-type shapes come from
 * `@medplum/fhirtypes` where code needs them; the store and records service handle any resource.
 */

export interface Meta {
  versionId?: string;
  lastUpdated?: string;
  source?: string;
  profile?: string[];
  tag?: Array<{ system?: string; code?: string; display?: string }>;
  security?: Array<{ system?: string; code?: string; display?: string }>;
}

export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: Meta;
  [key: string]: unknown;
}

export interface BundleEntry {
  fullUrl?: string;
  resource?: FhirResource;
  search?: { mode?: 'match' | 'include' | 'outcome'; score?: number };
  request?: {
    method: string;
    url: string;
    ifNoneMatch?: string;
    ifModifiedSince?: string;
    ifMatch?: string;
    ifNoneExist?: string;
  };
  response?: { status: string; location?: string; etag?: string; lastModified?: string; outcome?: FhirResource };
}

export interface Bundle extends FhirResource {
  resourceType: 'Bundle';
  type: string;
  total?: number;
  link?: Array<{ relation: string; url: string }>;
  entry?: BundleEntry[];
}

/** The resource types OpenICR stores. Anything else is refused with ICR_UNSUPPORTED_TYPE. */
export const SUPPORTED_TYPES = [
  'Patient',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'Encounter',
  'EpisodeOfCare',
  'Condition',
  'Procedure',
  'AllergyIntolerance',
  'Medication',
  'MedicationRequest',
  'MedicationStatement',
  'MedicationDispense',
  'Observation',
  'DiagnosticReport',
  'DocumentReference',
  'Binary',
  'Appointment',
  'ServiceRequest',
  'CarePlan',
  'CareTeam',
  'Flag',
  'Immunization',
  'Consent',
  'Goal',
  'RelatedPerson',
  'Provenance',
  'AuditEvent',
] as const;

export type SupportedType = (typeof SUPPORTED_TYPES)[number];

const supported: ReadonlySet<string> = new Set(SUPPORTED_TYPES);

export function isSupportedType(t: string): t is SupportedType {
  return supported.has(t);
}

/** Where a stored resource came from. Every stored resource keeps one. */
export interface Provenance {
  /** The feed that delivered it (`api` for writes through the FHIR API by a registered system). */
  feedId?: string;
  /** ODS code of the source organisation. */
  sourceOrg?: string;
  /** The source system's own identifier for this record (e.g. its resource id or message control id). */
  sourceId?: string;
  /** When OpenICR received it (ISO instant). Defaults to the write time. */
  receivedAt?: string;
}

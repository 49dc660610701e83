/**
 * Which Patient a resource belongs to: the id of the Patient it references through its subject/patient
 * element (for a Patient, itself). This fills `resource.patient_id`, from which the person key is found.
 */
import type { FhirResource } from '../fhir/types.ts';

/** Elements that hold the patient reference, per type (first match wins). Default: subject, patient. */
const PATIENT_ELEMENTS: Readonly<Record<string, readonly string[]>> = {
  Appointment: ['participant.actor'],
  Consent: ['patient'],
  Provenance: ['target'],
  AuditEvent: ['entity.what'],
  Binary: ['securityContext'],
  Encounter: ['subject'],
  CareTeam: ['subject'],
  Flag: ['subject'],
  Goal: ['subject'],
  RelatedPerson: ['patient'],
  EpisodeOfCare: ['patient'],
  AllergyIntolerance: ['patient'],
  Immunization: ['patient'],
};

const DEFAULT_ELEMENTS = ['subject', 'patient'] as const;

function refsAt(value: unknown, path: readonly string[]): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v) => refsAt(v, path));
  if (path.length === 0) return [value];
  const [head, ...rest] = path;
  return refsAt((value as Record<string, unknown>)[head as string], rest);
}

/** The logical id from a reference string naming a Patient (`Patient/1`, `…/fhir/Patient/1/_history/2`). */
export function patientIdFromReference(reference: string): string | null {
  const m = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(reference);
  return m ? (m[1] as string) : null;
}

export function patientIdOf(resource: FhirResource): string | null {
  if (resource.resourceType === 'Patient') return resource.id ?? null;
  const elements = PATIENT_ELEMENTS[resource.resourceType] ?? DEFAULT_ELEMENTS;
  for (const element of elements) {
    for (const ref of refsAt(resource, element.split('.'))) {
      const reference = (ref as { reference?: unknown } | null)?.reference;
      if (typeof reference === 'string') {
        const id = patientIdFromReference(reference);
        if (id) return id;
      }
    }
  }
  return null;
}

/**
 * Synthetic persons as source systems send them, shared by the MPI benches (bench/mpi-db.ts,
 * bench/mpi-bulk-decide.ts): a stable UUID per (tag, n) and the FHIR Patient of a `MatchRecord`.
 */
import type { FhirResource } from '../src/fhir/types.ts';
import { NHS_NUMBER_SYSTEM, NHS_VERIFICATION_EXTENSION, NHS_VERIFICATION_SYSTEM } from '../src/mpi/pds/pds-patient.ts';
import type { MatchRecord } from '../src/mpi/types.ts';

/** A UUID-shaped id from a serial (deterministic; `tag` tells loaded, incoming and bulk records apart). */
export function uuidFor(tag: number, n: number): string {
  return `${tag.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

const title = (s: string): string => s.replace(/\b[a-z]/g, (c) => c.toUpperCase());

/** The FHIR Patient a source system would send for a synthetic person (UK Core NHS number extension). */
export function toPatient(p: MatchRecord, id: string, system: string, value: string): FhirResource & { id: string } {
  const identifier: unknown[] = [{ system, value }];
  if (p.nhsNumber !== undefined) {
    identifier.push({
      system: NHS_NUMBER_SYSTEM,
      value: p.nhsNumber,
      extension: [
        {
          url: NHS_VERIFICATION_EXTENSION,
          valueCodeableConcept: {
            coding: [{ system: NHS_VERIFICATION_SYSTEM, code: p.nhsVerified === true ? '01' : '02' }],
          },
        },
      ],
    });
  }
  const b = p.birthDate ?? '';
  return {
    resourceType: 'Patient',
    id,
    identifier,
    name: [
      {
        use: 'official',
        family: title(p.family ?? ''),
        given: [p.given, p.middle].filter((g): g is string => g !== undefined).map(title),
      },
    ],
    gender: p.sex,
    birthDate: `${b.slice(0, 4)}-${b.slice(4, 6)}-${b.slice(6, 8)}`,
    address: [
      {
        use: 'home',
        line: [`${p.streetNumber ?? ''} ${title(p.street ?? '')}`.trim()],
        city: title(p.town ?? ''),
        postalCode: p.postcode,
      },
    ],
  };
}

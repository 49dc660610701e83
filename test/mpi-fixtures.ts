/**
 * Synthetic people for the MPI tests (999-range NHS numbers, Modulus 11 valid) and a store wired with
 * the MPI resolver. Not a test file itself.
 */
import type { FhirResource } from '../src/fhir/types.ts';
import type { MpiContext } from '../src/records/mpi/assign.ts';
import { createMpi } from '../src/records/mpi/mpi-compose.ts';
import type { MpiService } from '../src/records/mpi/mpi-service.ts';
import type { Db } from '../src/store/db.ts';
import { type Indexer, ResourceStore } from '../src/store/resource-store.ts';
import type { UserActor } from '../src/shared/actor.ts';

export const NHS = [
  '9990000018',
  '9990000026',
  '9990000034',
  '9990000042',
  '9990000050',
  '9990000069',
  '9990000077',
  '9990000085',
  '9990000204',
  '9990000212',
] as const;

export const STEWARD: UserActor = { kind: 'user', userId: 'steward1', orgOds: 'X26', role: 'R8008' };

const noIndex: Indexer = { async index() {}, async remove() {} };

export type Patient = FhirResource & { id: string };

export interface PatientSpec {
  id: string;
  family?: string;
  given?: string;
  birthDate?: string;
  gender?: string;
  postcode?: string;
  line?: string;
  nhs?: string;
  verified?: boolean;
  mrn?: string;
  mrnSystem?: string;
  /** A surname the patient had before (written as a second name with `use: old`). */
  formerFamily?: string;
}

export function patient(s: PatientSpec): Patient {
  const identifier: unknown[] = [];
  if (s.nhs) {
    identifier.push({
      system: 'https://fhir.nhs.uk/Id/nhs-number',
      value: s.nhs,
      extension: [
        {
          url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus',
          valueCodeableConcept: {
            coding: [
              {
                system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus',
                code: s.verified ? '01' : '02',
              },
            ],
          },
        },
      ],
    });
  }
  if (s.mrn) identifier.push({ system: s.mrnSystem ?? 'https://trust.example/mrn', value: s.mrn });
  const p: Patient = { resourceType: 'Patient', id: s.id };
  if (identifier.length > 0) p.identifier = identifier;
  if (s.family || s.given) p.name = [{ use: 'official', family: s.family, given: s.given ? [s.given] : undefined }];
  if (s.formerFamily && Array.isArray(p.name))
    p.name.push({ use: 'old', family: s.formerFamily, given: s.given ? [s.given] : undefined });
  if (s.birthDate) p.birthDate = s.birthDate;
  if (s.gender) p.gender = s.gender;
  if (s.postcode || s.line) p.address = [{ use: 'home', line: s.line ? [s.line] : undefined, postalCode: s.postcode }];
  return p;
}

export function observation(id: string, patientId: string): Patient {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    code: { text: 'pulse' },
    subject: { reference: `Patient/${patientId}` },
  };
}

export interface MpiRig {
  ctx: MpiContext;
  store: ResourceStore;
  service: MpiService;
  /** Writes resources through the store (which passes the batch's Patients to the MPI resolver). */
  write(resources: readonly Patient[]): Promise<void>;
  personOf(patientId: string): Promise<string | null>;
  personIdsOfRows(patientId: string): Promise<Array<{ id: string; person_id: string }>>;
}

export function mpiRig(db: Db): MpiRig {
  let n = 0;
  const mpi = createMpi({ db, newId: () => `gen-${++n}-${Math.random().toString(36).slice(2, 8)}` });
  const { ctx, service } = mpi;
  const store = new ResourceStore({ indexer: noIndex, persons: mpi.resolver });
  return {
    ctx,
    store,
    service,
    async write(resources) {
      await db.transaction((tx) =>
        store.put(
          tx,
          resources.map((resource) => ({ resource })),
        ),
      );
    },
    personOf: (id) => service.personOfPatient(id),
    async personIdsOfRows(patientId) {
      const res = await db.query<{ id: string; person_id: string }>(
        'select id, person_id from resource where patient_id = $1 order by id',
        [patientId],
      );
      return res.rows;
    },
  };
}

/**
 * Demo records that make the viewer's journeys real, for one synthetic person of the demo (the sample's
 * NHS number 999 000 0018, else the first person): their GP practice and the acute trust each send their own
 * record — the same medicine at different doses, a medicine the hospital stopped, a series of HbA1c results
 * (a trend, above the reference range), a discharge summary, a referral and a care plan. Pure and
 * deterministic, dated relative to `now`. Synthetic data only.
 */
import type { FhirResource } from '../../fhir/types.ts';

export const GP_FEED = 'demo-gp-a81001';
export const HOSPITAL_FEED = 'demo-hospital-rns';
export const JOURNEY_NHS_NUMBER = '9990000018';
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const DMD = 'https://dmd.nhs.uk';
const SCT = 'http://snomed.info/sct';

interface DemoPatient extends FhirResource {
  id: string;
  identifier?: Array<{ system?: string; value?: string }>;
  name?: Array<{ family?: string; given?: string[] }>;
  birthDate?: string;
  gender?: string;
  address?: unknown[];
}

export interface JourneyRecords {
  gp: FhirResource[];
  hospital: FhirResource[];
}

function daysAgo(now: Date, days: number): string {
  return new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10);
}

function hba1c(id: string, patient: string, date: string, value: number, lab: string): FhirResource {
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [
      {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
      },
    ],
    code: {
      coding: [{ system: SCT, code: '999791000000106', display: 'Haemoglobin A1c level - IFCC standardised' }],
      text: 'HbA1c (IFCC)',
    },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: `${date}T09:00:00Z`,
    valueQuantity: { value, unit: 'mmol/mol', system: 'http://unitsofmeasure.org', code: 'mmol/mol' },
    referenceRange: [{ low: { value: 20, unit: 'mmol/mol' }, high: { value: 42, unit: 'mmol/mol' } }],
    ...(value > 42
      ? {
          interpretation: [
            {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'H' }],
            },
          ],
        }
      : {}),
    note: [{ text: `Measured by ${lab}` }],
  };
}

function medicine(
  type: 'MedicationStatement' | 'MedicationRequest',
  id: string,
  patient: string,
  code: string,
  name: string,
  dose: string,
  status: string,
  date: string,
): FhirResource {
  const common = {
    resourceType: type,
    id,
    status,
    medicationCodeableConcept: { coding: [{ system: DMD, code, display: name }], text: name },
    subject: { reference: `Patient/${patient}` },
  };
  return type === 'MedicationRequest'
    ? { ...common, intent: 'order', authoredOn: date, dosageInstruction: [{ text: dose }] }
    : { ...common, effectiveDateTime: date, dosage: [{ text: dose }] };
}

/** The GP's and the hospital's records of the journey person (none when the demo has no people). */
export function viewerJourneyRecords(patients: readonly DemoPatient[], now: Date): JourneyRecords {
  const person =
    patients.find((p) => p.identifier?.some((i) => i.system === NHS && i.value === JOURNEY_NHS_NUMBER)) ??
    [...patients].sort((a, b) => a.id.localeCompare(b.id))[0];
  if (!person) return { gp: [], hospital: [] };
  const nhs = person.identifier?.find((i) => i.system === NHS)?.value;
  const demographics = {
    ...(nhs ? { identifier: [{ system: NHS, value: nhs }] } : {}),
    ...(person.name ? { name: person.name } : {}),
    ...(person.gender ? { gender: person.gender } : {}),
    ...(person.birthDate ? { birthDate: person.birthDate } : {}),
    ...(person.address ? { address: person.address } : {}),
  };
  const gpId = 'gp-a81001-p1';
  const hospId = 'rns-p1';
  const gp: FhirResource[] = [
    { resourceType: 'Patient', id: gpId, ...demographics },
    medicine(
      'MedicationStatement',
      'gp-med-amlodipine',
      gpId,
      '319283006',
      'Amlodipine 5mg tablets',
      'One tablet once a day',
      'active',
      daysAgo(now, 400),
    ),
    medicine(
      'MedicationStatement',
      'gp-med-metformin',
      gpId,
      '325278002',
      'Metformin 500mg tablets',
      '1 tablet twice a day',
      'active',
      daysAgo(now, 900),
    ),
    medicine(
      'MedicationStatement',
      'gp-med-simvastatin',
      gpId,
      '320000009',
      'Simvastatin 40mg tablets',
      'One tablet at night',
      'active',
      daysAgo(now, 1200),
    ),
    hba1c('gp-hba1c-1', gpId, daysAgo(now, 720), 44, 'the GP practice'),
    hba1c('gp-hba1c-2', gpId, daysAgo(now, 540), 48, 'the GP practice'),
    hba1c('gp-hba1c-3', gpId, daysAgo(now, 360), 53, 'the GP practice'),
    hba1c('gp-hba1c-4', gpId, daysAgo(now, 180), 58, 'the GP practice'),
    {
      resourceType: 'Condition',
      id: 'gp-problem-t2dm',
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
      },
      category: [
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'problem-list-item' }] },
      ],
      code: {
        coding: [{ system: SCT, code: '44054006', display: 'Type 2 diabetes mellitus' }],
        text: 'Type 2 diabetes mellitus',
      },
      subject: { reference: `Patient/${gpId}` },
      onsetDateTime: daysAgo(now, 1500),
    },
    {
      resourceType: 'CarePlan',
      id: 'gp-careplan-diabetes',
      status: 'active',
      intent: 'plan',
      title: 'Diabetes care plan: annual review, foot checks, retinal screening',
      subject: { reference: `Patient/${gpId}` },
      period: { start: daysAgo(now, 300) },
    },
  ];
  const discharge = [
    'Discharge summary — Demo acute trust',
    `Admitted ${daysAgo(now, 40)} with a fall at home; no fracture. Blood pressure high on the ward.`,
    'Medicines changed: amlodipine increased to 10mg once a day; simvastatin stopped (muscle pains), GP to review statin.',
    'Follow-up: falls clinic referral made.',
  ].join('\n');
  const hospital: FhirResource[] = [
    { resourceType: 'Patient', id: hospId, ...demographics },
    medicine(
      'MedicationRequest',
      'rns-med-amlodipine',
      hospId,
      '319284000',
      'Amlodipine 10mg tablets',
      'One tablet once a day',
      'active',
      daysAgo(now, 37),
    ),
    medicine(
      'MedicationRequest',
      'rns-med-simvastatin',
      hospId,
      '320000009',
      'Simvastatin 40mg tablets',
      'One tablet at night',
      'stopped',
      daysAgo(now, 37),
    ),
    hba1c('rns-hba1c-1', hospId, daysAgo(now, 39), 62, 'the hospital laboratory'),
    {
      resourceType: 'Encounter',
      id: 'rns-admission-1',
      status: 'finished',
      class: {
        system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
        code: 'IMP',
        display: 'inpatient encounter',
      },
      type: [{ text: 'Emergency admission: fall at home' }],
      subject: { reference: `Patient/${hospId}` },
      period: { start: `${daysAgo(now, 40)}T14:20:00Z`, end: `${daysAgo(now, 37)}T11:00:00Z` },
    },
    {
      resourceType: 'DocumentReference',
      id: 'rns-discharge-1',
      status: 'current',
      type: { coding: [{ system: SCT, code: '373942005', display: 'Discharge summary' }], text: 'Discharge summary' },
      subject: { reference: `Patient/${hospId}` },
      date: `${daysAgo(now, 37)}T11:30:00Z`,
      description: 'Discharge summary: fall at home',
      content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(discharge, 'utf8').toString('base64') } }],
    },
    {
      resourceType: 'ServiceRequest',
      id: 'rns-referral-falls',
      status: 'active',
      intent: 'order',
      category: [{ coding: [{ system: SCT, code: '3457005', display: 'Patient referral' }] }],
      code: { text: 'Referral to the community falls clinic' },
      subject: { reference: `Patient/${hospId}` },
      authoredOn: daysAgo(now, 37),
    },
  ];
  return { gp, hospital };
}

/**
 * Demo source records from other organisations about the demo's own (synthetic) people, so that a first
 * run shows the master patient index at work: a council's social care system and the ambulance service
 * send records of some of the same people, as such systems do — their own identifiers, no NHS number,
 * names spelt differently, a date of birth missing. Some link automatically, some wait for a data
 * steward's review, some stay separate people. Pure and deterministic: the same patients give the same
 * records. Synthetic data only (derived from Synthea's synthetic patients).
 */
import type { FhirResource } from '../../fhir/types.ts';

export const SOCIAL_CARE_SYSTEM = 'https://social-care.demo.openicr.example/person-id';
export const AMBULANCE_SYSTEM = 'https://ambulance.demo.openicr.example/incident-patient';
export const SOCIAL_CARE_FEED = 'demo-social-care';
export const AMBULANCE_FEED = 'demo-ambulance';

interface Name {
  family?: string;
  given?: string[];
}

interface DemoPatient extends FhirResource {
  id: string;
  name?: Name[];
  birthDate?: string;
  gender?: string;
  address?: unknown[];
}

/** Synthea appends digits to names (`Michele578`); people's records elsewhere do not. */
function clean(s: string | undefined): string | undefined {
  const out = s?.replace(/\d+/g, '').trim();
  return out === '' ? undefined : out;
}

/** A transposition of two inner letters: the commonest keying error. */
function misspell(s: string): string {
  if (s.length < 4) return s;
  const i = Math.floor(s.length / 2) - 1;
  return s.slice(0, i) + s.charAt(i + 1) + s.charAt(i) + s.slice(i + 2);
}

function firstName(p: DemoPatient): { family: string; given: string } | undefined {
  const n = p.name?.[0];
  const family = clean(n?.family);
  const given = clean(n?.given?.[0]);
  return family && given ? { family, given } : undefined;
}

export interface CommunityRecords {
  socialCare: FhirResource[];
  ambulance: FhirResource[];
}

/**
 * Records for up to `max` of `patients` (ordered by id): every third person is known to social care —
 * the first of each pair exactly as the GP has them, the next with the family name misspelt — and every
 * fourth had an ambulance call, recorded with a name and only the year of birth.
 */
export function communityRecords(patients: readonly DemoPatient[], max = 24): CommunityRecords {
  const sorted = [...patients].sort((a, b) => a.id.localeCompare(b.id)).slice(0, max);
  const socialCare: FhirResource[] = [];
  const ambulance: FhirResource[] = [];
  sorted.forEach((p, i) => {
    const name = firstName(p);
    if (!name || !p.birthDate) return;
    if (i % 3 === 0) {
      const id = `sc-${String(i + 1).padStart(4, '0')}`;
      const family = i % 2 === 0 ? name.family : misspell(name.family);
      socialCare.push({
        resourceType: 'Patient',
        id,
        identifier: [{ system: SOCIAL_CARE_SYSTEM, value: id.toUpperCase() }],
        name: [{ use: 'official', family, given: [name.given] }],
        ...(p.gender ? { gender: p.gender } : {}),
        birthDate: p.birthDate,
        ...(p.address ? { address: p.address } : {}),
      });
      socialCare.push({
        resourceType: 'Flag',
        id: `${id}-flag`,
        status: 'active',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/flag-category', code: 'safety', display: 'Safety' },
            ],
          },
        ],
        code: { text: 'Lives alone; key safe at the front door (code held by the care agency)' },
        subject: { reference: `Patient/${id}` },
      });
    }
    if (i % 4 === 1) {
      const id = `amb-${String(i + 1).padStart(4, '0')}`;
      ambulance.push({
        resourceType: 'Patient',
        id,
        identifier: [{ system: AMBULANCE_SYSTEM, value: id.toUpperCase() }],
        name: [{ family: name.family.toUpperCase(), given: [name.given.charAt(0)] }],
        ...(p.gender ? { gender: p.gender } : {}),
        birthDate: p.birthDate.slice(0, 4),
      });
      ambulance.push({
        resourceType: 'Encounter',
        id: `${id}-call`,
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EMER', display: 'emergency' },
        type: [{ text: 'Ambulance attendance: fall at home, conveyed to the emergency department' }],
        subject: { reference: `Patient/${id}` },
        period: { start: '2026-11-30T21:14:00Z', end: '2026-11-30T22:05:00Z' },
      });
    }
  });
  return { socialCare, ambulance };
}

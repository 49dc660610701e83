/**
 * Plain-English words for the person's access report: what a role is called, what a kind of record is
 * called, and what an access did ("Viewed test results and observations"). No I/O here.
 */

export const ROLE_NAMES: Readonly<Record<string, string>> = {
  R8000: 'Clinical practitioner',
  R8001: 'Nurse',
  R8003: 'Health professional',
  R8008: 'Admin and clinical support',
  R0001: 'Privacy officer',
  R5105: 'Caldicott guardian',
  'icr-social-worker': 'Social worker',
  'icr-data-steward': 'Data steward',
  'icr-integration-engineer': 'Integration engineer',
  'icr-system-admin': 'System administrator',
};

export function roleName(code: string | null): string {
  if (!code) return 'unknown role';
  return ROLE_NAMES[code] ?? code;
}

const NOUNS: Readonly<Record<string, string>> = {
  Patient: 'personal details (name, address, NHS number)',
  RelatedPerson: 'family members and carers',
  Practitioner: 'the professionals involved',
  PractitionerRole: 'the professionals involved',
  CareTeam: 'the people involved in care',
  Organization: 'organisations involved in care',
  Encounter: 'visits, admissions and discharges',
  EpisodeOfCare: 'episodes of care',
  Appointment: 'appointments',
  ServiceRequest: 'referrals and requests',
  Flag: 'alerts',
  AllergyIntolerance: 'allergies and reactions',
  MedicationRequest: 'medicines',
  MedicationStatement: 'medicines',
  MedicationDispense: 'medicines',
  MedicationAdministration: 'medicines given',
  Medication: 'medicines',
  Condition: 'conditions and problems',
  Procedure: 'operations and procedures',
  Observation: 'test results and observations',
  DiagnosticReport: 'test and imaging reports',
  Immunization: 'immunisations',
  DocumentReference: 'letters and documents',
  Composition: 'letters and documents',
  Binary: 'documents',
  CarePlan: 'care and support plans',
  Goal: 'care goals',
  Consent: 'consent and opt-out choices',
};

function typeOf(what: string): string {
  return /^([A-Z][A-Za-z]+)/.exec(what)?.[1] ?? '';
}

function nounOf(what: string): string {
  const type = typeOf(what);
  return NOUNS[type] ?? (type ? `${type} records` : 'the record');
}

/** What an access did, in words a member of the public understands. */
export function describeAccess(action: string, what: string, outcome: 'allowed' | 'refused'): string {
  const noun = nounOf(what);
  let text: string;
  switch (action) {
    case 'read':
      text = `Viewed ${noun}`;
      break;
    case 'vread':
      text = `Viewed an earlier version of ${noun}`;
      break;
    case 'search':
      text = `Looked through ${noun}`;
      break;
    case 'everything':
      text = 'Viewed the whole record';
      break;
    case 'summary':
      text = 'Viewed the summary of the record';
      break;
    case 'history':
      text = what.startsWith('Patient/')
        ? 'Viewed the history of changes to the record'
        : `Viewed the history of ${noun}`;
      break;
    case 'create':
      text = `Added to ${noun}`;
      break;
    case 'update':
      text = `Changed ${noun}`;
      break;
    case 'delete':
      text = `Removed an entry from ${noun}`;
      break;
    case 'match':
    case 'pix':
      text = 'Looked up the person to confirm who they are';
      break;
    case 'access-declared':
      text = 'Declared that they are caring for the person';
      break;
    case 'access-emergency':
      text = 'Used emergency access to the record';
      break;
    case 'optout':
      text = 'Recorded an opt-out';
      break;
    case 'optin':
      text = 'Recorded an opt back in';
      break;
    default:
      text = action.startsWith('mpi-')
        ? 'Checked or corrected how the person’s records are linked'
        : `${action} (${noun})`;
  }
  return outcome === 'refused' ? `${text} — refused, nothing was shown` : text;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `01-Jan-2026 14:05` in the given time zone (the NHS display convention, 24-hour clock). */
export function displayDateTime(iso: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('day')}-${MONTHS[Number(get('month')) - 1] ?? ''}-${get('year')} ${get('hour')}:${get('minute')}`;
}

/**
 * A FHIR R4 (UK Core) Patient to a MatchRecord. Uses the official name (else the usual, else the first),
 * the home address (else the first current one), the NHS number identifier and its PDS verification
 * status. The caller supplies the source record key, because only it knows which system sent the record.
 */
import { MATCH_FIELDS, type MatchRecord } from '../types.ts';
import { normaliseAddressLine, normaliseStreetNumber, splitHouseNumber } from './address.ts';
import { normaliseDate } from './date.ts';
import { normaliseName, splitGivenNames } from './name.ts';
import { normaliseNhsNumber } from './nhs-number.ts';
import { normalisePostcode } from './postcode.ts';
import { normaliseSex } from './sex.ts';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
export const NHS_VERIFICATION_EXTENSION =
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus';
/** PDS verification status 01: number present and verified. */
export const NHS_VERIFIED_CODE = '01';

interface Coding {
  system?: string;
  code?: string;
}
interface Extension {
  url?: string;
  valueCodeableConcept?: { coding?: Coding[] };
}
interface Identifier {
  system?: string;
  value?: string;
  extension?: Extension[];
}
interface HumanName {
  use?: string;
  family?: string;
  given?: string[];
  text?: string;
  period?: { end?: string };
}
interface Address {
  use?: string;
  line?: string[];
  city?: string;
  district?: string;
  postalCode?: string;
  period?: { end?: string };
}
/** The parts of a FHIR Patient the matcher reads. */
export interface PatientLike {
  resourceType?: string;
  identifier?: Identifier[];
  name?: HumanName[];
  gender?: string;
  birthDate?: string;
  address?: Address[];
}

export interface FromPatientOptions {
  /** The source record key, e.g. `system|value` of the sender's local identifier. */
  sourceId: string;
  personId?: string;
  /** Another identifier to compare as a weak identifier (never trusted on its own). */
  otherIdSystem?: string;
}

export function matchRecordFromPatient(patient: PatientLike, options: FromPatientOptions): MatchRecord {
  const record: MatchRecord = { id: options.sourceId };
  if (options.personId !== undefined) record.personId = options.personId;

  const nhs = patient.identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM);
  const nhsNumber = normaliseNhsNumber(nhs?.value);
  if (nhsNumber !== undefined) {
    record.nhsNumber = nhsNumber;
    record.nhsVerified = verificationCode(nhs) === NHS_VERIFIED_CODE;
  }
  if (options.otherIdSystem !== undefined) {
    const other = patient.identifier?.find((i) => i.system === options.otherIdSystem)?.value?.trim();
    if (other) record.otherId = other.toUpperCase();
  }

  const name = pickName(patient.name ?? []);
  if (name) {
    const { given, middle } = splitGivenNames(name.given);
    if (given !== undefined) record.given = given;
    if (middle !== undefined) record.middle = middle;
    const family = normaliseName(name.family);
    if (family !== undefined) record.family = family;
  }
  const former = formerFamilies(patient.name ?? [], name, record.family);
  if (former.length > 0) record.formerFamilies = former;

  const birthDate = normaliseDate(patient.birthDate);
  if (birthDate !== undefined) record.birthDate = birthDate;
  const sex = normaliseSex(patient.gender);
  if (sex !== undefined) record.sex = sex;

  const address = pickAddress(patient.address ?? []);
  if (address) {
    const postcode = normalisePostcode(address.postalCode);
    if (postcode !== undefined) record.postcode = postcode;
    const lines = (address.line ?? []).map((l) => normaliseAddressLine(l)).filter((l) => l !== undefined);
    const [first, second] = lines;
    if (first !== undefined) {
      const { number, street } = splitHouseNumber(first);
      const houseNumber = normaliseStreetNumber(number);
      if (houseNumber !== undefined) record.streetNumber = houseNumber;
      if (street !== undefined) record.street = street;
    }
    if (second !== undefined) record.locality = second;
    const town = normaliseAddressLine(address.city);
    if (town !== undefined) record.town = town;
    const region = normaliseAddressLine(address.district);
    if (region !== undefined) record.region = region;
  }
  return compact(record);
}

function verificationCode(identifier: Identifier | undefined): string | undefined {
  const ext = identifier?.extension?.find((e) => e.url === NHS_VERIFICATION_EXTENSION);
  return ext?.valueCodeableConcept?.coding?.[0]?.code;
}

function pickName(names: HumanName[]): HumanName | undefined {
  const current = names.filter((n) => n.period?.end === undefined);
  return (
    current.find((n) => n.use === 'official') ??
    current.find((n) => n.use === 'usual') ??
    current.find((n) => n.use !== 'old' && n.use !== 'maiden') ??
    names[0]
  );
}

/** Family names the patient was known by (old, maiden, or with an ended period), other than the current one. */
function formerFamilies(names: HumanName[], current: HumanName | undefined, family: string | undefined): string[] {
  const out = new Set<string>();
  for (const n of names) {
    if (n === current) continue;
    if (n.use !== 'old' && n.use !== 'maiden' && n.period?.end === undefined) continue;
    const f = normaliseName(n.family);
    if (f !== undefined && f !== family) out.add(f);
  }
  return [...out].sort();
}

function pickAddress(addresses: Address[]): Address | undefined {
  const current = addresses.filter((a) => a.period?.end === undefined && a.use !== 'old');
  return current.find((a) => a.use === 'home') ?? current[0];
}

/** Drops empty strings so that "missing" has one spelling. */
function compact(record: MatchRecord): MatchRecord {
  for (const field of MATCH_FIELDS) if (record[field] === '') delete record[field];
  return record;
}

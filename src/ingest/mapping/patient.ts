/**
 * PID (with PD1 and NK1) → a UK Core-style Patient: identifiers (NHS number, local ids), names,
 * birth date, gender, addresses, telecoms, death, registered GP practice (PD1-3 ODS code) and contacts
 * (NK1). Pure, no I/O.
 */
import type { FhirResource } from '../../fhir/types.ts';
import type { Hl7Message, Hl7Segment } from '../hl7v2/message.ts';
import {
  addresses,
  compact,
  gender,
  hl7Date,
  hl7DateTime,
  humanNames,
  MappingError,
  type MappingContext,
  ODS_SYSTEM,
  patientIdentifiers,
  patientKey,
  stableId,
  telecoms,
} from './common.ts';

export type Resource = FhirResource & { id: string };

/** The Patient of a PID segment (and the PD1/NK1 that follow it). */
export function mapPatient(ctx: MappingContext, msg: Hl7Message, pid: Hl7Segment): Resource {
  const identifier = patientIdentifiers(ctx, pid);
  const key = patientKey(identifier);
  if (!key) throw new MappingError(`PID (segment ${pid.position}) has no usable identifier in PID-3`);
  const after = msg.segments.filter((s) => s.position > pid.position);
  const nextPid = after.find((s) => s.name === 'PID')?.position ?? Number.MAX_SAFE_INTEGER;
  const own = after.filter((s) => s.position < nextPid);
  const pd1 = own.find((s) => s.name === 'PD1');
  const nk1s = own.filter((s) => s.name === 'NK1');

  const patient: Record<string, unknown> = {
    resourceType: 'Patient',
    id: stableId(ctx, 'Patient', key),
    identifier,
  };
  const name = humanNames(pid, 5);
  if (name.length > 0) patient.name = name;
  const telecom = [...telecoms(pid, 13, 'home'), ...telecoms(pid, 14, 'work')];
  if (telecom.length > 0) patient.telecom = telecom;
  const g = gender(pid.get(8));
  if (g) patient.gender = g;
  const birth = hl7Date(pid.get(7));
  if (birth && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(birth)) patient.birthDate = birth;
  const deathTime = hl7DateTime(pid.get(29));
  if (deathTime) patient.deceasedDateTime = deathTime;
  else if (pid.get(30).toUpperCase() === 'Y') patient.deceasedBoolean = true;
  const address = addresses(pid, 11);
  if (address.length > 0) patient.address = address;
  const practice = pd1?.value(3);
  const ods = practice ? practice.c(3) || practice.c(10) || '' : '';
  if (pd1 && practice && !practice.isEmpty) {
    const display = practice.c(1).trim();
    const gp = compact({
      identifier: /^[A-Z0-9]{3,10}$/i.test(ods) ? { system: ODS_SYSTEM, value: ods.toUpperCase() } : undefined,
      display: display || undefined,
    });
    if (Object.keys(gp).length > 0) patient.generalPractitioner = [gp];
  }
  const contact = nk1s
    .map((nk1) => {
      const c = compact({
        name: humanNames(nk1, 2)[0],
        relationship: nk1.value(3).isEmpty ? undefined : [{ text: nk1.value(3).c(2) || nk1.value(3).c(1) }],
        telecom: telecoms(nk1, 5, 'home').length > 0 ? telecoms(nk1, 5, 'home') : undefined,
        address: addresses(nk1, 4)[0],
      });
      return Object.keys(c).length > 0 ? c : undefined;
    })
    .filter((c) => c !== undefined);
  if (contact.length > 0) patient.contact = contact;
  return patient as Resource;
}

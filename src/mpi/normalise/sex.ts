/** Administrative sex from FHIR `gender`, HL7 v2 PID-8 or free text; unknown values are missing. */
import { SEXES, type Sex } from '../types.ts';

const CODES: Readonly<Record<string, Sex>> = {
  male: SEXES.male,
  m: SEXES.male,
  '1': SEXES.male,
  man: SEXES.male,
  female: SEXES.female,
  f: SEXES.female,
  '2': SEXES.female,
  woman: SEXES.female,
  other: SEXES.other,
  o: SEXES.other,
  '9': SEXES.other,
  indeterminate: SEXES.other,
};

export function normaliseSex(raw: string | undefined | null): Sex | undefined {
  if (raw == null) return undefined;
  return CODES[raw.trim().toLowerCase()];
}

/**
 * Loads the sensitive code lists from a folder of FHIR ValueSet JSON files (ICR_SENSITIVE_CODES; the demo
 * uses ../shared/data/sensitive-codes). A file that cannot be read as a ValueSet stops the start with an
 * error naming it: running without the lists the operator configured would let sensitive data in.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { SensitiveCodes } from '../../fhir/sensitive-codes.ts';

export function loadSensitiveCodes(dirOrFile: string): SensitiveCodes {
  let files: string[];
  try {
    files = statSync(dirOrFile).isDirectory()
      ? readdirSync(dirOrFile)
          .filter((f) => f.toLowerCase().endsWith('.json'))
          .sort()
          .map((f) => path.join(dirOrFile, f))
      : [dirOrFile];
  } catch (err) {
    throw new Error(`Sensitive code lists: ${dirOrFile} cannot be read`, { cause: err });
  }
  if (files.length === 0) throw new Error(`Sensitive code lists: no .json ValueSet files in ${dirOrFile}`);
  const valueSets = files.map((f) => {
    try {
      const vs = JSON.parse(readFileSync(f, 'utf8')) as { resourceType?: unknown };
      if (vs.resourceType !== 'ValueSet') throw new Error('not a ValueSet');
      return vs;
    } catch (err) {
      throw new Error(
        `Sensitive code lists: ${f} is not a FHIR ValueSet (${err instanceof Error ? err.message : 'unreadable'})`,
        { cause: err },
      );
    }
  });
  return SensitiveCodes.fromValueSets(valueSets);
}

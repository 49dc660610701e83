/**
 * Postcodes. A UK postcode becomes `OUTWARD INWARD` in capitals (`ls14ap` → `LS1 4AP`), which gives its
 * district (`LS1`) and sector (`LS1 4`). Anything else (for example the 4-digit Australian codes in the
 * FEBRL test data) is kept in capitals without spaces, so it can still be compared exactly or by edits.
 * The NHS pseudo-postcodes `ZZ99 …` (no fixed abode, not known, abroad) say nothing about where a person
 * lives and are treated as missing.
 */

const UK = /^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$/;

export function normalisePostcode(raw: string | undefined | null): string | undefined {
  if (raw == null) return undefined;
  const compact = raw.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (compact === '' || compact.startsWith('ZZ99')) return undefined;
  const uk = UK.exec(compact);
  if (uk) return `${uk[1]} ${uk[2]}`;
  return compact;
}

/** District and sector of a normalised UK postcode, or undefined for other postcodes. */
export function postcodeParts(postcode: string): { district: string; sector: string } | undefined {
  const space = postcode.indexOf(' ');
  if (space < 0) return undefined;
  return { district: postcode.slice(0, space), sector: postcode.slice(0, space + 2) };
}

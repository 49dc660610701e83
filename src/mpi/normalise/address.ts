/**
 * Address lines: folded, punctuation removed, common street-type abbreviations expanded
 * (`12 High St.` → number `12`, street `high street`), and a leading house number split off.
 */
import { foldText } from './text.ts';

// prettier-ignore
const EXPANSIONS: Readonly<Record<string, string>> = {
  st: 'street', str: 'street', rd: 'road', ave: 'avenue', av: 'avenue', ln: 'lane', cl: 'close',
  cres: 'crescent', cr: 'crescent', dr: 'drive', ct: 'court', crt: 'court', pl: 'place', sq: 'square',
  gdns: 'gardens', gdn: 'gardens', tce: 'terrace', terr: 'terrace', pk: 'park', gr: 'grove', gro: 'grove',
  hwy: 'highway', pde: 'parade', cct: 'circuit', cir: 'circuit', wy: 'way', mt: 'mount', blvd: 'boulevard',
  n: 'north', s: 'south', e: 'east', w: 'west', nth: 'north', sth: 'south', vlge: 'village', est: 'estate',
};

/** Words of an address line, abbreviations expanded; empty when nothing is left. */
export function addressTokens(raw: string | undefined | null): string[] {
  if (raw == null) return [];
  const folded = foldText(raw)
    .replace(/['’]/g, '')
    .replace(/[^a-z0-9\s]/g, ' ')
    .trim();
  if (folded === '') return [];
  return folded.split(/\s+/).map((w) => EXPANSIONS[w] ?? w);
}

export function normaliseAddressLine(raw: string | undefined | null): string | undefined {
  const tokens = addressTokens(raw);
  return tokens.length === 0 ? undefined : tokens.join(' ');
}

/** Splits `12a high street` into house number `12a` and street `high street`. */
export function splitHouseNumber(line: string): { number?: string; street?: string } {
  const m = /^(?:flat \w+ )?(\d+[a-z]?)(?:\s+(.*))?$/.exec(line);
  if (!m) return { street: line };
  const street = m[2]?.trim();
  return street ? { number: m[1], street } : { number: m[1] };
}

/** A house number on its own: digits and an optional letter, lower case. */
export function normaliseStreetNumber(raw: string | undefined | null): string | undefined {
  if (raw == null) return undefined;
  const v = raw.trim().toLowerCase().replace(/\s+/g, '');
  return v === '' ? undefined : v;
}

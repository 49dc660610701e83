/**
 * Phonetic codes by Double Metaphone (the `double-metaphone` package), memoised because the same names
 * recur across millions of comparisons. Multi-word names are coded word by word and joined.
 */
import { doubleMetaphone } from 'double-metaphone';

const MAX_CACHE = 200_000;
const cache = new Map<string, readonly [string, string]>();

/** Primary and alternate Double Metaphone codes of a normalised name. */
export function phoneticCodes(value: string): readonly [string, string] {
  const hit = cache.get(value);
  if (hit !== undefined) return hit;
  let codes: readonly [string, string];
  if (value.includes(' ')) {
    const words = value.split(' ').map((w) => doubleMetaphone(w));
    codes = [words.map((w) => w[0]).join(' '), words.map((w) => w[1]).join(' ')];
  } else {
    codes = doubleMetaphone(value);
  }
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(value, codes);
  return codes;
}

/** The primary code alone (used for blocking keys). */
export function phoneticKey(value: string): string {
  return phoneticCodes(value)[0];
}

/** True when any code of one value equals any code of the other. */
export function phoneticMatch(a: string, b: string): boolean {
  const [a1, a2] = phoneticCodes(a);
  const [b1, b2] = phoneticCodes(b);
  if (a1 === '' && a2 === '') return false;
  return a1 === b1 || a1 === b2 || a2 === b1 || a2 === b2;
}

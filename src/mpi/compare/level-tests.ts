/**
 * The comparison tests a rules file can name for a level (`{"kind": "jaroWinkler", "min": 0.92}`), compiled
 * once into plain functions. A test sees two present values; missing values never reach it.
 * To add a kind: add it to LEVEL_TEST_KINDS in rules/rules.ts, give it a case here, and a test.
 */
import { postcodeParts } from '../normalise/postcode.ts';
import type { LevelTest } from '../rules/rules.ts';
import type { MatchField, MatchRecord } from '../types.ts';
import { editDistance } from './edit-distance.ts';
import { jaroWinkler, jaroWinklerBound } from './jaro-winkler.ts';
import { phoneticMatch } from './phonetic.ts';
import { givenNameVariants } from '../names/given-name-variants.ts';

export type ValueTest = (x: string, y: string) => boolean;
export type PairTest = (a: MatchRecord, b: MatchRecord) => boolean;

export function compileValueTest(test: LevelTest): ValueTest {
  switch (test.kind) {
    case 'exact':
      return (x, y) => x === y;
    case 'jaroWinkler': {
      const min = test.min ?? 1;
      // Squashed: the bound skips the spaces itself, so a pair it rules out is never squashed (allocated).
      if (test.squash)
        return (x, y) => jaroWinklerBound(x, y, true) >= min - 1e-9 && similarity(squash(x), squash(y)) >= min;
      return (x, y) => atLeast(x, y, min);
    }
    case 'phonetic':
      return phoneticMatch;
    case 'editDistance': {
      const max = test.max ?? 1;
      return (x, y) => editDistance(x, y, max) <= max;
    }
    case 'tokenOverlap':
      return tokenOverlap;
    case 'initial':
      // An initial against a name it could stand for (`j` and `john`).
      return (x, y) => (x.length === 1 || y.length === 1) && x.charAt(0) === y.charAt(0);
    case 'dateSwapped':
      return (x, y) =>
        x.length === 8 &&
        y.length === 8 &&
        x.slice(0, 4) === y.slice(0, 4) &&
        x.slice(4, 6) === y.slice(6, 8) &&
        x.slice(6, 8) === y.slice(4, 6);
    case 'datePartial':
      return (x, y) => x.length !== y.length && (x.startsWith(y) || y.startsWith(x));
    case 'sameYear':
      return (x, y) => x.slice(0, 4) === y.slice(0, 4);
    case 'postcodeSector':
      return (x, y) => {
        const px = postcodeParts(x);
        return px !== undefined && px.sector === postcodeParts(y)?.sector;
      };
    case 'postcodeDistrict':
      return (x, y) => {
        const px = postcodeParts(x);
        return px !== undefined && px.district === postcodeParts(y)?.district;
      };
    case 'nickname': {
      // Known variants and short forms of a given name (`william` and `bill`), from the maintained list.
      const variants = givenNameVariants();
      return (x, y) => variants.same(x, y);
    }
    case 'previousName':
      // A pair test (it reads the records' name history); as a value test it never passes.
      return () => false;
    case 'else':
      return () => true;
    default: {
      const never: never = test.kind;
      throw new Error(`unknown level test ${String(never)}`);
    }
  }
}

/** The test for a level of `field`: straight, or crosswise in both directions when `against` is set. */
export function compilePairTest(field: MatchField, test: LevelTest): PairTest {
  if (test.kind === 'previousName') return (a, b) => sharesFormerName(a, b, field);
  const value = compileValueTest(test);
  const against = test.against;
  if (against === undefined) return (a, b) => value(a[field] as string, b[field] as string);
  return (a, b) => {
    const a1 = a[field];
    const b1 = b[field];
    const a2 = a[against];
    const b2 = b[against];
    if (a1 === undefined || b1 === undefined || a2 === undefined || b2 === undefined) return false;
    return value(a1, b2) && value(a2, b1);
  };
}

// One-entry memo: the levels of a field are tried one after another on the same two values, and several
// of them may ask for the same similarity (jw92, then jw80), so it is computed once per pair.
let lastX = '';
let lastY = '';
let lastSimilarity = 0;
function similarity(x: string, y: string): number {
  if (x === lastX && y === lastY) return lastSimilarity;
  lastX = x;
  lastY = y;
  lastSimilarity = jaroWinkler(x, y);
  return lastSimilarity;
}

/**
 * `jaroWinkler(x, y) >= min`, without comparing the strings when a cheap upper bound already falls short
 * (ADR 0058: most pairs screened are strangers). The margin only allows for rounding; the answer is the same.
 */
function atLeast(x: string, y: string, min: number): boolean {
  if (jaroWinklerBound(x, y) < min - 1e-9) return false;
  return similarity(x, y) >= min;
}

function squash(s: string): string {
  return s.includes(' ') ? s.replaceAll(' ', '') : s;
}

function tokenOverlap(x: string, y: string): boolean {
  if (!x.includes(' ') && !y.includes(' ')) return x === y;
  const ys = new Set(y.split(' '));
  return x.split(' ').some((w) => w.length > 1 && ys.has(w));
}

/**
 * A name of one record among the other's former names (`Patient.name` with `use: old` or an ended
 * period), either way round, or a former name both share: a surname changed by marriage, or changed back.
 */
function sharesFormerName(a: MatchRecord, b: MatchRecord, field: MatchField): boolean {
  if (field !== 'family') return false;
  const fa = a.formerFamilies ?? [];
  const fb = b.formerFamilies ?? [];
  if (fa.length === 0 && fb.length === 0) return false;
  const x = a.family;
  const y = b.family;
  return (
    (y !== undefined && fa.some((n) => sameName(n, y))) ||
    (x !== undefined && fb.some((n) => sameName(n, x))) ||
    fa.some((n) => fb.some((m) => sameName(n, m)))
  );
}

function sameName(x: string, y: string): boolean {
  return x === y || squash(x) === squash(y);
}

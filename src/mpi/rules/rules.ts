/**
 * The declarative matching rules: what a `rules/*.json` file holds. A file is versioned as a whole; every
 * decision records the `version` of the rules that made it, so a rule change never rewrites history.
 */
import type { MatchField } from '../types.ts';

export const TRANSFORMS = ['value', 'phonetic', 'initial', 'year', 'dateUnordered', 'prefix', 'squash'] as const;
export type Transform = (typeof TRANSFORMS)[number];

export interface BlockingPart {
  field: MatchField;
  /** How the field becomes part of a key; `value` (the default) uses it as it is. */
  transform?: Transform;
  /** For `prefix`: how many leading characters. */
  length?: number;
}

export interface BlockingKeySpec {
  /** Short, stable name: it prefixes every key (`dob:1956|0409`) and so must not change within a version. */
  name: string;
  parts: BlockingPart[];
  /** Sort the parts' values so that swapped fields (given and family) give the same key. */
  unordered?: boolean;
}

export const LEVEL_TEST_KINDS = [
  'exact',
  'jaroWinkler',
  'phonetic',
  'editDistance',
  'tokenOverlap',
  'initial',
  'dateSwapped',
  'datePartial',
  'sameYear',
  'postcodeSector',
  'postcodeDistrict',
  'nickname',
  'previousName',
  'else',
] as const;
export type LevelTestKind = (typeof LEVEL_TEST_KINDS)[number];

export interface LevelTest {
  kind: LevelTestKind;
  /** For `jaroWinkler`: the lowest similarity that passes. */
  min?: number;
  /** For `editDistance`: the most edits that pass. */
  max?: number;
  /** Compare with spaces removed (`pridhamstreet` against `pridham street`). */
  squash?: boolean;
  /**
   * Compare crosswise: this field of one record against `against` of the other, in both directions
   * (given/family swapped). Both directions must pass, so the level stays symmetric.
   */
  against?: MatchField;
}

export interface LevelSpec {
  /** Stable name, stored in every comparison vector (`exact`, `jw92`, `different`). */
  name: string;
  test: LevelTest;
  /** P(this level | the records are the same person). */
  m: number;
  /** P(this level | the records are different people). */
  u: number;
}

export interface FieldSpec {
  field: MatchField;
  /** Adjust the weight of exact agreement by how common the value is (common surnames count for less). */
  termFrequency?: boolean;
  /** Ordered: the first level whose test passes is the field's level. The last must be `else`. */
  levels: LevelSpec[];
}

export const GUARD_DECISIONS = ['review', 'new'] as const;
export type GuardDecision = (typeof GUARD_DECISIONS)[number];

export interface GuardCondition {
  field: MatchField;
  /** Level names; `missing` stands for "either record lacks the field". */
  levels: string[];
}

export interface GuardSpec {
  name: string;
  /** All must hold for the guard to apply. */
  when: GuardCondition[];
  /** Any holding lifts the guard. */
  unless?: GuardCondition[];
  /** The strongest decision the pair may get while the guard applies. */
  maxDecision: GuardDecision;
}

export interface MatchRules {
  version: string;
  description?: string;
  /** Total match weight (sum of log2(m/u) over fields): at or above `link` links, at or above `review` is reviewed. */
  thresholds: { link: number; review: number };
  /** At most this many candidates are scored for one incoming record. */
  candidateLimit: number;
  /** A blocking key held by more records than this is too common to use (for example a missing-ish value). */
  maxBlockSize: number;
  /** Cap, in bits, on the term-frequency adjustment either way. */
  termFrequencyCap: number;
  /**
   * The identifier system of a weak identifier (`otherId`): another organisation's number that several
   * sources record (e.g. a trust's hospital number in community records). Compared like a demographic
   * field, never trusted alone. None by default.
   */
  otherIdSystem?: string;
  blocking: BlockingKeySpec[];
  fields: FieldSpec[];
  guards: GuardSpec[];
}

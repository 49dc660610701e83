/**
 * The shapes the master patient index works on. A `MatchRecord` is one source patient record after
 * normalisation: plain data, safe to store as JSON, with nothing derived that a rule change would
 * invalidate. Every field is optional except the source record id; a missing field never counts for or
 * against a match.
 */

/** The demographic fields a rule may compare or block on. */
export const MATCH_FIELDS = [
  'nhsNumber',
  'otherId',
  'given',
  'middle',
  'family',
  'birthDate',
  'sex',
  'postcode',
  'streetNumber',
  'street',
  'locality',
  'town',
  'region',
] as const;

export type MatchField = (typeof MATCH_FIELDS)[number];

export interface MatchRecord {
  /** The source record key, unique across sources, e.g. `https://trust.example/mrn|12345`. */
  id: string;
  /** The person (cluster of source records) this record belongs to, once it is linked. */
  personId?: string;
  /** Ten digits, Modulus-11 valid (invalid numbers are dropped at normalisation). */
  nhsNumber?: string;
  /** True when the NHS number carries PDS verification status 01 (number present and verified). */
  nhsVerified?: boolean;
  /** A weak identifier (another system's number): compared like a demographic field, never trusted alone. */
  otherId?: string;
  given?: string;
  middle?: string;
  family?: string;
  /** Former family names (`Patient.name` with `use: old` or `maiden`, or an ended period), normalised. */
  formerFamilies?: string[];
  /** `YYYYMMDD`, `YYYYMM` or `YYYY`; an impossible but well-formed date is kept for fuzzy comparison. */
  birthDate?: string;
  sex?: Sex;
  /** UK postcodes as `OUT IN` (e.g. `LS1 4AP`); other postcodes upper-case without spaces. */
  postcode?: string;
  streetNumber?: string;
  street?: string;
  locality?: string;
  town?: string;
  region?: string;
}

export const SEXES = { male: 'male', female: 'female', other: 'other' } as const;
export type Sex = (typeof SEXES)[keyof typeof SEXES];

export const DECISIONS = {
  /** The incoming record is a source record already held (same source identifier). */
  sameSourceRecord: 'same-source-record',
  link: 'link',
  review: 'review',
  new: 'new',
} as const;
export type Decision = (typeof DECISIONS)[keyof typeof DECISIONS];

export const MATCH_METHODS = {
  sourceIdentifier: 'source-identifier',
  nhsNumber: 'nhs-number',
  probabilistic: 'probabilistic',
  none: 'none',
} as const;
export type MatchMethod = (typeof MATCH_METHODS)[keyof typeof MATCH_METHODS];

/** Where candidates come from: an in-memory index now, a `person_block(key, person_id)` table later. */
export interface CandidateSource {
  /**
   * Records holding at least one of `keys`, those sharing the most keys first, at most `limit` of them.
   * Never a scan of everyone: a key too common to be useful may be ignored by the implementation.
   */
  candidates(keys: readonly string[], limit: number): Promise<MatchRecord[]> | MatchRecord[];
}

/** Value frequencies for term-frequency adjustment (in memory now, a table later). */
export interface TermFrequencies {
  /** Share of records holding `value` in `field` (0..1), or undefined when unknown. */
  frequency(field: MatchField, value: string): number | undefined;
  /** Chance that two random records agree on `field` (sum of squared shares), or undefined. */
  randomAgreement(field: MatchField): number | undefined;
}

/**
 * The matching engine as the MPI use cases see it: a FHIR Patient to a match record, its blocking keys,
 * and the score, decision and comparison vector of a pair. `coreMatchEngine` builds it from the MPI core
 * (`src/mpi/`: normalise, blocking, Fellegi–Sunter, versioned rules); tests may pass their own.
 */
import type { FhirResource } from '../../fhir/types.ts';
import { blockingKeys } from '../../mpi/blocking.ts';
import { canReach, CONFLICTING_NHS_NUMBERS, compileModel, explain, scorePair } from '../../mpi/fellegi-sunter.ts';
import { matchRecordFromPatient } from '../../mpi/normalise/patient.ts';
import type { MatchRules } from '../../mpi/rules/rules.ts';
import { DECISIONS, type Decision, type MatchRecord, type TermFrequencies } from '../../mpi/types.ts';

/** The guard named in a pair's explanation when an unverified NHS number alone would have linked it. */
export const UNVERIFIED_NHS_NUMBER = 'unverified-nhs-number';
/** Same NHS number, date of birth disagreeing beyond a day/month swap or one digit: review, never link. */
export const NHS_NUMBER_BIRTH_DATE_DISAGREES = 'nhs-number-birth-date-disagrees';
/** Same NHS number, different sex: review, never link. */
export const NHS_NUMBER_SEX_DISAGREES = 'nhs-number-sex-disagrees';
/** Same NHS number, neither the given nor the family name compatible: review, never link. */
export const NHS_NUMBER_NAMES_DISAGREE = 'nhs-number-names-disagree';
/** Two different NHS numbers, both verified: two people (no review unless all else agrees exactly). */
export const DIFFERENT_VERIFIED_NHS_NUMBERS = 'different-verified-nhs-numbers';
/** Two different NHS numbers and a different date of birth, given name or sex: two people (no review). */
export const DIFFERENT_NHS_NUMBERS_AND_DETAILS = 'different-nhs-numbers-and-details';
/** One record above the link threshold against two persons that would link to each other. */
export const MERGE_PERSONS = 'merge-persons';
/** One record above the link threshold against two persons that would not link to each other. */
export const AMBIGUOUS_PERSONS = 'ambiguous-two-persons';

export interface PairScore {
  score: number;
  /** link | review | new — thresholds and guards already applied (never link on different NHS numbers). */
  decision: Decision;
  /** The comparison vector that explains the score (stored with the link or review). */
  vector: unknown;
  guards: string[];
}

export interface MatchEngine {
  /** The version of the rules that makes every decision (stored with each link and review). */
  readonly ruleVersion: string;
  /** Total match weight: at or above `link` links, at or above `review` is reviewed. */
  readonly thresholds: { link: number; review: number };
  /** At most this many candidates are scored for one incoming record. */
  readonly candidateLimit: number;
  /** A blocking key held by more records than this is ignored. */
  readonly maxBlockSize: number;
  /** The rules' weak identifier system: compared as `otherId`, never a source record key. */
  readonly otherIdSystem?: string;
  /** The normalised record of a source Patient; its `id` is the Patient's id. */
  record(patient: FhirResource & { id: string }): MatchRecord;
  blockingKeys(record: MatchRecord): string[];
  score(incoming: MatchRecord, candidate: MatchRecord): PairScore;
  /**
   * False only when `score` would certainly give the pair decision `new` below the review threshold (no NHS
   * number in common, the score certainly under the threshold), so the pair need not be scored: a cheap
   * screen run first on each of up to `candidateLimit` candidates. Engines without it score every pair.
   */
  couldMatch?(incoming: MatchRecord, candidate: MatchRecord): boolean;
}

/** The MPI core's matcher under the given (validated) rules. */
export function coreMatchEngine(rules: MatchRules, tf?: TermFrequencies): MatchEngine {
  const model = compileModel(rules);
  return {
    ruleVersion: rules.version,
    thresholds: rules.thresholds,
    candidateLimit: rules.candidateLimit,
    maxBlockSize: rules.maxBlockSize,
    ...(rules.otherIdSystem !== undefined ? { otherIdSystem: rules.otherIdSystem } : {}),
    record(patient) {
      return matchRecordFromPatient(patient, {
        sourceId: patient.id,
        ...(rules.otherIdSystem !== undefined ? { otherIdSystem: rules.otherIdSystem } : {}),
      });
    },
    blockingKeys(record) {
      return blockingKeys(rules, record);
    },
    couldMatch(incoming, candidate) {
      // Term frequencies adjust weights beyond the levels' own: no screening with them. A shared NHS number
      // can lift the decision above the score's (the NHS number rules below): always scored.
      if (tf !== undefined) return true;
      if (incoming.nhsNumber !== undefined && incoming.nhsNumber === candidate.nhsNumber) return true;
      return canReach(model, incoming, candidate, rules.thresholds.review);
    },
    score(incoming, candidate) {
      const out = scorePair(model, incoming, candidate, tf);
      const vector = explain(model, out.levels, out.weights);
      let decision = out.decision;
      const guards = [...out.guards];
      if (vector.nhsNumber?.level === 'different' && decision !== DECISIONS.new) {
        // Two different valid NHS numbers never link. Both verified with PDS: two people, not a question for a
        // steward, unless every other detail agrees (a possible duplicate on the Spine itself). One unverified:
        // two people when the date of birth, given name or sex also differs (twins, parent and child).
        const level = (f: keyof typeof vector) => vector[f]?.level ?? 'missing';
        const allAgree =
          level('given') === 'exact' &&
          ['exact', 'squashed', 'previous'].includes(level('family')) &&
          level('birthDate') === 'exact' &&
          (level('postcode') === 'exact' || level('street') === 'exact');
        const bothVerified = incoming.nhsVerified === true && candidate.nhsVerified === true;
        const distinct = ['given', 'birthDate', 'sex'].some((f) => level(f as keyof typeof vector) === 'different');
        if (bothVerified && !allAgree) {
          decision = DECISIONS.new;
          guards.push(DIFFERENT_VERIFIED_NHS_NUMBERS);
        } else if (distinct) {
          decision = DECISIONS.new;
          guards.push(DIFFERENT_NHS_NUMBERS_AND_DETAILS);
        }
      } else if (vector.nhsNumber?.level === 'exact') {
        // The same valid NHS number. With a date of birth agreeing (exactly, day and month swapped, or one
        // digit), the same sex and compatible names it links, verified or not. A date of birth beyond that,
        // or a different sex, is a review with the reason, never a link: a wrong number (even one marked
        // verified) is a known wrong-patient hazard.
        const dob = vector.birthDate?.level ?? 'missing';
        const sex = vector.sex?.level ?? 'missing';
        // Compatible names: the given name not different (twins share a surname and a date of birth, and a
        // mistyped number can be the twin's); when the given name is missing, the family name not different.
        const given = vector.given?.level ?? 'missing';
        const namesCompatible = given !== 'different' && !(given === 'missing' && vector.family?.level === 'different');
        if (sex === 'different') {
          decision = capAtReview(decision);
          guards.push(NHS_NUMBER_SEX_DISAGREES);
        } else if (dob !== 'missing' && !NHS_AGREEING_BIRTH_DATE.has(dob)) {
          decision = capAtReview(decision);
          guards.push(NHS_NUMBER_BIRTH_DATE_DISAGREES);
        } else if (!namesCompatible) {
          decision = capAtReview(decision);
          guards.push(NHS_NUMBER_NAMES_DISAGREE);
        } else if (dob !== 'missing' && (vector.given?.level ?? 'missing') !== 'missing') {
          if (!guards.includes(CONFLICTING_NHS_NUMBERS)) decision = DECISIONS.link;
        } else if (
          decision === DECISIONS.link &&
          !(incoming.nhsVerified === true && candidate.nhsVerified === true) &&
          scorePair(model, withoutNhs(incoming), withoutNhs(candidate), tf).decision !== DECISIONS.link
        ) {
          // Not enough besides an unverified number: it may not carry the pair over the link threshold alone.
          decision = DECISIONS.review;
          guards.push(UNVERIFIED_NHS_NUMBER);
        }
      }
      return { score: out.score, decision, vector, guards };
    },
  };
}

/** Date-of-birth levels that agree with an NHS number: exact, a day/month swap, one digit, or partial. */
const NHS_AGREEING_BIRTH_DATE = new Set(['exact', 'day-month-swapped', 'one-edit', 'partial']);

function capAtReview(d: Decision): Decision {
  return d === DECISIONS.new ? DECISIONS.review : d === DECISIONS.link ? DECISIONS.review : d;
}

function withoutNhs(r: MatchRecord): MatchRecord {
  const { nhsNumber: _n, nhsVerified: _v, ...rest } = r;
  return rest;
}

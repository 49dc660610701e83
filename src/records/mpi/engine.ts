/**
 * The matching engine as the MPI use cases see it: a FHIR Patient to a match record, its blocking keys,
 * and the score, decision and comparison vector of a pair. `coreMatchEngine` builds it from the MPI core
 * (`src/mpi/`: normalise, blocking, Fellegi–Sunter, versioned rules); tests may pass their own.
 */
import type { FhirResource } from '../../fhir/types.ts';
import { blockingKeys } from '../../mpi/blocking.ts';
import { compileModel, explain, scorePair } from '../../mpi/fellegi-sunter.ts';
import { matchRecordFromPatient } from '../../mpi/normalise/patient.ts';
import type { MatchRules } from '../../mpi/rules/rules.ts';
import { DECISIONS, type Decision, type MatchRecord, type TermFrequencies } from '../../mpi/types.ts';

/** The guard named in a pair's explanation when an unverified NHS number alone would have linked it. */
export const UNVERIFIED_NHS_NUMBER = 'unverified-nhs-number';

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
  /** The normalised record of a source Patient; its `id` is the Patient's id. */
  record(patient: FhirResource & { id: string }): MatchRecord;
  blockingKeys(record: MatchRecord): string[];
  score(incoming: MatchRecord, candidate: MatchRecord): PairScore;
}

/** The MPI core's matcher under the given (validated) rules. */
export function coreMatchEngine(rules: MatchRules, tf?: TermFrequencies): MatchEngine {
  const model = compileModel(rules);
  return {
    ruleVersion: rules.version,
    thresholds: rules.thresholds,
    candidateLimit: rules.candidateLimit,
    maxBlockSize: rules.maxBlockSize,
    record(patient) {
      return matchRecordFromPatient(patient, { sourceId: patient.id });
    },
    blockingKeys(record) {
      return blockingKeys(rules, record);
    },
    score(incoming, candidate) {
      const out = scorePair(model, incoming, candidate, tf);
      const vector = explain(model, out.levels, out.weights);
      let decision = out.decision;
      const guards = [...out.guards];
      // An NHS number not verified on both sides is evidence, but it may not carry a pair over the link
      // threshold on its own: without it (weight and guards alike) the pair must still be a link.
      if (
        decision === DECISIONS.link &&
        vector.nhsNumber?.level === 'exact' &&
        !(incoming.nhsVerified === true && candidate.nhsVerified === true) &&
        scorePair(model, withoutNhs(incoming), withoutNhs(candidate), tf).decision !== DECISIONS.link
      ) {
        decision = DECISIONS.review;
        guards.push(UNVERIFIED_NHS_NUMBER);
      }
      return { score: out.score, decision, vector, guards };
    },
  };
}

function withoutNhs(r: MatchRecord): MatchRecord {
  const { nhsNumber: _n, nhsVerified: _v, ...rest } = r;
  return rest;
}

/**
 * Deciding what an incoming record is: a source record already held, a record of a known person (link),
 * a possible match for a data steward (review), or a new person.
 *
 * 1. Same source identifier: the same source record, always.
 * 2. A valid NHS number with PDS verification status 01 links directly to the one person already holding
 *    that verified number (several persons holding it → review).
 * 3. Otherwise Fellegi–Sunter over the blocked candidates, grouped by person. A person holding a different
 *    valid NHS number is never linked automatically; two persons both above the link threshold → review.
 */
import { blockingKeys } from './blocking.ts';
import {
  CONFLICTING_NHS_NUMBERS,
  type ComparisonVector,
  explain,
  type Model,
  type PairOutcome,
  scorePair,
} from './fellegi-sunter.ts';
import {
  type CandidateSource,
  DECISIONS,
  type Decision,
  MATCH_METHODS,
  type MatchMethod,
  type MatchRecord,
  type TermFrequencies,
} from './types.ts';

export interface ScoredCandidate {
  recordId: string;
  personId: string;
  score: number;
  decision: Decision;
  /** Guards and safety rules that capped this pair's decision. */
  guards: string[];
  vector: ComparisonVector;
}

export interface MatchResult {
  decision: Decision;
  method: MatchMethod;
  /** The person to link to (link, same-source-record) or the best candidate (review). */
  personId?: string;
  /** The rules version that made the decision; store it with the link. */
  ruleVersion: string;
  /** Score of the deciding pair (probabilistic only). */
  score?: number;
  /** Why the decision is what it is, e.g. `ambiguous: 2 persons above the link threshold`. */
  reasons: string[];
  /** Best pair per person, best first, at most `MAX_REPORTED` of them, each with its comparison vector. */
  candidates: ScoredCandidate[];
}

const MAX_REPORTED = 10;

/** The person key of a candidate record: its person, or the record itself while unlinked. */
function personOf(r: MatchRecord): string {
  return r.personId ?? r.id;
}

/** Decides for `incoming` against already-fetched `candidates` (pure; no I/O). */
export function decide(
  model: Model,
  incoming: MatchRecord,
  candidates: readonly MatchRecord[],
  tf?: TermFrequencies,
): MatchResult {
  const ruleVersion = model.rules.version;
  const same = candidates.find((c) => c.id === incoming.id);
  if (same) {
    return {
      decision: DECISIONS.sameSourceRecord,
      method: MATCH_METHODS.sourceIdentifier,
      personId: personOf(same),
      ruleVersion,
      reasons: ['same source record identifier'],
      candidates: [],
    };
  }

  if (incoming.nhsNumber !== undefined && incoming.nhsVerified === true) {
    const holders = new Set(
      candidates.filter((c) => c.nhsNumber === incoming.nhsNumber && c.nhsVerified === true).map(personOf),
    );
    if (holders.size === 1) {
      const [personId] = holders;
      return {
        decision: DECISIONS.link,
        method: MATCH_METHODS.nhsNumber,
        personId,
        ruleVersion,
        reasons: ['verified NHS number held by one person'],
        candidates: [],
      };
    }
    if (holders.size > 1) {
      return {
        decision: DECISIONS.review,
        method: MATCH_METHODS.nhsNumber,
        ruleVersion,
        reasons: [`verified NHS number held by ${holders.size} persons`],
        candidates: [],
      };
    }
  }

  // Best pair per person; any record of a person with a different valid NHS number caps the person.
  const best = new Map<string, { candidate: MatchRecord; pair: PairOutcome }>();
  const conflicted = new Set<string>();
  for (const c of candidates) {
    const person = personOf(c);
    if (incoming.nhsNumber !== undefined && c.nhsNumber !== undefined && c.nhsNumber !== incoming.nhsNumber) {
      conflicted.add(person);
    }
    const pair = scorePair(model, incoming, c, tf);
    const prev = best.get(person);
    if (prev === undefined || pair.score > prev.pair.score) best.set(person, { candidate: c, pair });
  }
  for (const person of conflicted) {
    const s = best.get(person)?.pair;
    if (s && s.decision === DECISIONS.link) s.decision = DECISIONS.review;
    if (s && !s.guards.includes(CONFLICTING_NHS_NUMBERS)) s.guards.push(CONFLICTING_NHS_NUMBERS);
  }
  // Only the reported candidates get their explanation built.
  const ranked = [...best.entries()]
    .sort((x, y) => y[1].pair.score - x[1].pair.score)
    .map(([person, { candidate, pair }], i): ScoredCandidate => ({
      recordId: candidate.id,
      personId: person,
      score: Math.round(pair.score * 1000) / 1000,
      decision: pair.decision,
      guards: pair.guards,
      vector: i < MAX_REPORTED ? explain(model, pair.levels, pair.weights) : {},
    }));
  const reported = ranked.slice(0, MAX_REPORTED);
  const top = ranked[0];
  if (top === undefined) {
    return {
      decision: DECISIONS.new,
      method: MATCH_METHODS.none,
      ruleVersion,
      reasons: ['no candidates'],
      candidates: [],
    };
  }
  const linkable = ranked.filter((c) => c.decision === DECISIONS.link);
  if (linkable.length > 1) {
    return {
      decision: DECISIONS.review,
      method: MATCH_METHODS.probabilistic,
      personId: top.personId,
      score: top.score,
      ruleVersion,
      reasons: [`ambiguous: ${linkable.length} persons above the link threshold`],
      candidates: reported,
    };
  }
  const reviewable = ranked.find((c) => c.decision !== DECISIONS.new);
  const chosen = linkable[0] ?? reviewable;
  if (chosen === undefined) {
    return {
      decision: DECISIONS.new,
      method: MATCH_METHODS.probabilistic,
      score: top.score,
      ruleVersion,
      reasons: ['no candidate reaches the review threshold'],
      candidates: reported,
    };
  }
  return {
    decision: chosen.decision,
    method: MATCH_METHODS.probabilistic,
    personId: chosen.personId,
    score: chosen.score,
    ruleVersion,
    reasons: chosen.guards.length > 0 ? chosen.guards.map((g) => `capped by ${g}`) : [],
    candidates: reported,
  };
}

/** Blocking, candidate fetch and decision in one call. */
export class Matcher {
  readonly model: Model;
  readonly #source: CandidateSource;
  readonly #tf: TermFrequencies | undefined;

  constructor(model: Model, source: CandidateSource, tf?: TermFrequencies) {
    this.model = model;
    this.#source = source;
    this.#tf = tf;
  }

  keys(record: MatchRecord): string[] {
    return blockingKeys(this.model.rules, record);
  }

  async match(record: MatchRecord): Promise<MatchResult> {
    const candidates = await this.#source.candidates(this.keys(record), this.model.rules.candidateLimit);
    return decide(this.model, record, candidates, this.#tf);
  }

  /** The same, for a candidate source that answers synchronously (the in-memory index). */
  matchSync(record: MatchRecord): MatchResult {
    const candidates = this.#source.candidates(this.keys(record), this.model.rules.candidateLimit);
    if (candidates instanceof Promise) throw new TypeError('matchSync needs a synchronous candidate source');
    return decide(this.model, record, candidates, this.#tf);
  }
}

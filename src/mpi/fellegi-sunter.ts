/**
 * Fellegi–Sunter scoring. Each field's comparison falls into one level; the level carries m (chance of
 * that level when the records are the same person) and u (when they are not); the field's weight is
 * log2(m/u) and the pair's score is the sum. A field missing from either record scores 0. Exact agreement
 * on a term-frequency field is adjusted by how common the value is. Guards then cap the decision a pair
 * may get (e.g. a different date of birth never auto-links), and two different valid NHS numbers are
 * never linked automatically, whatever the rules say.
 */
import { compilePairTest, type PairTest } from './compare/level-tests.ts';
import type { GuardDecision, MatchRules } from './rules/rules.ts';
import { DECISIONS, type Decision, type MatchField, type MatchRecord, type TermFrequencies } from './types.ts';

/** Level index per field, in rules order; MISSING when either record lacks the field. */
export type LevelVector = Int8Array;
export const MISSING = -1;

export interface CompiledLevel {
  name: string;
  m: number;
  u: number;
  weight: number;
  test: PairTest;
  /** True for a plain `exact` test: the level that term frequencies adjust. */
  exact: boolean;
  /** The largest weight of this level and the ones after it (the most the field can give once the ones before fail). */
  restMax: number;
}

export interface CompiledField {
  field: MatchField;
  termFrequency: boolean;
  levels: CompiledLevel[];
  /** The largest weight any of its levels gives (what the field can add at best when present in both). */
  maxWeight: number;
  /** Rough cost of finding its level (string similarity is dear, equality cheap): screening order. */
  cost: number;
}

interface CompiledGuard {
  name: string;
  maxDecision: GuardDecision;
  when: Array<{ field: number; levels: Set<number> }>;
  unless: Array<{ field: number; levels: Set<number> }>;
}

export interface Model {
  rules: MatchRules;
  fields: CompiledField[];
  guards: CompiledGuard[];
  /** Field indexes, cheapest comparison first (`canReach`). */
  screenOrder: number[];
}

/** One field's part of a decision, as stored with the link: level name and weight. */
export interface FieldComparison {
  level: string;
  weight: number;
}
/** The comparison vector that explains a decision: one entry per compared field. */
export type ComparisonVector = Partial<Record<MatchField, FieldComparison>>;

export interface PairOutcome {
  score: number;
  decision: Decision;
  levels: LevelVector;
  weights: Float64Array;
  /** Names of the guards (and built-in safety rules) that capped the decision. */
  guards: string[];
}

/** The built-in rule no rules file can switch off. */
export const CONFLICTING_NHS_NUMBERS = 'conflicting-nhs-numbers';

/** Relative cost of one level test (screening order only; it never changes a result). */
const TEST_COST: Partial<Record<string, number>> = { jaroWinkler: 8, editDistance: 5 };

export function compileModel(rules: MatchRules): Model {
  const fields = rules.fields.map((f) => {
    const levels = f.levels.map((l) => ({
      name: l.name,
      m: l.m,
      u: l.u,
      weight: Math.log2(l.m / l.u),
      test: compilePairTest(f.field, l.test),
      exact: l.test.kind === 'exact' && l.test.against === undefined,
      restMax: -Infinity,
    }));
    for (let j = levels.length - 1, most = -Infinity; j >= 0; j--) {
      const level = levels[j] as CompiledLevel;
      most = Math.max(most, level.weight);
      level.restMax = most;
    }
    return {
      field: f.field,
      termFrequency: f.termFrequency === true,
      levels,
      maxWeight: Math.max(...levels.map((l) => l.weight)),
      cost: f.levels.reduce((sum, l) => sum + (TEST_COST[l.test.kind] ?? (l.test.kind === 'exact' ? 1 : 3)), 0),
    };
  });
  const screenOrder = fields.map((_, i) => i).sort((x, y) => (fields[x]?.cost ?? 0) - (fields[y]?.cost ?? 0) || x - y);
  const indexOf = (field: MatchField): number => fields.findIndex((f) => f.field === field);
  const conditions = (list: MatchRules['guards'][number]['when'] | undefined) =>
    (list ?? []).map((c) => {
      const field = indexOf(c.field);
      const levels = new Set(
        c.levels.map((name) =>
          name === 'missing' ? MISSING : (fields[field]?.levels.findIndex((l) => l.name === name) ?? MISSING),
        ),
      );
      return { field, levels };
    });
  const guards = rules.guards.map((g) => ({
    name: g.name,
    maxDecision: g.maxDecision,
    when: conditions(g.when),
    unless: conditions(g.unless),
  }));
  return { rules, fields, guards, screenOrder };
}

/** The level of one field present in both records: the first whose test passes, else the last. */
function levelOf(f: CompiledField, a: MatchRecord, b: MatchRecord): number {
  for (let j = 0; j < f.levels.length - 1; j++) if ((f.levels[j] as CompiledLevel).test(a, b)) return j;
  return f.levels.length - 1;
}

/** The level of every field for a pair of records. */
export function compareRecords(model: Model, a: MatchRecord, b: MatchRecord): LevelVector {
  const out = new Int8Array(model.fields.length);
  for (let i = 0; i < model.fields.length; i++) {
    const f = model.fields[i] as CompiledField;
    out[i] = a[f.field] === undefined || b[f.field] === undefined ? MISSING : levelOf(f, a, b);
  }
  return out;
}

/**
 * False when the pair's score (without term-frequency adjustments) is certainly below `floor`; true when it
 * may reach it. The fields are compared cheapest first, and the comparison stops as soon as the most the
 * fields not yet compared could add cannot lift the score to `floor`: most candidates of a large block are
 * told apart by date of birth, sex and postcode before any string similarity is computed. It never says
 * false for a pair `scorePair` scores at or above `floor` (the same levels and weights).
 */
export function canReach(model: Model, a: MatchRecord, b: MatchRecord, floor: number): boolean {
  // Rounding: the running bound is a difference of sums, so allow for a few ulps.
  const target = floor - 1e-9;
  let bound = 0;
  for (const f of model.fields) if (a[f.field] !== undefined && b[f.field] !== undefined) bound += f.maxWeight;
  if (bound < target) return false;
  for (const i of model.screenOrder) {
    const f = model.fields[i] as CompiledField;
    if (a[f.field] === undefined || b[f.field] === undefined) continue;
    // The field's levels in order, stopping as soon as the best of those left cannot reach the floor: the
    // field gives the weight of the first level that passes, so at most the largest weight from there on.
    const others = bound - f.maxWeight;
    const levels = f.levels;
    let weight = (levels[levels.length - 1] as CompiledLevel).weight;
    for (let j = 0; j < levels.length - 1; j++) {
      const level = levels[j] as CompiledLevel;
      if (others + level.restMax < target) return false;
      if (level.test(a, b)) {
        weight = level.weight;
        break;
      }
    }
    bound = others + weight;
    if (bound < target) return false;
  }
  return true;
}

/** Field weights for a level vector, with the term-frequency adjustment when frequencies are given. */
export function weighVector(
  model: Model,
  levels: LevelVector,
  a: MatchRecord,
  tf?: TermFrequencies,
): { score: number; weights: Float64Array } {
  const weights = new Float64Array(levels.length);
  let score = 0;
  for (let i = 0; i < levels.length; i++) {
    const lv = levels[i] as number;
    if (lv === MISSING) continue;
    const f = model.fields[i] as CompiledField;
    const level = f.levels[lv] as CompiledLevel;
    let w = level.weight;
    if (tf !== undefined && f.termFrequency && level.exact) w += termFrequencyAdjustment(model, f.field, a, tf);
    weights[i] = w;
    score += w;
  }
  return { score, weights };
}

/**
 * log2(chance two random records agree on the field / share of records with this value), capped:
 * agreeing on a rare surname says more than agreeing on a common one.
 */
function termFrequencyAdjustment(model: Model, field: MatchField, a: MatchRecord, tf: TermFrequencies): number {
  const value = a[field];
  if (value === undefined || typeof value !== 'string') return 0;
  const freq = tf.frequency(field, value);
  const random = tf.randomAgreement(field);
  if (freq === undefined || random === undefined || freq <= 0 || random <= 0) return 0;
  const cap = model.rules.termFrequencyCap;
  return Math.max(-cap, Math.min(cap, Math.log2(random / freq)));
}

/** Score, decision and explanation for one pair. */
export function scorePair(model: Model, a: MatchRecord, b: MatchRecord, tf?: TermFrequencies): PairOutcome {
  const levels = compareRecords(model, a, b);
  const { score, weights } = weighVector(model, levels, a, tf);
  const { decision, guards } = classify(model, score, levels, a, b);
  return { score, decision, levels, weights, guards };
}

/** Thresholds first, then guards, then the built-in NHS number rule. */
export function classify(
  model: Model,
  score: number,
  levels: LevelVector,
  a: MatchRecord,
  b: MatchRecord,
): { decision: Decision; guards: string[] } {
  const { link, review } = model.rules.thresholds;
  let decision: Decision = score >= link ? DECISIONS.link : score >= review ? DECISIONS.review : DECISIONS.new;
  const guards: string[] = [];
  if (decision === DECISIONS.new) return { decision, guards };
  for (const g of model.guards) {
    if (!g.when.every((c) => c.levels.has(levels[c.field] ?? MISSING))) continue;
    if (g.unless.some((c) => c.levels.has(levels[c.field] ?? MISSING))) continue;
    guards.push(g.name);
    decision = capDecision(decision, g.maxDecision);
  }
  if (a.nhsNumber !== undefined && b.nhsNumber !== undefined && a.nhsNumber !== b.nhsNumber) {
    guards.push(CONFLICTING_NHS_NUMBERS);
    decision = capDecision(decision, DECISIONS.review);
  }
  return { decision, guards };
}

function capDecision(decision: Decision, max: GuardDecision): Decision {
  if (max === DECISIONS.new) return DECISIONS.new;
  return decision === DECISIONS.link ? DECISIONS.review : decision;
}

/** The stored explanation: level name and weight of every field present in both records. */
export function explain(model: Model, levels: LevelVector, weights: Float64Array): ComparisonVector {
  const out: ComparisonVector = {};
  for (let i = 0; i < levels.length; i++) {
    const f = model.fields[i] as CompiledField;
    const lv = levels[i] as number;
    out[f.field] =
      lv === MISSING
        ? { level: 'missing', weight: 0 }
        : { level: (f.levels[lv] as CompiledLevel).name, weight: round3(weights[i] ?? 0) };
  }
  return out;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

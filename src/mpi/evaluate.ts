/**
 * Evaluation of the matcher on labelled data (FEBRL). The matching sees only the records; the true
 * entity of each record (from its id) is used afterwards, to score the links made.
 *
 * Dedup (one file): every record is indexed, each record's candidates are fetched through the blocking
 * keys, and each unordered candidate pair is scored once. Linkage (two files): the first file is indexed
 * and each record of the second is matched against it. EM re-estimates m and u from the candidate pairs
 * (unsupervised) unless switched off. Links are the pairs whose decision is `link`.
 */
import { InMemoryCandidateIndex, blockingKeys } from './blocking.ts';
import { estimateParameters } from './em.ts';
import { classify, compareRecords, compileModel, type LevelVector, weighVector } from './fellegi-sunter.ts';
import { febrlEntity } from './febrl.ts';
import type { MatchRules } from './rules/rules.ts';
import { TermFrequencyTable } from './term-frequency.ts';
import { DECISIONS, type MatchRecord } from './types.ts';

export interface EvaluateOptions {
  /** Re-estimate m and u by EM on the candidate pairs (default true). */
  em?: boolean;
  /** Adjust exact agreement on term-frequency fields by value frequency (default true). */
  termFrequency?: boolean;
  /** The true entity of a record id (default: the FEBRL `rec-<N>-` convention). */
  entityOf?: (recordId: string) => string | undefined;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface Metrics {
  pairs: number;
  truePositives: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface EvaluationReport {
  mode: 'dedup' | 'linkage';
  records: number;
  truePairs: number;
  totalPairs: number;
  candidatePairs: number;
  reductionRatio: number;
  /** Share of the true pairs that blocking put among the candidates (the recall ceiling). */
  pairsCompleteness: number;
  links: number;
  reviews: number;
  precision: number;
  recall: number;
  f1: number;
  /** Dedup only: clusters from the transitive closure of the links, scored as pairs. */
  clusters?: { count: number } & Metrics;
  ruleVersion: string;
  em?: { lambda: number; iterations: number; converged: boolean };
  seconds: number;
}

export interface Evaluation {
  report: EvaluationReport;
  /** Every linked pair, as record ids (first file first in linkage mode). */
  links: Array<[string, string]>;
}

export function evaluate(
  rules: MatchRules,
  first: readonly MatchRecord[],
  second: readonly MatchRecord[] | undefined,
  options: EvaluateOptions = {},
): Evaluation {
  const started = performance.now();
  const entityOf = options.entityOf ?? febrlEntity;
  const progress = options.onProgress ?? (() => {});
  const linkage = second !== undefined;
  const queries = linkage ? second : first;

  // 1. Index the first file; collect candidate pairs through the blocking keys.
  const index = new InMemoryCandidateIndex(rules);
  const ordinal = new Map<string, number>();
  first.forEach((r, i) => {
    index.add(r);
    ordinal.set(r.id, i);
  });
  const pairSet = new Set<number>();
  const pairs: Array<[number, number]> = [];
  const n = first.length;
  queries.forEach((q, qi) => {
    for (const c of index.candidates(blockingKeys(rules, q), rules.candidateLimit)) {
      const ci = ordinal.get(c.id) as number;
      if (!linkage && ci === qi) continue;
      const [x, y] = linkage ? [ci, qi] : ci < qi ? [ci, qi] : [qi, ci];
      const key = x * (linkage ? queries.length : n) + y;
      if (pairSet.has(key)) continue;
      pairSet.add(key);
      pairs.push([x, y]);
    }
    if (qi % 500 === 0) progress('blocking', qi, queries.length);
  });
  const left = (p: [number, number]): MatchRecord => first[p[0]] as MatchRecord;
  const right = (p: [number, number]): MatchRecord => (linkage ? second : first)[p[1]] as MatchRecord;

  // 2. Comparison vectors; EM on them (no truth involved).
  let model = compileModel(rules);
  const vectors: LevelVector[] = pairs.map((p) => compareRecords(model, left(p), right(p)));
  progress('comparing', pairs.length, pairs.length);
  let em: EvaluationReport['em'];
  if (options.em !== false && pairs.length > 0) {
    const est = estimateParameters(model, vectors);
    model = compileModel(est.rules);
    em = { lambda: round(est.lambda), iterations: est.iterations, converged: est.converged };
  }

  // 3. Score and decide.
  let tf: TermFrequencyTable | undefined;
  if (options.termFrequency !== false) {
    tf = new TermFrequencyTable(rules.fields.filter((f) => f.termFrequency).map((f) => f.field));
    for (const r of first) tf.add(r);
    if (linkage) for (const r of second) tf.add(r);
  }
  const linked: Array<[number, number]> = [];
  let reviews = 0;
  pairs.forEach((p, i) => {
    const a = left(p);
    const b = right(p);
    const levels = vectors[i] as LevelVector;
    const { score } = weighVector(model, levels, a, tf);
    const { decision } = classify(model, score, levels, a, b);
    if (decision === DECISIONS.link) linked.push(p);
    else if (decision === DECISIONS.review) reviews++;
  });

  // 4. Score against the truth.
  const entityCounts = (records: readonly MatchRecord[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const r of records) {
      const e = entityOf(r.id);
      if (e !== undefined) m.set(e, (m.get(e) ?? 0) + 1);
    }
    return m;
  };
  const countsA = entityCounts(first);
  let truePairs = 0;
  if (linkage) {
    for (const [e, c] of entityCounts(second)) truePairs += c * (countsA.get(e) ?? 0);
  } else {
    for (const c of countsA.values()) truePairs += (c * (c - 1)) / 2;
  }
  const isTrue = (p: [number, number]): boolean => {
    const e = entityOf(left(p).id);
    return e !== undefined && e === entityOf(right(p).id);
  };
  const candidateTrue = pairs.filter(isTrue).length;
  const metrics = pairMetrics(linked.length, linked.filter(isTrue).length, truePairs);
  const totalPairs = linkage ? first.length * second.length : (n * (n - 1)) / 2;

  const report: EvaluationReport = {
    mode: linkage ? 'linkage' : 'dedup',
    records: first.length + (second?.length ?? 0),
    truePairs,
    totalPairs,
    candidatePairs: pairs.length,
    reductionRatio: round(1 - pairs.length / Math.max(1, totalPairs), 6),
    pairsCompleteness: round(truePairs === 0 ? 1 : candidateTrue / truePairs),
    links: linked.length,
    reviews,
    precision: metrics.precision,
    recall: metrics.recall,
    f1: metrics.f1,
    ruleVersion: model.rules.version,
    seconds: 0,
  };
  if (!linkage) report.clusters = clusterMetrics(first, linked, truePairs, entityOf);
  if (em) report.em = em;
  report.seconds = round((performance.now() - started) / 1000, 3);
  return { report, links: linked.map((p) => [left(p).id, right(p).id]) };
}

function pairMetrics(pairs: number, truePositives: number, truePairs: number): Metrics {
  const precision = pairs === 0 ? 1 : truePositives / pairs;
  const recall = truePairs === 0 ? 1 : truePositives / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { pairs, truePositives, precision: round(precision), recall: round(recall), f1: round(f1) };
}

/** Union–find over the links; every pair inside a cluster counts as linked. */
function clusterMetrics(
  records: readonly MatchRecord[],
  links: ReadonlyArray<[number, number]>,
  truePairs: number,
  entityOf: (id: string) => string | undefined,
): { count: number } & Metrics {
  const parent = records.map((_, i) => i);
  const find = (x: number): number => {
    let r = x;
    while (parent[r] !== r) r = parent[r] as number;
    while (parent[x] !== r) {
      const next = parent[x] as number;
      parent[x] = r;
      x = next;
    }
    return r;
  };
  for (const [a, b] of links) parent[find(a)] = find(b);
  const clusters = new Map<number, Map<string, number>>();
  records.forEach((r, i) => {
    const root = find(i);
    const byEntity = clusters.get(root) ?? new Map<string, number>();
    const e = entityOf(r.id) ?? `?${i}`;
    byEntity.set(e, (byEntity.get(e) ?? 0) + 1);
    clusters.set(root, byEntity);
  });
  let pairs = 0;
  let tp = 0;
  for (const byEntity of clusters.values()) {
    let size = 0;
    for (const c of byEntity.values()) {
      size += c;
      tp += (c * (c - 1)) / 2;
    }
    pairs += (size * (size - 1)) / 2;
  }
  return { count: clusters.size, ...pairMetrics(pairs, tp, truePairs) };
}

function round(x: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

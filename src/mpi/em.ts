/**
 * Expectation–maximisation for Fellegi–Sunter parameters (Winkler 1988; Jaro 1989): from the comparison
 * vectors of candidate pairs alone (no truth), estimate the share of pairs that match (lambda) and each
 * level's m and u, assuming fields are independent given match status. Missing fields take no part.
 * Identical vectors are grouped first, so a run over 100,000 pairs costs a few thousand patterns.
 */
import { type LevelVector, MISSING, type Model } from './fellegi-sunter.ts';
import type { MatchRules } from './rules/rules.ts';

export interface EmOptions {
  maxIterations?: number;
  /** Stop when no parameter moves by more than this. */
  tolerance?: number;
  /** Keep the configured u probabilities and estimate only m (and lambda). */
  fixU?: boolean;
  /** Starting share of matching pairs among candidates. */
  initialLambda?: number;
}

export interface EmResult {
  rules: MatchRules;
  lambda: number;
  iterations: number;
  converged: boolean;
}

const FLOOR = 1e-6;

export function estimateParameters(model: Model, vectors: readonly LevelVector[], options: EmOptions = {}): EmResult {
  const maxIterations = options.maxIterations ?? 100;
  const tolerance = options.tolerance ?? 1e-5;
  const patterns = new Map<string, { levels: LevelVector; count: number }>();
  for (const v of vectors) {
    const key = v.join(',');
    const hit = patterns.get(key);
    if (hit) hit.count++;
    else patterns.set(key, { levels: v, count: 1 });
  }
  const groups = [...patterns.values()];
  const m = model.fields.map((f) => f.levels.map((l) => l.m));
  const u = model.fields.map((f) => f.levels.map((l) => l.u));
  let lambda = options.initialLambda ?? 0.1;
  let iterations = 0;
  let converged = false;

  while (iterations < maxIterations && !converged) {
    iterations++;
    const mSum = m.map((row) => row.map(() => FLOOR));
    const uSum = u.map((row) => row.map(() => FLOOR));
    let matchMass = 0;
    let total = 0;
    for (const { levels, count } of groups) {
      let pm = lambda;
      let pu = 1 - lambda;
      for (let i = 0; i < levels.length; i++) {
        const lv = levels[i] as number;
        if (lv === MISSING) continue;
        pm *= m[i]?.[lv] ?? 1;
        pu *= u[i]?.[lv] ?? 1;
      }
      const p = pm / (pm + pu);
      matchMass += p * count;
      total += count;
      for (let i = 0; i < levels.length; i++) {
        const lv = levels[i] as number;
        if (lv === MISSING) continue;
        (mSum[i] as number[])[lv] = ((mSum[i] as number[])[lv] ?? 0) + p * count;
        (uSum[i] as number[])[lv] = ((uSum[i] as number[])[lv] ?? 0) + (1 - p) * count;
      }
    }
    let delta = 0;
    const update = (target: number[][], sums: number[][]): void => {
      sums.forEach((row, i) => {
        const sum = row.reduce((s, x) => s + x, 0);
        row.forEach((x, j) => {
          const next = clamp(x / sum);
          delta = Math.max(delta, Math.abs(next - (target[i]?.[j] ?? 0)));
          (target[i] as number[])[j] = next;
        });
      });
    };
    update(m, mSum);
    if (!options.fixU) update(u, uSum);
    const nextLambda = total === 0 ? lambda : clamp(matchMass / total);
    delta = Math.max(delta, Math.abs(nextLambda - lambda));
    lambda = nextLambda;
    converged = delta < tolerance;
  }

  const rules: MatchRules = {
    ...model.rules,
    version: `${model.rules.version}+em`,
    fields: model.rules.fields.map((f, i) => ({
      ...f,
      levels: f.levels.map((l, j) => ({ ...l, m: round6(m[i]?.[j] ?? l.m), u: round6(u[i]?.[j] ?? l.u) })),
    })),
  };
  return { rules, lambda, iterations, converged };
}

function clamp(p: number): number {
  return Math.min(1 - FLOOR, Math.max(FLOOR, p));
}

function round6(p: number): number {
  return clamp(Number(p.toPrecision(6)));
}

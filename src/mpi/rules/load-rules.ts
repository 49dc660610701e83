/**
 * Reads and validates a rules file. Every problem names the JSON path at fault, so a steward editing the
 * file learns exactly what to fix; nothing is defaulted silently except documented optional fields.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { IcrError } from '../../shared/errors.ts';
import { MATCH_FIELDS, type MatchField } from '../types.ts';
import {
  GUARD_DECISIONS,
  LEVEL_TEST_KINDS,
  TRANSFORMS,
  type BlockingKeySpec,
  type FieldSpec,
  type GuardCondition,
  type GuardSpec,
  type LevelSpec,
  type MatchRules,
} from './rules.ts';

export const DEFAULT_RULES_PATH = fileURLToPath(new URL('./default-rules.v3.json', import.meta.url));

/** The rules in `path` (default: the bundled `default-rules.v3.json`), validated. */
export function loadRules(path: string = DEFAULT_RULES_PATH): MatchRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new IcrError('ICR_MPI_RULES_INVALID', `${path}: cannot read the rules file`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new IcrError('ICR_MPI_RULES_INVALID', `${path}: not valid JSON (${(cause as Error).message})`);
  }
  return validateRules(json, path);
}

export function validateRules(json: unknown, source = 'rules'): MatchRules {
  const problems: string[] = [];
  const fail = (where: string, what: string): void => void problems.push(`${where} ${what}`);
  const r = asObject(json);
  if (!r) throw new IcrError('ICR_MPI_RULES_INVALID', `${source}: the rules must be a JSON object`);

  if (typeof r.version !== 'string' || r.version === '') fail('version', 'must be a non-empty string');
  const th = asObject(r.thresholds);
  if (!th || !isNum(th.link) || !isNum(th.review)) fail('thresholds', 'must hold numbers link and review');
  else if (th.review > th.link) fail('thresholds.review', 'must not be above thresholds.link');
  if (!isPosInt(r.candidateLimit)) fail('candidateLimit', 'must be a positive integer');
  if (!isPosInt(r.maxBlockSize)) fail('maxBlockSize', 'must be a positive integer');
  if (!isNum(r.termFrequencyCap) || r.termFrequencyCap < 0) fail('termFrequencyCap', 'must be a number >= 0');
  if (r.otherIdSystem !== undefined && (typeof r.otherIdSystem !== 'string' || r.otherIdSystem === ''))
    fail('otherIdSystem', 'must be a non-empty string (an identifier system)');

  const fieldLevels = new Map<MatchField, Set<string>>();
  if (!Array.isArray(r.fields) || r.fields.length === 0) fail('fields', 'must be a non-empty array');
  else r.fields.forEach((f, i) => checkField(f, `fields[${i}]`, fail, fieldLevels));

  if (!Array.isArray(r.blocking) || r.blocking.length === 0) fail('blocking', 'must be a non-empty array');
  else {
    const names = new Set<string>();
    r.blocking.forEach((b, i) => checkBlocking(b, `blocking[${i}]`, fail, names));
  }

  if (r.guards !== undefined && !Array.isArray(r.guards)) fail('guards', 'must be an array');
  else (r.guards ?? []).forEach((g: unknown, i: number) => checkGuard(g, `guards[${i}]`, fail, fieldLevels));

  if (problems.length > 0) {
    throw new IcrError('ICR_MPI_RULES_INVALID', `${source}: invalid rules: ${problems.join('; ')}`, {
      details: problems.map((message) => ({ message })),
    });
  }
  return { guards: [], ...r } as unknown as MatchRules;
}

type Fail = (where: string, what: string) => void;

function checkField(value: unknown, at: string, fail: Fail, seen: Map<MatchField, Set<string>>): void {
  const f = asObject(value) as Partial<FieldSpec> | undefined;
  if (!f) return fail(at, 'must be an object');
  if (!isField(f.field)) return fail(`${at}.field`, `must be one of ${MATCH_FIELDS.join(', ')}`);
  if (seen.has(f.field)) fail(`${at}.field`, `compares ${f.field} a second time`);
  if (f.termFrequency !== undefined && typeof f.termFrequency !== 'boolean')
    fail(`${at}.termFrequency`, 'must be boolean');
  const names = new Set<string>();
  seen.set(f.field, names);
  if (!Array.isArray(f.levels) || f.levels.length < 2) return fail(`${at}.levels`, 'must hold at least two levels');
  f.levels.forEach((l: unknown, j: number) => {
    const where = `${at}.levels[${j}]`;
    const level = asObject(l) as Partial<LevelSpec> | undefined;
    if (!level) return fail(where, 'must be an object');
    if (typeof level.name !== 'string' || level.name === '' || level.name === 'missing') {
      fail(`${where}.name`, 'must be a non-empty string other than "missing"');
    } else if (names.has(level.name)) fail(`${where}.name`, `repeats ${level.name}`);
    else names.add(level.name);
    for (const p of ['m', 'u'] as const) {
      const v = level[p];
      if (!isNum(v) || v <= 0 || v >= 1) fail(`${where}.${p}`, 'must be a probability strictly between 0 and 1');
    }
    const test = asObject(level.test);
    if (!test || !LEVEL_TEST_KINDS.includes(test.kind as never)) {
      return fail(`${where}.test.kind`, `must be one of ${LEVEL_TEST_KINDS.join(', ')}`);
    }
    if (test.kind === 'jaroWinkler' && !(isNum(test.min) && test.min > 0 && test.min <= 1)) {
      fail(`${where}.test.min`, 'must be a similarity in (0, 1]');
    }
    if (test.kind === 'editDistance' && !isPosInt(test.max)) fail(`${where}.test.max`, 'must be a positive integer');
    if (test.against !== undefined && !isField(test.against)) fail(`${where}.test.against`, 'must be a field name');
    const last = j === (f.levels?.length ?? 0) - 1;
    if (last !== (test.kind === 'else')) fail(`${where}.test.kind`, 'else must be the last level, and only the last');
  });
}

function checkBlocking(value: unknown, at: string, fail: Fail, names: Set<string>): void {
  const b = asObject(value) as Partial<BlockingKeySpec> | undefined;
  if (!b) return fail(at, 'must be an object');
  if (typeof b.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(b.name)) fail(`${at}.name`, 'must be a kebab-case name');
  else if (names.has(b.name) || b.name === 'src' || b.name === 'nhs') fail(`${at}.name`, `${b.name} is taken`);
  else names.add(b.name);
  if (!Array.isArray(b.parts) || b.parts.length === 0) return fail(`${at}.parts`, 'must be a non-empty array');
  b.parts.forEach((p: unknown, j: number) => {
    const part = asObject(p);
    if (!part || !isField(part.field)) return fail(`${at}.parts[${j}].field`, 'must be a field name');
    if (part.transform !== undefined && !TRANSFORMS.includes(part.transform as never)) {
      fail(`${at}.parts[${j}].transform`, `must be one of ${TRANSFORMS.join(', ')}`);
    }
    if (part.transform === 'prefix' && !isPosInt(part.length))
      fail(`${at}.parts[${j}].length`, 'must be a positive integer');
  });
}

function checkGuard(value: unknown, at: string, fail: Fail, fields: Map<MatchField, Set<string>>): void {
  const g = asObject(value) as Partial<GuardSpec> | undefined;
  if (!g) return fail(at, 'must be an object');
  if (typeof g.name !== 'string' || g.name === '') fail(`${at}.name`, 'must be a non-empty string');
  if (!GUARD_DECISIONS.includes(g.maxDecision as never))
    fail(`${at}.maxDecision`, `must be one of ${GUARD_DECISIONS.join(', ')}`);
  const checkConditions = (list: unknown, where: string, required: boolean): void => {
    if (list === undefined && !required) return;
    if (!Array.isArray(list) || list.length === 0) return fail(where, 'must be a non-empty array');
    list.forEach((c: unknown, j: number) => {
      const cond = asObject(c) as Partial<GuardCondition> | undefined;
      const levels = cond && isField(cond.field) ? fields.get(cond.field) : undefined;
      if (!cond || !levels) return fail(`${where}[${j}].field`, 'must be a field compared in fields');
      if (!Array.isArray(cond.levels) || cond.levels.length === 0)
        return fail(`${where}[${j}].levels`, 'must be a non-empty array');
      for (const l of cond.levels) {
        if (l !== 'missing' && !levels.has(l)) fail(`${where}[${j}].levels`, `names unknown level ${String(l)}`);
      }
    });
  };
  checkConditions(g.when, `${at}.when`, true);
  checkConditions(g.unless, `${at}.unless`, false);
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isPosInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}
function isField(v: unknown): v is MatchField {
  return typeof v === 'string' && (MATCH_FIELDS as readonly string[]).includes(v);
}

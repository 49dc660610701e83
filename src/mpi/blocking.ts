/**
 * Blocking keys and the candidate index. A record gets one key per blocking rule whose parts are all
 * present (`dob:1956|0409`, `names:GRN|MXL`), plus two built-in keys: `src:` (its own source record id)
 * and `nhs:` (its NHS number). A new record is compared only with records sharing a key, so a match never
 * scans everyone. The keys are plain strings so the index can live in a `person_block(key, person_id)`
 * table; `InMemoryCandidateIndex` is the in-memory implementation used by tests, evaluation and the bench.
 */
import { phoneticKey } from './compare/phonetic.ts';
import { isRealDate } from './normalise/date.ts';
import type { BlockingPart, MatchRules } from './rules/rules.ts';
import type { CandidateSource, MatchRecord } from './types.ts';

export const SOURCE_KEY_PREFIX = 'src:';
export const NHS_KEY_PREFIX = 'nhs:';

/** Every blocking key of a record under `rules`, without repeats. */
export function blockingKeys(rules: MatchRules, record: MatchRecord): string[] {
  const keys = [SOURCE_KEY_PREFIX + record.id];
  if (record.nhsNumber !== undefined) keys.push(NHS_KEY_PREFIX + record.nhsNumber);
  addKeys(rules.blocking, record, keys);
  // A former family name (marriage, a change back) keys the record too, so the old name still finds it.
  const withFamily = rules.blocking.filter((spec) => spec.parts.some((p) => p.field === 'family'));
  for (const former of record.formerFamilies ?? []) addKeys(withFamily, { ...record, family: former }, keys);
  return keys;
}

function addKeys(specs: MatchRules['blocking'], record: MatchRecord, keys: string[]): void {
  for (const spec of specs) {
    const values: string[] = [];
    for (const part of spec.parts) {
      const v = partValue(part, record);
      if (v === undefined || v === '') break;
      values.push(v);
    }
    if (values.length !== spec.parts.length) continue;
    if (spec.unordered) values.sort();
    const key = `${spec.name}:${values.join('|')}`;
    if (!keys.includes(key)) keys.push(key);
  }
}

function partValue(part: BlockingPart, record: MatchRecord): string | undefined {
  const raw = record[part.field];
  if (raw === undefined || typeof raw !== 'string') return undefined;
  switch (part.transform ?? 'value') {
    case 'value':
      return raw;
    case 'phonetic':
      return phoneticKey(raw) || undefined;
    case 'initial':
      return raw.charAt(0);
    case 'year':
      return /^\d{4}/.test(raw) ? raw.slice(0, 4) : undefined;
    case 'dateUnordered': {
      // Year plus month and day in either order, so a day/month swap keeps the key; real dates only.
      if (!isRealDate(raw) && !isRealDate(raw.slice(0, 4) + raw.slice(6, 8) + raw.slice(4, 6))) return undefined;
      const md = [raw.slice(4, 6), raw.slice(6, 8)].sort();
      return `${raw.slice(0, 4)}|${md[0]}${md[1]}`;
    }
    case 'prefix':
      return raw.slice(0, part.length ?? 1);
    case 'squash':
      return raw.replaceAll(' ', '');
    default:
      return undefined;
  }
}

/**
 * Blocking key → record ordinals, in memory. Candidates sharing more keys with the query come first;
 * a key held by more than `maxBlockSize` records is skipped as too common to discriminate (source and
 * NHS keys are never skipped).
 */
export class InMemoryCandidateIndex implements CandidateSource {
  readonly #rules: MatchRules;
  readonly #records: Array<MatchRecord | undefined> = [];
  readonly #ordinalOf = new Map<string, number>();
  readonly #postings = new Map<string, number[]>();
  /** Per-ordinal hit counts for the query in progress (zeroed again before `candidates` returns). */
  #hits = new Uint8Array(1024);

  constructor(rules: MatchRules) {
    this.#rules = rules;
  }

  get size(): number {
    return this.#ordinalOf.size;
  }

  /** Adds (or replaces) a record under its blocking keys. */
  add(record: MatchRecord, keys: readonly string[] = blockingKeys(this.#rules, record)): void {
    if (this.#ordinalOf.has(record.id)) this.remove(record.id);
    const ordinal = this.#records.length;
    this.#records.push(record);
    this.#ordinalOf.set(record.id, ordinal);
    for (const key of keys) {
      if (key.startsWith(SOURCE_KEY_PREFIX)) continue; // answered from #ordinalOf
      const list = this.#postings.get(key);
      if (list) list.push(ordinal);
      else this.#postings.set(key, [ordinal]);
    }
  }

  remove(recordId: string): boolean {
    const ordinal = this.#ordinalOf.get(recordId);
    const record = ordinal === undefined ? undefined : this.#records[ordinal];
    if (ordinal === undefined || record === undefined) return false;
    for (const key of blockingKeys(this.#rules, record)) {
      const list = this.#postings.get(key);
      if (!list) continue;
      const at = list.indexOf(ordinal);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.#postings.delete(key);
    }
    this.#records[ordinal] = undefined;
    this.#ordinalOf.delete(recordId);
    return true;
  }

  get(recordId: string): MatchRecord | undefined {
    const ordinal = this.#ordinalOf.get(recordId);
    return ordinal === undefined ? undefined : this.#records[ordinal];
  }

  /** How many records hold `key` (0 when none). */
  blockSize(key: string): number {
    return this.#postings.get(key)?.length ?? 0;
  }

  candidates(keys: readonly string[], limit: number): MatchRecord[] {
    if (this.#hits.length < this.#records.length) {
      this.#hits = new Uint8Array(Math.max(this.#records.length * 2, 1024));
    }
    const hits = this.#hits;
    const touched: number[] = [];
    let most = 0;
    const max = this.#rules.maxBlockSize;
    for (const key of keys) {
      const own = key.startsWith(SOURCE_KEY_PREFIX)
        ? this.#ordinalOf.get(key.slice(SOURCE_KEY_PREFIX.length))
        : undefined;
      const list = own === undefined ? this.#postings.get(key) : [own];
      if (list === undefined) continue;
      const always = key.startsWith(SOURCE_KEY_PREFIX) || key.startsWith(NHS_KEY_PREFIX);
      if (!always && list.length > max) continue;
      for (const ordinal of list) {
        const h = hits[ordinal] as number;
        if (h === 0) touched.push(ordinal);
        if (h < 255) hits[ordinal] = h + 1;
        if (h + 1 > most) most = h + 1;
      }
    }
    // Those sharing the most keys first (bucketed by count: no sort), earlier records first within a count.
    let chosen: number[] = touched;
    if (touched.length > limit) {
      chosen = [];
      for (let want = most; want > 0 && chosen.length < limit; want--) {
        for (const o of touched) {
          if (hits[o] === want) {
            chosen.push(o);
            if (chosen.length === limit) break;
          }
        }
      }
    }
    for (const o of touched) hits[o] = 0;
    const out: MatchRecord[] = [];
    for (const o of chosen) {
      const r = this.#records[o];
      if (r !== undefined) out.push(r);
    }
    return out;
  }
}

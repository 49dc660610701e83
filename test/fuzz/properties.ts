/**
 * Property-based checks of the JSON validator, the search-parameter parser and the SQL they build, with
 * fast-check. A bounded run is part of `npm test` (test/fuzz.test.ts); `npm run fuzz` runs them long.
 *
 * The properties: whatever the input, the only exception is an IcrError (a precise 4xx); and SQL built
 * from a search that parsed has exactly the placeholders it binds, and binds nothing PostgreSQL cannot
 * hold (NUL, lone surrogates, instants outside 0001–9999, malformed numbers).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_LIMITS } from '../../src/config/config.ts';
import { checkJsonLimits } from '../../src/fhir/json-limits.ts';
import { assertValid, validateResource } from '../../src/fhir/validation.ts';
import { checkQueryText } from '../../src/http/fhir-reply.ts';
import { isIcrError } from '../../src/shared/errors.ts';
import { matchQuery } from '../../src/store/search/execute.ts';
import { parseSearch } from '../../src/store/search/parse.ts';
import type { SearchRequest } from '../../src/store/search/types.ts';
import { body, search } from './arbitraries.ts';
import { hl7ParserProperty, mllpFramingProperty } from './hl7-properties.ts';

/** Runs `fn`; an IcrError is an answer, anything else thrown is a failure. */
function answers<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (isIcrError(e) && e.status < 500) return undefined;
    throw e;
  }
}

const INSTANT = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z|-?infinity)$/;
const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
// eslint-disable-next-line no-control-regex -- a NUL is exactly what must not reach SQL
const BAD_TEXT = /\u0000|[\uD800-\uDFFF]/u;

function checkValue(v: unknown, where: string): void {
  if (typeof v === 'string') assert.ok(!BAD_TEXT.test(v), `${where}: a NUL or lone surrogate reaches SQL`);
  else if (Array.isArray(v)) for (const x of v) checkValue(x, where);
}

/** The SQL of a parsed search binds what PostgreSQL can hold, and exactly the placeholders it uses. */
export function checkSql(req: SearchRequest): void {
  const { text, values } = matchQuery(req);
  const used = new Set([...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  for (let n = 1; n <= values.length; n++) assert.ok(used.has(n), `$${n} is bound but not used`);
  for (const n of used) assert.ok(n >= 1 && n <= values.length, `$${n} is used but not bound`);
  values.forEach((v, i) => checkValue(v, `$${i + 1}`));
  for (const m of text.matchAll(/\$(\d+)::timestamptz/g)) {
    const v = values[Number(m[1]) - 1];
    assert.ok(typeof v === 'string' && INSTANT.test(v), `$${m[1]}::timestamptz is ${JSON.stringify(v)}`);
  }
  for (const m of text.matchAll(/\$(\d+)::numeric/g)) {
    const v = values[Number(m[1]) - 1];
    assert.ok(typeof v === 'string' && NUMERIC.test(v), `$${m[1]}::numeric is ${JSON.stringify(v)}`);
  }
}

/** Parses a query string as the HTTP layer does; undefined when it is refused with a 4xx. */
export function parseQuery(type: string, query: string, lenient: boolean): SearchRequest | undefined {
  return answers(() => {
    checkQueryText(query);
    return parseSearch(type, new URLSearchParams(query), { lenient });
  });
}

export const validatorProperty = fc.property(body, (b) => {
  answers(() => checkJsonLimits(b, DEFAULT_LIMITS));
  const issues = validateResource(structuredClone(b));
  assert.ok(Array.isArray(issues));
  for (const i of issues) assert.equal(typeof i.message, 'string');
  answers(() => assertValid(structuredClone(b)));
});

export const searchProperty = fc.property(search, fc.boolean(), ({ type, query }, lenient) => {
  const req = parseQuery(type, query, lenient);
  if (req) checkSql(req);
});

export interface FuzzFigure {
  name: string;
  runs: number;
  ms: number;
}

/**
 * Runs the validator and search properties `runs` times each, and the HL7 v2 parser and MLLP framing
 * properties `feedRuns` times each (throws fast-check's report on a failure).
 */
export function runProperties(
  runs: number,
  seed?: number,
  feedRuns = runs,
  onProgress?: (name: string, done: number, total: number) => void,
): FuzzFigure[] {
  const out: FuzzFigure[] = [];
  // In chunks (each with a seed of its own, derived from the run's), so that a long run shows progress.
  const chunk = 50_000;
  for (const [name, property, n] of [
    ['validator', validatorProperty, runs],
    ['search parser and SQL', searchProperty, runs],
    ['HL7 v2 parser', hl7ParserProperty, feedRuns],
    ['MLLP framing', mllpFramingProperty, feedRuns],
  ] as const) {
    if (n === 0) continue;
    const t0 = performance.now();
    for (let done = 0, i = 0; done < n; i++) {
      const numRuns = Math.min(chunk, n - done);
      fc.assert(property as fc.IProperty<unknown[]>, {
        numRuns,
        ...(seed === undefined ? {} : { seed: seed + i }),
      });
      done += numRuns;
      if (n > chunk) onProgress?.(name, done, n);
    }
    out.push({ name, runs: n, ms: performance.now() - t0 });
  }
  return out;
}

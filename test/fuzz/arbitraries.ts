/**
 * fast-check arbitraries for hostile input (issue 14): search query strings built from the real parameter
 * registry with hostile values, and resource bodies built from real element names with hostile values.
 * Shared by the in-process properties (properties.ts) and the HTTP fuzzer (http-fuzzer.ts).
 */
import fc from 'fast-check';
import sample from '../../src/demo/sample-bundle.json' with { type: 'json' };
import { searchParamsFor } from '../../src/fhir/search-params.ts';

export const RESOURCE_TYPES = [
  'Patient',
  'Observation',
  'Encounter',
  'Condition',
  'MedicationRequest',
  'AllergyIntolerance',
  'Immunization',
  'Procedure',
  'DocumentReference',
  'Location',
  'Organization',
  'Practitioner',
] as const;

/** Pieces that broke or could break something: NUL, lone surrogates, combining marks, separators, escapes. */
const NASTY = [
  '\u0000',
  '\ud800',
  '\udfff',
  '\u0301',
  '\u200b',
  ' ',
  '  ',
  ',',
  '|',
  '$',
  '\\',
  '\\,',
  '%',
  '%00',
  '%ED%A0%80',
  '%FF',
  '%CC%81',
  '%20',
  '+',
  '&',
  '=',
  ':',
  '.',
  '/',
  '#',
  '?',
  "'",
  '"',
  ';--',
  '*',
  '_',
  '\n',
  '\t',
  '😀',
  'é',
  'null',
  'true',
  '-1',
  '1e309',
  'NaN',
  '9999-12-31T23:59:59.999Z',
  '9999-12-31T24:00:00Z',
  '0001-01-01T00:00:00+14:00',
  '0000-01-01',
  '10000-01-01',
  'Patient/',
  'urn:uuid:',
  'http://x/fhir/Patient/1',
];

const PREFIXES = ['', 'eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap', 'zz'];

/** Any text, with hostile pieces spliced in; sometimes very long. */
export const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  {
    weight: 4,
    arbitrary: fc
      .array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 4 })), { maxLength: 5 })
      .map((a) => a.join('')),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('a', 'é', '😀', '%', '\\', ','), fc.integer({ min: 100, max: 5000 }))
      .map(([c, n]) => c.repeat(n)),
  },
);

const dateText = fc
  .tuple(
    fc.integer({ min: 0, max: 10_001 }),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.option(
      fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 61 }), fc.integer({ min: 0, max: 61 })),
    ),
    fc.constantFrom('', 'Z', '+14:00', '-14:00', '+01:00', '.999Z', '.1234567Z'),
  )
  .map(([y, m, d, t, z]) => {
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    const date = `${p(y, 4)}-${p(m)}-${p(d)}`;
    return t ? `${date}T${p(t[0])}:${p(t[1])}:${p(t[2])}${z}` : date;
  });

/** A search value: prefixed dates and numbers, tokens, or hostile text. */
export const searchValue: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.constantFrom(...PREFIXES), dateText).map(([p, d]) => p + d),
  fc
    .tuple(fc.constantFrom(...PREFIXES), fc.oneof(fc.double({ noNaN: false }).map(String), fc.integer().map(String)))
    .map(([p, n]) => p + n),
  fc.tuple(hostileText, hostileText).map(([s, c]) => `${s}|${c}`),
  fc.array(hostileText, { minLength: 1, maxLength: 4 }).map((a) => a.join(',')),
  hostileText,
);

const MODIFIERS = [
  '',
  ':missing',
  ':exact',
  ':contains',
  ':text',
  ':not',
  ':below',
  ':above',
  ':identifier',
  ':Patient',
  ':zz',
];

/** Parameter names of a type: its own (with modifiers and chains), the result parameters, and junk. */
export function searchKey(type: string): fc.Arbitrary<string> {
  const codes = searchParamsFor(type).map((d) => d.code);
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...codes), fc.constantFrom(...MODIFIERS)).map(([c, m]) => c + m) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...codes),
          fc.constantFrom('', ':Patient'),
          fc.constantFrom('name', 'family', 'identifier', 'birthdate', '_id', 'code'),
        )
        .map(([c, m, chain]) => `${c}${m}.${chain}`),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '_id',
        '_lastUpdated',
        '_count',
        '_offset',
        '_sort',
        '_include',
        '_revinclude',
        '_summary',
        '_total',
        '_elements',
        '_source',
        '_format',
        '_has',
        '_text',
      ),
    },
    { weight: 1, arbitrary: hostileText },
  );
}

/** Percent-encodes `s`; a lone surrogate (which has no UTF-8) becomes its would-be bytes `%ED%xx%xx`. */
export function encode(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    out +=
      c >= 0xd800 && c <= 0xdfff
        ? `%ED%${(0xa0 | ((c >> 6) & 0x1f)).toString(16).toUpperCase()}%${(0x80 | (c & 0x3f)).toString(16).toUpperCase()}`
        : encodeURIComponent(ch);
  }
  return out;
}

/** A query string (already percent-encoded, sometimes raw) for one resource type. */
export function queryString(type: string): fc.Arbitrary<string> {
  const pair = fc
    .tuple(searchKey(type), searchValue, fc.boolean())
    .map(([k, v, encoded]) => (encoded ? `${encode(k)}=${encode(v)}` : `${k}=${v}`));
  return fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join('&'));
}

/** A search: a supported type and its query string. */
export const search: fc.Arbitrary<{ type: string; query: string }> = fc
  .constantFrom(...RESOURCE_TYPES)
  .chain((type) => queryString(type).map((query) => ({ type, query })));

/** Element names, real and hostile, that bodies are built from. */
const ELEMENT_NAMES = [
  'id',
  'meta',
  'text',
  'name',
  'family',
  'given',
  'identifier',
  'system',
  'value',
  'code',
  'coding',
  'display',
  'status',
  'subject',
  'patient',
  'reference',
  'note',
  'valueString',
  'valueQuantity',
  '_valueString',
  'extension',
  'url',
  'birthDate',
  'effectiveDateTime',
  'contained',
  'mode',
  'vaccineCode',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'constructor',
  'isPrototypeOf',
  '_family',
  'div',
  'lastUpdated',
];

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  hostileText,
  dateText,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('Patient/1', `Patient/${'a'.repeat(65)}`, 'urn:uuid:1', 'final', 'male', 'instance', '#x'),
);

/** JSON values built from FHIR element names, nested a few levels. */
export const elementValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...ELEMENT_NAMES), tie('v'), { maxKeys: 4 }),
  ),
})).v;

/** A resource-shaped body: a type, and elements with hostile values. */
export const resourceBody: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.constantFrom(...RESOURCE_TYPES),
    fc.dictionary(fc.constantFrom(...ELEMENT_NAMES), elementValue, { maxKeys: 5 }),
  )
  .map(([resourceType, elements]) => ({ ...elements, resourceType }));

const SAMPLES: Array<Record<string, unknown>> = (
  (sample as { entry?: Array<{ resource?: Record<string, unknown> }> }).entry ?? []
)
  .flatMap((e) => (e.resource ? [e.resource] : []))
  .filter((r) => (RESOURCE_TYPES as readonly string[]).includes(String(r.resourceType)));

/** Sets `value` at a path of `root` chosen by the numbers in `steps` (in a copy). */
function mutate(root: Record<string, unknown>, steps: readonly number[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(root);
  let node: unknown = copy;
  for (const step of steps) {
    if (typeof node !== 'object' || node === null) break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const key = keys[step % keys.length] as string;
    if (key === 'resourceType') break;
    const child = (node as Record<string, unknown>)[key];
    if (typeof child !== 'object' || child === null || step % 3 === 0) {
      (node as Record<string, unknown>)[key] = value;
      return copy;
    }
    node = child;
  }
  if (typeof node === 'object' && node !== null && !Array.isArray(node)) {
    (node as Record<string, unknown>)[ELEMENT_NAMES[steps.length % ELEMENT_NAMES.length] as string] = value;
  }
  return copy;
}

/** A real resource from the demo bundle with one value replaced or added. */
export const mutatedResource: fc.Arbitrary<Record<string, unknown>> =
  SAMPLES.length === 0
    ? resourceBody
    : fc
        .tuple(
          fc.integer({ min: 0, max: SAMPLES.length - 1 }),
          fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
          elementValue,
        )
        .map(([i, steps, value]) => mutate(SAMPLES[i] as Record<string, unknown>, steps, value));

/** Any body: random JSON, a resource-shaped body, or a mutated real resource. */
export const body: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 3, arbitrary: resourceBody },
  { weight: 3, arbitrary: mutatedResource },
);

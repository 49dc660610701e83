import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSearch } from './parse.ts';

const parse = (type: string, q: string, lenient = false) => parseSearch(type, new URLSearchParams(q), { lenient });
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('parseSearch', () => {
  test('token forms: code, system|code, |code, system|', () => {
    const r = parse('Observation', 'code=a,http://loinc.org|b,|c,http://snomed.info/sct|');
    assert.deepEqual(r.filters[0]?.values, [
      { kind: 'token', code: 'a' },
      { kind: 'token', system: 'http://loinc.org', code: 'b' },
      { kind: 'token', system: null, code: 'c' },
      { kind: 'token', system: 'http://snomed.info/sct' },
    ]);
  });

  test('escaped commas and bars stay in the value', () => {
    const r = parse('Patient', 'family=a\\,b&identifier=s|x\\|y');
    assert.deepEqual(r.filters[0]?.values, [{ kind: 'string', value: 'a,b' }]);
    assert.deepEqual(r.filters[1]?.values, [{ kind: 'token', system: 's', code: 'x|y' }]);
  });

  test('date prefixes and partial dates', () => {
    const r = parse('Observation', 'date=ge2020-01&date=lt2021');
    assert.equal(r.filters.length, 2);
    assert.deepEqual(r.filters[0]?.values[0], {
      kind: 'date',
      prefix: 'ge',
      range: { low: '2020-01-01T00:00:00.000Z', high: '2020-02-01T00:00:00.000Z' },
    });
  });

  test('quantity with system and code; reference forms', () => {
    const q = parse('Observation', 'value-quantity=gt5.4|http://unitsofmeasure.org|mg').filters[0]?.values[0];
    assert.deepEqual(q, {
      kind: 'quantity',
      prefix: 'gt',
      range: { value: '5.4', low: '5.35', high: '5.45' },
      system: 'http://unitsofmeasure.org',
      code: 'mg',
    });
    const refs = parse(
      'Observation',
      'subject=Patient/1,2,https://x/fhir/Patient/3&subject:Patient=4&subject:identifier=s|v',
    );
    assert.deepEqual(refs.filters[0]?.values, [
      { kind: 'reference', type: 'Patient', id: '1' },
      { kind: 'reference', id: '2' },
      { kind: 'reference', type: 'Patient', id: '3', url: 'https://x/fhir/Patient/3' },
    ]);
    assert.deepEqual(refs.filters[1]?.values, [{ kind: 'reference', type: 'Patient', id: '4' }]);
    assert.deepEqual(refs.filters[2]?.values, [{ kind: 'token', system: 's', code: 'v' }]);
  });

  test('chaining resolves the target types that have the parameter', () => {
    const r = parse('Observation', 'subject.name=smith');
    assert.ok(r.filters[0]?.chain?.targets.some((t) => t.type === 'Patient'));
    const typed = parse('Observation', 'subject:Patient.identifier=s|v');
    assert.deepEqual(
      typed.filters[0]?.chain?.targets.map((t) => t.type),
      ['Patient'],
    );
    assert.equal(
      code(() => parse('Observation', 'subject.foo=1')),
      'ICR_INVALID_SEARCH',
    );
    assert.equal(
      code(() => parse('Observation', 'subject.organization.name=x')),
      'ICR_INVALID_SEARCH',
    );
  });

  test('result parameters', () => {
    const r = parse(
      'Observation',
      '_count=5000&_offset=40&_sort=-date,code,_id&_include=Observation:subject&_revinclude:iterate=Provenance:target&_total=none&_elements=code,value[x]&_summary=count',
    );
    assert.equal(r.count, 1000);
    assert.equal(r.offset, 40);
    assert.deepEqual(
      r.sort.map((s) => [s.code, s.descending]),
      [
        ['date', true],
        ['code', false],
        ['_id', false],
      ],
    );
    assert.deepEqual(r.include, [{ sourceType: 'Observation', param: 'subject', iterate: false }]);
    assert.deepEqual(r.revinclude, [{ sourceType: 'Provenance', param: 'target', iterate: true }]);
    assert.equal(r.total, 'none');
    assert.deepEqual(r.elements, ['code', 'value[x]']);
    assert.equal(r.summaryCount, true);
    assert.ok(!r.query.some(([k]) => k === '_offset'));
    assert.equal(parse('Patient', '_count=0').summaryCount, true);
  });

  test('bad syntax is ICR_INVALID_SEARCH', () => {
    for (const q of [
      'date=2020-13',
      'date=xx2020',
      'date=2020-02-30',
      'value-quantity=abc',
      '_count=-1',
      '_count=x',
      'code:missing=maybe',
      'code:below=x',
      'code:exact=x',
      '_sort=value-concept:x',
      '_include=Patient:nope',
      '_summary=true',
      'code-value-quantity=abc',
      'subject=Patient/',
      '_elements=a.b',
      '_total=all',
    ]) {
      assert.equal(
        code(() => parse('Observation', q)),
        q.startsWith('_sort') ? 'ICR_UNKNOWN_SEARCH_PARAM' : 'ICR_INVALID_SEARCH',
        q,
      );
    }
  });

  test('unknown parameters: refused when strict, listed when lenient', () => {
    assert.equal(
      code(() => parse('Patient', 'foo=1')),
      'ICR_UNKNOWN_SEARCH_PARAM',
    );
    assert.equal(
      code(() => parse('Patient', '_has:Observation:subject:code=1')),
      'ICR_UNKNOWN_SEARCH_PARAM',
    );
    const r = parse('Patient', 'foo=1&family=smith&_has:Observation:subject:code=1&name:below=x', true);
    assert.deepEqual(r.ignored, ['foo', '_has:Observation:subject:code', 'name:below']);
    assert.equal(r.filters.length, 1);
    assert.deepEqual(r.query, [['family', 'smith']]);
  });

  test('empty values are ignored; _format is for the HTTP layer', () => {
    const r = parse('Patient', 'family=&_format=json');
    assert.equal(r.filters.length, 0);
    assert.deepEqual(r.query, []);
    assert.equal(
      code(() => parse('Nope', '')),
      'ICR_UNSUPPORTED_TYPE',
    );
  });
});

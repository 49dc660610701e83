import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeLike, normaliseString, parseDateRange, parseNumberRange, parseReference } from './values.ts';

describe('date ranges', () => {
  test('partial dates denote their whole period', () => {
    assert.deepEqual(parseDateRange('2020'), { low: '2020-01-01T00:00:00.000Z', high: '2021-01-01T00:00:00.000Z' });
    assert.deepEqual(parseDateRange('2020-02'), { low: '2020-02-01T00:00:00.000Z', high: '2020-03-01T00:00:00.000Z' });
    assert.deepEqual(parseDateRange('2020-12-31'), {
      low: '2020-12-31T00:00:00.000Z',
      high: '2021-01-01T00:00:00.000Z',
    });
    assert.deepEqual(parseDateRange('2020-03-04T10:00'), {
      low: '2020-03-04T10:00:00.000Z',
      high: '2020-03-04T10:01:00.000Z',
    });
  });
  test('times with a zone are converted to UTC; fractions set the precision', () => {
    assert.deepEqual(parseDateRange('2020-03-04T10:00:00+01:00'), {
      low: '2020-03-04T09:00:00.000Z',
      high: '2020-03-04T09:00:01.000Z',
    });
    assert.deepEqual(parseDateRange('2020-03-04T10:00:00.5Z'), {
      low: '2020-03-04T10:00:00.500Z',
      high: '2020-03-04T10:00:00.600Z',
    });
    assert.deepEqual(parseDateRange('2020-03-04T10:00:00.123Z'), {
      low: '2020-03-04T10:00:00.123Z',
      high: '2020-03-04T10:00:00.124Z',
    });
  });
  test('invalid dates are refused', () => {
    for (const bad of ['2020-13', '2020-02-30', '20', '2020-01-01T25:00', 'x', '2020-01-01T10', '2020/01/01']) {
      assert.equal(parseDateRange(bad), undefined, bad);
    }
  });
});

describe('numbers, strings, references', () => {
  test('number precision ranges', () => {
    assert.deepEqual(parseNumberRange('100'), { value: '100', low: '99.5', high: '100.5' });
    assert.deepEqual(parseNumberRange('5.4'), { value: '5.4', low: '5.35', high: '5.45' });
    assert.deepEqual(parseNumberRange('-0.25'), { value: '-0.25', low: '-0.255', high: '-0.245' });
    assert.equal(parseNumberRange('1e2')?.value, '100');
    assert.equal(parseNumberRange('abc'), undefined);
    assert.equal(parseNumberRange('1.2.3'), undefined);
  });
  test('string normalisation strips accents and case', () => {
    assert.equal(normaliseString('  Zoë  Ångström '), 'zoe angstrom');
    assert.equal(normaliseString('SMITH'), 'smith');
    assert.equal(escapeLike('50%_a\\b'), '50\\%\\_a\\\\b');
  });
  test('references: relative, absolute, history, urn, canonical, contained', () => {
    assert.deepEqual(parseReference('Patient/1'), { type: 'Patient', id: '1' });
    assert.deepEqual(parseReference('Patient/1/_history/3'), { type: 'Patient', id: '1' });
    assert.deepEqual(parseReference('https://x.nhs.uk/fhir/Patient/1'), {
      type: 'Patient',
      id: '1',
      url: 'https://x.nhs.uk/fhir/Patient/1',
    });
    assert.deepEqual(parseReference('urn:uuid:abc'), { url: 'urn:uuid:abc' });
    assert.deepEqual(parseReference('http://x/canon|1.0'), { url: 'http://x/canon' });
    assert.equal(parseReference('#c1'), undefined);
  });
});

describe('index keys and the edges of time', () => {
  test('values up to 200 characters are their own key; longer ones a bounded prefix and digest', async () => {
    const { indexKey, INDEX_KEY_MAX } = await import('./values.ts');
    const short = 'x'.repeat(INDEX_KEY_MAX);
    assert.equal(indexKey(short), short);
    const long = `${'y'.repeat(5000)}a`;
    const key = indexKey(long);
    assert.equal(key.length, 215);
    assert.ok(key.startsWith('y'.repeat(150)));
    assert.notEqual(indexKey(`${'y'.repeat(5000)}b`), key);
    // 200 astral characters are 400 UTF-16 units but 200 code points: still their own key.
    const astral = '😀'.repeat(200);
    assert.equal(indexKey(astral), astral);
    assert.equal(Array.from(indexKey(`${astral}😀`)).length, 215);
  });

  test('ranges reaching past 9999 or before 0001 end in an infinity', () => {
    assert.deepEqual(parseDateRange('9999-12-31'), { low: '9999-12-31T00:00:00.000Z', high: 'infinity' });
    assert.equal(parseDateRange('0001-01-01T00:00:00+01:00')?.low, '-infinity');
    assert.equal(parseDateRange('0001-01-01')?.low, '0001-01-01T00:00:00.000Z');
  });
});

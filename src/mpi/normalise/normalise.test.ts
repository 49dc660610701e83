import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseAddressLine, splitHouseNumber } from './address.ts';
import { isRealDate, normaliseDate } from './date.ts';
import { normaliseName, splitGivenNames } from './name.ts';
import { normalisePostcode, postcodeParts } from './postcode.ts';
import { normaliseSex } from './sex.ts';

describe('names', () => {
  it('folds case and diacritics, drops apostrophes, splits hyphens', () => {
    assert.equal(normaliseName('  ZOË  '), 'zoe');
    assert.equal(normaliseName('Siân'), 'sian');
    assert.equal(normaliseName("O'Brien"), 'obrien');
    assert.equal(normaliseName('O’Neill'), 'oneill');
    assert.equal(normaliseName('Smith-Jones'), 'smith jones');
    assert.equal(normaliseName('Müller'), 'muller');
    assert.equal(normaliseName('Straße'), 'strasse');
  });

  it('removes titles and suffixes', () => {
    assert.equal(normaliseName('Mr John'), 'john');
    assert.equal(normaliseName('DR. Smith'), 'smith');
    assert.equal(normaliseName('Smith Jnr'), 'smith');
  });

  it('treats placeholders as missing', () => {
    for (const p of ['Unknown', 'BABY', 'xxx', 'Test', '', '  ', '---']) assert.equal(normaliseName(p), undefined, p);
  });

  it('keeps initials and splits given from middle names', () => {
    assert.deepEqual(splitGivenNames(['J.', 'Robert']), { given: 'j', middle: 'robert' });
    assert.deepEqual(splitGivenNames('Mary Anne Louise'), { given: 'mary', middle: 'anne louise' });
    assert.deepEqual(splitGivenNames(['Mrs']), {});
    assert.deepEqual(splitGivenNames(undefined), {});
  });
});

describe('dates', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  it('reads FHIR, HL7 v2 and UK orders', () => {
    assert.equal(normaliseDate('1956-04-09', now), '19560409');
    assert.equal(normaliseDate('19560409', now), '19560409');
    assert.equal(normaliseDate('09/04/1956', now), '19560409');
    assert.equal(normaliseDate('9-4-1956', now), '19560409');
  });

  it('keeps partial dates at their precision', () => {
    assert.equal(normaliseDate('1956-04', now), '195604');
    assert.equal(normaliseDate('1956', now), '1956');
    assert.equal(normaliseDate('19560400', now), '195604');
    assert.equal(normaliseDate('19560009', now), '1956');
  });

  it('keeps impossible but well-formed dates for fuzzy comparison', () => {
    assert.equal(normaliseDate('19560231', now), '19560231');
    assert.equal(isRealDate('19560231'), false);
    assert.equal(normaliseDate('19741502', now), '19741502');
    assert.equal(isRealDate('19560229'), true);
    assert.equal(isRealDate('19570229'), false);
  });

  it('drops garbage, placeholders, future and ancient years', () => {
    for (const d of ['', 'unknown', '1900-01-01', '1850-01-01', '2090-01-01', '12/12', '1956-4-9x']) {
      assert.equal(normaliseDate(d, now), undefined, d);
    }
  });
});

describe('sex', () => {
  it('maps FHIR, HL7 v2 and NHS data dictionary codes', () => {
    assert.equal(normaliseSex('female'), 'female');
    assert.equal(normaliseSex('F'), 'female');
    assert.equal(normaliseSex('2'), 'female');
    assert.equal(normaliseSex('M'), 'male');
    assert.equal(normaliseSex('9'), 'other');
    assert.equal(normaliseSex('unknown'), undefined);
    assert.equal(normaliseSex('U'), undefined);
    assert.equal(normaliseSex('0'), undefined);
  });
});

describe('postcodes', () => {
  it('formats UK postcodes as outward and inward', () => {
    assert.equal(normalisePostcode('ls14ap'), 'LS1 4AP');
    assert.equal(normalisePostcode(' sw1a 1aa '), 'SW1A 1AA');
    assert.equal(normalisePostcode('M1-1AE'), 'M1 1AE');
    assert.deepEqual(postcodeParts('LS1 4AP'), { district: 'LS1', sector: 'LS1 4' });
  });

  it('keeps other postcodes compact and drops pseudo-postcodes', () => {
    assert.equal(normalisePostcode('4011'), '4011');
    assert.equal(postcodeParts('4011'), undefined);
    assert.equal(normalisePostcode('ZZ99 3VZ'), undefined);
    assert.equal(normalisePostcode(''), undefined);
  });
});

describe('addresses', () => {
  it('expands abbreviations and splits the house number', () => {
    assert.equal(normaliseAddressLine('12 High St.'), '12 high street');
    assert.deepEqual(splitHouseNumber('12a high street'), { number: '12a', street: 'high street' });
    assert.deepEqual(splitHouseNumber('flat 3 27 park rd'), { number: '27', street: 'park rd' });
    assert.deepEqual(splitHouseNumber('rose cottage'), { street: 'rose cottage' });
    assert.equal(normaliseAddressLine(' , '), undefined);
  });
});

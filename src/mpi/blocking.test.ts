import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockingKeys, InMemoryCandidateIndex } from './blocking.ts';
import { loadRules } from './rules/load-rules.ts';
import type { MatchRules } from './rules/rules.ts';
import type { MatchRecord } from './types.ts';

const rules = loadRules();
const base: MatchRecord = {
  id: 'a|1',
  given: 'amelia',
  family: 'hargreaves',
  birthDate: '19840317',
  postcode: 'LS6 2QT',
  streetNumber: '14',
  nhsNumber: '9990000018',
};

describe('blocking keys', () => {
  it('keys a record under its former family names too, so the old name still finds it', () => {
    const married: MatchRecord = {
      id: 'm|1',
      given: 'deborah',
      family: 'davies',
      formerFamilies: ['murray'],
      birthDate: '19460327',
    };
    const maiden: MatchRecord = { id: 's|1', given: 'deborah', family: 'murray', birthDate: '19460301' };
    const a = new Set(blockingKeys(rules, married));
    const shared = blockingKeys(rules, maiden).filter((k) => a.has(k));
    assert.ok(
      shared.some((k) => k.startsWith('names:') || k.startsWith('family-year:')),
      shared.join(' '),
    );
  });

  it('a short form and a one-digit date typo still share a key (initial, family and year)', () => {
    const a = blockingKeys(rules, { id: 'a', given: 'nicholas', family: 'morgan', birthDate: '19440610' });
    const b = new Set(blockingKeys(rules, { id: 'b', given: 'nick', family: 'morgan', birthDate: '19440611' }));
    assert.ok(a.some((k) => b.has(k) && k.startsWith('initial-family-dob:')));
  });

  it('gives the built-in source and NHS keys and one key per complete rule', () => {
    const keys = blockingKeys(rules, base);
    assert.ok(keys.includes('src:a|1'));
    assert.ok(keys.includes('nhs:9990000018'));
    assert.ok(keys.includes('dob:1984|0317'));
    assert.ok(keys.includes('postcode-house:LS6 2QT|14'));
    assert.ok(keys.some((k) => k.startsWith('names:')));
    assert.ok(!keys.some((k) => k.startsWith('other-id:')), 'no key for a missing field');
    assert.equal(new Set(keys).size, keys.length);
  });

  it('keeps the same keys when given and family names or day and month are swapped', () => {
    const swapped = { ...base, id: 'b|1', given: 'hargreaves', family: 'amelia', birthDate: '19841703' };
    const names = (r: MatchRecord) => blockingKeys(rules, r).find((k) => k.startsWith('names:'));
    const dob = (r: MatchRecord) => blockingKeys(rules, r).find((k) => k.startsWith('dob:'));
    assert.equal(names(swapped), names(base));
    assert.equal(dob(swapped), dob(base));
  });

  it('never blocks on an impossible date', () => {
    const keys = blockingKeys(rules, { ...base, birthDate: '19840231' });
    assert.ok(!keys.some((k) => k.startsWith('dob:')));
  });
});

describe('in-memory candidate index', () => {
  const people = (n: number, f: (i: number) => Partial<MatchRecord>): MatchRecord[] =>
    Array.from({ length: n }, (_, i) => ({ id: `r|${i}`, ...f(i) }));

  it('returns records sharing keys, those sharing most first, at most limit', () => {
    const index = new InMemoryCandidateIndex(rules);
    for (const r of people(50, (i) => ({ birthDate: '19840317', postcode: `LS${i} 1AA`, streetNumber: '1' })))
      index.add(r);
    index.add({ id: 'best', birthDate: '19840317', postcode: 'LS6 2QT', streetNumber: '14' });
    const found = index.candidates(blockingKeys(rules, base), 10);
    assert.equal(found.length, 10);
    assert.equal(found[0]?.id, 'best');
  });

  it('skips keys held by more than maxBlockSize records, but never source or NHS keys', () => {
    const small: MatchRules = { ...rules, maxBlockSize: 5 };
    const index = new InMemoryCandidateIndex(small);
    for (const r of people(20, () => ({ birthDate: '19840317' }))) index.add(r);
    index.add({ id: 'nhs-holder', nhsNumber: '9990000018' });
    const found = index.candidates(blockingKeys(small, base), 100);
    assert.deepEqual(
      found.map((r) => r.id),
      ['nhs-holder'],
    );
  });

  it('replaces and removes records', () => {
    const index = new InMemoryCandidateIndex(rules);
    index.add({ ...base });
    index.add({ ...base, birthDate: '19990101' });
    assert.equal(index.size, 1);
    assert.equal(index.blockSize('dob:1984|0317'), 0);
    assert.equal(index.blockSize('dob:1999|0101'), 1);
    assert.equal(index.remove('a|1'), true);
    assert.equal(index.candidates(blockingKeys(rules, base), 10).length, 0);
    assert.equal(index.remove('a|1'), false);
  });
});

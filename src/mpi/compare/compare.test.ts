import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDistance } from './edit-distance.ts';
import { jaro, jaroWinkler } from './jaro-winkler.ts';
import { phoneticKey, phoneticMatch } from './phonetic.ts';

const close = (actual: number, expected: number): void =>
  assert.ok(Math.abs(actual - expected) < 0.001, `${actual} is not ${expected}`);

describe('Jaro–Winkler', () => {
  it('matches the published reference values (Winkler 1990)', () => {
    close(jaro('martha', 'marhta'), 0.944);
    close(jaroWinkler('martha', 'marhta'), 0.961);
    close(jaroWinkler('dwayne', 'duane'), 0.84);
    close(jaroWinkler('dixon', 'dicksonx'), 0.813);
    close(jaroWinkler('jellyfish', 'smellyfish'), 0.896);
  });

  it('is 1 for equal strings, 0 for nothing in common or empty', () => {
    assert.equal(jaroWinkler('smith', 'smith'), 1);
    assert.equal(jaroWinkler('abc', 'xyz'), 0);
    assert.equal(jaroWinkler('', 'abc'), 0);
    assert.equal(jaroWinkler('', ''), 0);
  });

  it('is symmetric and handles long strings', () => {
    const a = 'a'.repeat(100) + 'bcd';
    const b = 'a'.repeat(99) + 'dcb';
    close(jaroWinkler(a, b), jaroWinkler(b, a));
    close(jaroWinkler('jonathan', 'jonathon'), jaroWinkler('jonathon', 'jonathan'));
  });
});

describe('edit distance (optimal string alignment)', () => {
  it('counts insertions, deletions, substitutions and transpositions', () => {
    assert.equal(editDistance('19560409', '19560409'), 0);
    assert.equal(editDistance('19560409', '19560490'), 1);
    assert.equal(editDistance('19560409', '19560408'), 1);
    assert.equal(editDistance('smith', 'smyth'), 1);
    assert.equal(editDistance('smith', 'smit'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('stops early past max', () => {
    assert.equal(editDistance('abcdef', 'uvwxyz', 1), 2);
    assert.equal(editDistance('a', 'abcdef', 2), 3);
  });
});

describe('phonetic (Double Metaphone)', () => {
  it('codes names that sound alike the same', () => {
    assert.equal(phoneticMatch('smith', 'smyth'), true);
    assert.equal(phoneticMatch('catherine', 'kathryn'), true);
    assert.equal(phoneticMatch('stephen', 'steven'), true);
    assert.equal(phoneticMatch('smith', 'jones'), false);
  });

  it('codes multi-word names word by word', () => {
    assert.equal(phoneticKey('smith jones'), `${phoneticKey('smith')} ${phoneticKey('jones')}`);
  });
});

describe('level tests: nickname and former names', () => {
  it('nickname passes for known variants only', async () => {
    const { compileValueTest } = await import('./level-tests.ts');
    const nick = compileValueTest({ kind: 'nickname' });
    assert.ok(nick('william', 'bill'));
    assert.ok(nick('debbie', 'deborah'));
    assert.equal(nick('william', 'walter'), false);
  });

  it('previousName compares a family name with the other record’s former names, either way round', async () => {
    const { compilePairTest } = await import('./level-tests.ts');
    const prev = compilePairTest('family', { kind: 'previousName' });
    const married = { id: 'a', family: 'davies', formerFamilies: ['murray'] };
    assert.ok(prev(married, { id: 'b', family: 'murray' }));
    assert.ok(prev({ id: 'b', family: 'murray' }, married));
    assert.ok(prev(married, { id: 'c', family: 'khan', formerFamilies: ['murray'] }), 'a shared former name');
    assert.ok(
      prev({ id: 'd', family: 'smith jones', formerFamilies: ['smithjones'] }, { id: 'e', family: 'smithjones' }),
    );
    assert.equal(prev(married, { id: 'f', family: 'moore' }), false);
    assert.equal(prev({ id: 'g', family: 'murray' }, { id: 'h', family: 'moore' }), false, 'no history: never');
  });
});

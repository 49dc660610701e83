import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDistance } from './edit-distance.ts';
import { jaro, jaroWinkler, jaroWinklerBound } from './jaro-winkler.ts';
import { compileValueTest } from './level-tests.ts';
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

describe('Jaro–Winkler bound (ADR 0058)', () => {
  // Names, streets and their typos; repeated letters, shared letters out of order, non-ASCII, empty.
  const words = [
    ...['smith', 'smyth', 'smiht', 'jones', 'johns', 'john', 'jon', 'jonathan', 'nathan', 'anna', 'hannah'],
    ...['martha', 'marhta', 'dwayne', 'duane', 'dixon', 'dicksonx', 'abc', 'cba', 'aaa', 'aab', 'a', ''],
    ...['high street', 'highstreet', 'church road', 'church lane', 'zoë', 'zoe', 'siân', 'sian', 'o brien'],
  ];
  let seed = 11;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const alphabet = 'abcdehnrst ';
  const randomWord = () =>
    Array.from({ length: Math.floor(rand() * 12) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
  const pairs: Array<[string, string]> = [
    ...words.flatMap((a) => words.map((b) => [a, b] as [string, string])),
    ...Array.from({ length: 20_000 }, () => [randomWord(), randomWord()] as [string, string]),
  ];

  it('is never below the similarity, and equals it for equal strings and anagram-free exact matches', () => {
    for (const [a, b] of pairs) {
      const s = jaroWinkler(a, b);
      const bound = jaroWinklerBound(a, b);
      assert.ok(bound >= s, `${a} / ${b}: bound ${bound} below ${s}`);
      // Squashed: the bound of the strings without their spaces, found without removing them.
      const [x, y] = [a.replaceAll(' ', ''), b.replaceAll(' ', '')];
      assert.equal(jaroWinklerBound(a, b, true), jaroWinklerBound(x, y), `${a} / ${b} squashed`);
    }
    assert.equal(jaroWinklerBound('smith', 'smith'), 1);
    assert.equal(jaroWinklerBound('', ''), 0);
    assert.equal(jaroWinklerBound('abc', 'xyz'), 0, 'nothing in common');
    assert.equal(jaroWinklerBound('smith', 'smit'), jaroWinkler('smith', 'smit'), 'reached exactly: the same number');
    assert.ok(jaroWinklerBound('john', 'elizabeth') < 0.8, 'few letters in common: well below the thresholds');
  });

  it('leaves every threshold test answering as the similarity does', () => {
    for (const min of [0.75, 0.8, 0.88, 0.9, 0.92, 1])
      for (const squash of [false, true]) {
        const test = compileValueTest({ kind: 'jaroWinkler', min, squash });
        for (const [a, b] of pairs) {
          if (a === '' || b === '') continue; // a test sees present values only
          const x = squash ? a.replaceAll(' ', '') : a;
          const y = squash ? b.replaceAll(' ', '') : b;
          assert.equal(test(a, b), jaroWinkler(x, y) >= min, `${a} / ${b} at ${min}${squash ? ' squashed' : ''}`);
        }
      }
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

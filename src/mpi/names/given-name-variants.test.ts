import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { GIVEN_NAME_VARIANTS_PATH, givenNameVariants, parseNameVariants } from './given-name-variants.ts';

describe('UK given-name variants', () => {
  it('the bundled list names its source and licence, and joins short forms to their names', () => {
    const text = readFileSync(GIVEN_NAME_VARIANTS_PATH, 'utf8');
    assert.match(text, /^# Source: written for OpenICR from general knowledge/m);
    const v = givenNameVariants();
    const pairs: Array<[string, string]> = [
      ['william', 'bill'],
      ['margaret', 'peggy'],
      ['elizabeth', 'betty'],
      ['robert', 'bob'],
      ['mohammed', 'muhammad'],
      ['katarzyna', 'kasia'],
      ['chukwuemeka', 'emeka'],
    ];
    for (const [a, b] of pairs) assert.ok(v.same(a, b) && v.same(b, a), `${a} ~ ${b}`);
  });

  it('does not join names that only share a short form with a third', () => {
    const v = givenNameVariants();
    // alex is a short form of both; alexander and alexandra are still different names.
    assert.ok(v.same('alex', 'alexander') && v.same('alex', 'alexandra'));
    assert.equal(v.same('alexander', 'alexandra'), false);
    assert.equal(v.same('john', 'ian'), false);
    assert.equal(v.same('unknownname', 'other'), false);
    assert.ok(v.same('unknownname', 'unknownname'));
  });

  it('parses groups, ignoring comments, blank lines and one-name lines', () => {
    const v = parseNameVariants('# c\n\nann annie # trailing\nsolo\nANN nancy\n');
    assert.ok(v.same('ann', 'annie'));
    assert.ok(v.same('ann', 'nancy'));
    assert.equal(v.same('annie', 'nancy'), false);
    assert.deepEqual(v.groups('solo'), []);
  });
});

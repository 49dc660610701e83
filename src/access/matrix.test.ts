import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLINICAL_CATEGORIES } from '../fhir/access-facts.ts';
import { DEFAULT_MATRIX, parseMatrixText } from './matrix.ts';
import { checkRole, ROLE_CODES } from './roles.ts';

describe('role → categories matrix', () => {
  it('gives the defaults of DESIGN.md §6', () => {
    assert.deepEqual([...DEFAULT_MATRIX.R8008].sort(), ['appointments', 'care-network', 'demographics']);
    assert.deepEqual(DEFAULT_MATRIX.R0001, ['audit']);
    assert.deepEqual(DEFAULT_MATRIX.R5105, ['audit']);
    assert.deepEqual(DEFAULT_MATRIX['icr-data-steward'], ['demographics']);
    assert.deepEqual(DEFAULT_MATRIX['icr-integration-engineer'], []);
    assert.deepEqual(DEFAULT_MATRIX['icr-system-admin'], []);
    for (const c of CLINICAL_CATEGORIES) assert.ok(DEFAULT_MATRIX.R8000.includes(c), c);
  });

  it('refuses an operator file with a precise error', () => {
    const full = Object.fromEntries(ROLE_CODES.map((r) => [r, ['demographics']]));
    assert.equal(parseMatrixText(JSON.stringify({ roles: full }), 'm.json').R8000.length, 1);
    const cases: Array<[string, RegExp]> = [
      ['{', /m\.json: not valid JSON/],
      ['[]', /m\.json: expected an object with "roles"/],
      [JSON.stringify({ roles: { ...full, R9999: [] } }), /unknown role "R9999"/],
      [JSON.stringify({ roles: { ...full, R8000: ['secrets'] } }), /roles\.R8000: unknown category "secrets"/],
      [JSON.stringify({ roles: { ...full, R8000: 'results' } }), /roles\.R8000 must be an array/],
      [JSON.stringify({ roles: { R8000: [] } }), /every role must be listed; missing: R8001/],
    ];
    for (const [text, message] of cases) {
      assert.throws(
        () => parseMatrixText(text, 'm.json'),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ICR_ACCESS_MATRIX_INVALID');
          assert.match(err.message, message);
          return true;
        },
      );
    }
  });

  it('refuses unknown roles naming the catalogue', () => {
    assert.equal(checkRole('R8000'), 'R8000');
    assert.throws(() => checkRole('icr-privacy-officer'), /ICR|Unknown role "icr-privacy-officer"; known roles: R8000/);
  });
});

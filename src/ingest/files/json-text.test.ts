import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineColumn, locateJsonError, parseJsonText } from './json-text.ts';

describe('parseJsonText', () => {
  it('parses JSON, with or without a byte-order mark', () => {
    assert.deepEqual(parseJsonText('{"a":1}'), { ok: true, value: { a: 1 } });
    assert.deepEqual(parseJsonText('\ufeff{"a":1}'), { ok: true, value: { a: 1 } });
  });

  it('names line and column of the fault, whatever the line endings', () => {
    for (const nl of ['\n', '\r\n', '\r']) {
      const r = parseJsonText(`{${nl}  "a": 1,${nl}  "b": tru${nl}}`);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.line, 3, JSON.stringify(nl));
        assert.equal(r.column, 8);
        assert.match(r.reason, /invalid literal/);
      }
    }
  });

  it('reports a missing comma, a trailing comma and a truncated file', () => {
    const missing = parseJsonText('{"a": 1\n "b": 2}');
    assert.deepEqual(missing.ok ? null : [missing.line, missing.column], [2, 2]);
    const trailing = parseJsonText('[1, 2,]');
    assert.deepEqual(trailing.ok ? null : [trailing.line, trailing.column, trailing.reason], [
      1,
      7,
      'unexpected character',
    ]);
    const truncated = parseJsonText('{"a": [1, 2');
    assert.deepEqual(truncated.ok ? null : [truncated.line, truncated.column, truncated.reason], [
      1,
      12,
      'unexpected end of input',
    ]);
  });

  it('never echoes the text in its reason', () => {
    const r = parseJsonText('{"name": "Alice Testwell" "nhs": "9990000018"}');
    assert.equal(r.ok, false);
    if (!r.ok) assert.doesNotMatch(r.reason, /Alice|999/);
  });

  it('locates errors in strings and numbers', () => {
    assert.equal(locateJsonError('"abc').reason, 'unterminated string');
    assert.equal(locateJsonError('"a\\x"').reason, 'invalid escape in string');
    assert.equal(locateJsonError('[01]').index, 2);
    assert.equal(locateJsonError('{"a":1} x').reason, 'unexpected content after the JSON value');
  });

  it('computes 1-based line and column', () => {
    assert.deepEqual(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
    assert.deepEqual(lineColumn('ab', 0), { line: 1, column: 1 });
  });
});

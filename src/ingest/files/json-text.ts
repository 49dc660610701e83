/**
 * JSON parsing for import files that reports where the text is malformed as line:column, and never
 * echoes the text itself (it may hold patient data). V8's own messages sometimes quote the input, so the
 * position and reason come from a small scanner run only after `JSON.parse` has failed.
 */

export type JsonParse = { ok: true; value: unknown } | { ok: false; line: number; column: number; reason: string };

/** Parses JSON text (a leading byte-order mark is allowed). */
export function parseJsonText(text: string): JsonParse {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    const { index, reason } = locateJsonError(body);
    const offset = body === text ? 0 : 1;
    const { line, column } = lineColumn(text, index + offset);
    return { ok: false, line, column, reason };
  }
}

/** 1-based line and column of a character index (CR, LF and CRLF all end a line). */
export function lineColumn(text: string, index: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  const end = Math.min(index, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: end - start + 1 };
}

class JsonSyntax extends Error {
  readonly index: number;
  constructor(index: number, reason: string) {
    super(reason);
    this.index = index;
  }
}

/** Where (character index) and why JSON text is malformed. Only called on text JSON.parse refused. */
export function locateJsonError(text: string): { index: number; reason: string } {
  let i = 0;
  const fail = (reason: string, evenAtEnd = false): never => {
    throw new JsonSyntax(i, i >= text.length && !evenAtEnd ? 'unexpected end of input' : reason);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`invalid literal (expected ${word})`, true);
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string', true);
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 92) {
        i++;
        const e = text.charAt(i);
        if (e === 'u') {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text.charAt(i + k))) {
              i += k;
              fail('invalid \\u escape');
            }
          }
          i += 5;
        } else if ('"\\/bfnrt'.includes(e) && e !== '') i++;
        else fail('invalid escape in string');
      } else i++;
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '-' || m[0] === '') fail('invalid number');
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text.charAt(i);
    if (c === '{') {
      i++;
      ws();
      if (text.charAt(i) === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text.charAt(i) !== '"') fail('expected a double-quoted property name');
        string();
        ws();
        if (text.charAt(i) !== ':') fail("expected ':' after property name");
        i++;
        value();
        ws();
        const d = text.charAt(i);
        if (d === ',') i++;
        else if (d === '}') {
          i++;
          return;
        } else fail("expected ',' or '}' after property value");
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text.charAt(i) === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        const d = text.charAt(i);
        if (d === ',') i++;
        else if (d === ']') {
          i++;
          return;
        } else fail("expected ',' or ']' after array element");
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c >= '0' && c <= '9')) number();
    else fail('unexpected character');
  };
  try {
    value();
    ws();
    if (i < text.length) fail('unexpected content after the JSON value');
    return { index: i, reason: 'malformed JSON' };
  } catch (err) {
    if (err instanceof JsonSyntax) return { index: err.index, reason: err.message };
    throw err;
  }
}

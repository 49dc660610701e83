/**
 * Parsing a JSON request body: well-formed JSON, no own `__proto__` key (it can poison objects built
 * from it) and, with `limits`, the structural limits of docs/limits.md. No I/O: the HTTP layer calls it
 * inline for small bodies and in a validation worker for large ones (src/workers/).
 */
import { IcrError } from '../shared/errors.ts';
import { checkJsonLimits, type JsonLimits } from './json-limits.ts';

/**
 * Parses a JSON request body; an own `__proto__` key is refused. With `limits`, a body nested too deep or
 * holding too long an array or string is ICR_LIMIT_EXCEEDED. An empty body is undefined.
 */
export function parseJsonBody(text: string, limits?: JsonLimits): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new IcrError('ICR_INVALID_JSON', 'The request body is not well-formed JSON', { cause: err });
  }
  if (text.includes('"__proto__"')) {
    JSON.parse(text, (key, v: unknown) => {
      if (key === '__proto__') throw new IcrError('ICR_INVALID_JSON', 'The request body has a "__proto__" property');
      return v;
    });
  }
  if (limits) checkJsonLimits(value, limits);
  return value;
}

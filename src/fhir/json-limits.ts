/**
 * Structural limits on a parsed JSON body, checked once, before validation, in one pass over the value
 * (iterative: a deeply nested body cannot overflow the stack here). Each limit and its error are in
 * docs/limits.md; the issue names the element at fault as a FHIRPath-like expression.
 */
import { IcrError } from '../shared/errors.ts';

export interface JsonLimits {
  /** Deepest nesting of objects and arrays (the body itself is depth 1). */
  maxJsonDepth: number;
  /** Longest array. */
  maxArrayLength: number;
  /** Longest string, in UTF-16 code units, except under the keys in BINARY_KEYS. */
  maxStringLength: number;
}

/**
 * Keys whose values are base64Binary in R4 (`Attachment.data`, `Binary.data`, `Signature.data`): a
 * document is bounded by the body limit alone.
 */
const BINARY_KEYS = new Set(['data']);

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  /** The key (object) or index (array) of this value in its parent. */
  key: string | number | undefined;
}

/** The expression of a value: `Patient.name[0].family` (the root's resourceType when it has one). */
function expressionOf(frame: Frame): string {
  const parts: string[] = [];
  for (let f: Frame = frame; f.parent !== undefined; f = f.parent) {
    parts.push(typeof f.key === 'number' ? `[${f.key}]` : `.${String(f.key)}`);
  }
  let root: Frame = frame;
  while (root.parent !== undefined) root = root.parent;
  const rt = (root.value as { resourceType?: unknown } | null)?.resourceType;
  const head = typeof rt === 'string' && /^[A-Za-z]{1,64}$/.test(rt) ? rt : '$';
  return head + parts.reverse().join('');
}

function exceeded(frame: Frame, message: string): IcrError {
  const expression = expressionOf(frame);
  return new IcrError('ICR_LIMIT_EXCEEDED', message, { details: [{ message, expression, issue: 'too-costly' }] });
}

/** Throws ICR_LIMIT_EXCEEDED when `value` is nested too deep, or holds too long an array or string. */
export function checkJsonLimits(value: unknown, limits: JsonLimits): void {
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const v = frame.value;
    if (typeof v === 'string') {
      if (v.length > limits.maxStringLength && !(typeof frame.key === 'string' && BINARY_KEYS.has(frame.key))) {
        throw exceeded(frame, `A string is longer than ${limits.maxStringLength} characters`);
      }
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (frame.depth > limits.maxJsonDepth) {
      throw exceeded(frame, `The JSON is nested deeper than ${limits.maxJsonDepth} levels`);
    }
    if (Array.isArray(v)) {
      if (v.length > limits.maxArrayLength) {
        throw exceeded(frame, `An array has more than ${limits.maxArrayLength} items`);
      }
      for (let i = v.length - 1; i >= 0; i--) {
        const item: unknown = v[i];
        if (typeof item === 'object' || typeof item === 'string') {
          stack.push({ value: item, depth: frame.depth + 1, parent: frame, key: i });
        }
      }
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      if (key.length > limits.maxStringLength) throw exceeded(frame, 'A property name is too long');
      const item: unknown = (v as Record<string, unknown>)[key];
      if (typeof item === 'object' || typeof item === 'string') {
        stack.push({ value: item, depth: frame.depth + 1, parent: frame, key });
      }
    }
  }
}

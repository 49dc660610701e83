/**
 * Compiles the FHIRPath expressions of search parameters into plain functions, once.
 *
 * Nearly every R4 search expression is a path with unions and a few filters
 * (`A.b.c | A.d`, `(A.value.ofType(Quantity))`, `A.x.as(T)`, `A.actor.where(resolve() is Patient)`,
 * `A.telecom.where(system='email')`, `A.extension('url').value`). Those compile to closures that walk the
 * JSON directly — about a hundred times faster than interpreting the expression. Anything else (for example
 * `Patient.deceased.exists() and Patient.deceased != false`) is parsed once by the FHIRPath engine of
 * `@medplum/core` and evaluated with it.
 *
 * `resolve() is T` cannot load the target here; it is answered from the reference itself: its `type`, or
 * the type segment of `reference` (relative `T/id` or absolute `…/T/id`).
 */
import { evalFhirPathTyped, parseFhirPath, toTypedValue } from '@medplum/core';

/** One value selected by an expression; `type` is set when the path makes it known (choice types, ofType). */
export interface PathNode {
  value: unknown;
  type?: string | undefined;
}

export type CompiledPath = (resource: object) => PathNode[];

type Step = (nodes: PathNode[]) => PathNode[];

const PRIMITIVES = new Set([
  'boolean',
  'integer',
  'string',
  'decimal',
  'uri',
  'url',
  'canonical',
  'base64Binary',
  'instant',
  'date',
  'dateTime',
  'time',
  'code',
  'oid',
  'id',
  'markdown',
  'unsignedInt',
  'positiveInt',
  'uuid',
]);

/** FHIR data type names that can follow a choice element's name (`value` + `Quantity`). */
const CHOICE_SUFFIXES = new Set([
  ...[...PRIMITIVES].map(cap),
  'Address',
  'Age',
  'Annotation',
  'Attachment',
  'CodeableConcept',
  'Coding',
  'ContactPoint',
  'Count',
  'Distance',
  'Duration',
  'HumanName',
  'Identifier',
  'Money',
  'Period',
  'Quantity',
  'Range',
  'Ratio',
  'Reference',
  'SampledData',
  'Signature',
  'Timing',
  'ContactDetail',
  'Contributor',
  'DataRequirement',
  'Expression',
  'ParameterDefinition',
  'RelatedArtifact',
  'TriggerDefinition',
  'UsageContext',
  'Dosage',
  'Meta',
]);

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** `DateTime` → `dateTime`, `Quantity` → `Quantity`. */
export function canonicalType(t: string): string {
  const lower = t.charAt(0).toLowerCase() + t.slice(1);
  return PRIMITIVES.has(lower) ? lower : cap(t);
}

function push(out: PathNode[], value: unknown, type?: string): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== undefined && v !== null) out.push({ value: v, type });
  } else {
    out.push({ value, type });
  }
}

function childStep(name: string): Step {
  return (nodes) => {
    const out: PathNode[] = [];
    for (const n of nodes) {
      const obj = n.value;
      if (typeof obj !== 'object' || obj === null) continue;
      const rec = obj as Record<string, unknown>;
      const direct = rec[name];
      if (direct !== undefined) {
        push(out, direct);
        continue;
      }
      // A choice element (`effective` → `effectiveDateTime` / `effectivePeriod`).
      for (const key in rec) {
        if (key.length > name.length && key.startsWith(name)) {
          const suffix = key.slice(name.length);
          if (CHOICE_SUFFIXES.has(suffix)) push(out, rec[key], canonicalType(suffix));
        }
      }
    }
    return out;
  };
}

function choiceStep(name: string, type: string): Step {
  const key = name + cap(type);
  const t = canonicalType(type);
  return (nodes) => {
    const out: PathNode[] = [];
    for (const n of nodes) {
      const obj = n.value;
      if (typeof obj === 'object' && obj !== null) push(out, (obj as Record<string, unknown>)[key], t);
    }
    return out;
  };
}

function ofTypeStep(type: string): Step {
  const t = canonicalType(type);
  return (nodes) => nodes.filter((n) => n.type === t);
}

/** The resource type a Reference points at, from `type` or the `reference` text; undefined if unknown. */
export function referenceTargetType(ref: unknown): string | undefined {
  if (typeof ref !== 'object' || ref === null) return undefined;
  const r = ref as { reference?: unknown; type?: unknown };
  if (typeof r.reference === 'string') {
    const m = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$/.exec(r.reference);
    if (m) return m[1];
  }
  return typeof r.type === 'string' ? r.type : undefined;
}

function resolveIsStep(type: string): Step {
  return (nodes) => nodes.filter((n) => referenceTargetType(n.value) === type);
}

function whereEqualsStep(field: string, literal: string): Step {
  return (nodes) =>
    nodes.filter(
      (n) => typeof n.value === 'object' && n.value !== null && (n.value as Record<string, unknown>)[field] === literal,
    );
}

function extensionStep(url: string): Step {
  return (nodes) => {
    const out: PathNode[] = [];
    for (const n of nodes) {
      const ext =
        typeof n.value === 'object' && n.value !== null ? (n.value as { extension?: unknown }).extension : undefined;
      if (Array.isArray(ext))
        for (const e of ext)
          if (typeof e === 'object' && e !== null && (e as { url?: unknown }).url === url) out.push({ value: e });
    }
    return out;
  };
}

// ---- a small parser for the supported subset ----

class Unsupported extends Error {}

type Token = { kind: 'id' | 'str' | 'op'; text: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|'((?:[^'\\]|\\.)*)'|(!=|[.()|=,]))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new Unsupported(`unexpected input at ${pos}`);
    pos = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'id', text: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: 'str', text: m[2].replace(/\\(.)/g, '$1') });
    else tokens.push({ kind: 'op', text: m[3] ?? '' });
  }
  return tokens;
}

class Parser {
  readonly #t: Token[];
  #i = 0;
  constructor(tokens: Token[]) {
    this.#t = tokens;
  }
  peek(): Token | undefined {
    return this.#t[this.#i];
  }
  next(): Token {
    const t = this.#t[this.#i++];
    if (!t) throw new Unsupported('unexpected end');
    return t;
  }
  expect(text: string): void {
    if (this.next().text !== text) throw new Unsupported(`expected ${text}`);
  }
  id(): string {
    const t = this.next();
    if (t.kind !== 'id') throw new Unsupported('expected a name');
    return t.text;
  }
  done(): boolean {
    return this.#i >= this.#t.length;
  }

  union(): Step {
    const terms = [this.path()];
    while (this.peek()?.text === '|') {
      this.next();
      terms.push(this.path());
    }
    if (terms.length === 1) return terms[0] as Step;
    return (nodes) => {
      const out: PathNode[] = [];
      for (const t of terms) for (const n of t(nodes)) out.push(n);
      return out;
    };
  }

  path(): Step {
    const steps: Step[] = [this.primary()];
    for (;;) {
      const p = this.peek();
      if (p?.text === '.') {
        this.next();
        steps.push(this.segment());
      } else if (p?.kind === 'id' && p.text === 'as') {
        this.next();
        steps.push(ofTypeStep(this.id()));
      } else break;
    }
    if (steps.length === 1) return steps[0] as Step;
    return (nodes) => {
      let acc = nodes;
      for (let i = 0; i < steps.length && acc.length > 0; i++) acc = (steps[i] as Step)(acc);
      return acc;
    };
  }

  primary(): Step {
    const t = this.next();
    if (t.text === '(') {
      const inner = this.union();
      this.expect(')');
      return inner;
    }
    if (t.kind !== 'id') throw new Unsupported('expected a path');
    if (/^[A-Z]/.test(t.text)) {
      const type = t.text;
      return (nodes) =>
        nodes.filter(
          (n) =>
            typeof n.value === 'object' &&
            n.value !== null &&
            (n.value as { resourceType?: unknown }).resourceType === type,
        );
    }
    return childStep(t.text);
  }

  segment(): Step {
    const name = this.id();
    if (this.peek()?.text !== '(') {
      // `name.ofType(T)` is read as the choice key `nameT` directly.
      if (this.peekFunction('ofType') || this.peekFunction('as')) {
        this.next();
        this.next();
        this.expect('(');
        const type = this.id();
        this.expect(')');
        return choiceStep(name, type);
      }
      return childStep(name);
    }
    this.expect('(');
    let step: Step;
    if (name === 'ofType' || name === 'as') {
      step = ofTypeStep(this.id());
    } else if (name === 'where') {
      const a = this.next();
      if (a.kind === 'id' && a.text === 'resolve') {
        this.expect('(');
        this.expect(')');
        if (this.id() !== 'is') throw new Unsupported('resolve() without is');
        step = resolveIsStep(this.id());
      } else if (a.kind === 'id') {
        this.expect('=');
        const lit = this.next();
        if (lit.kind !== 'str') throw new Unsupported('where() needs a string literal');
        step = whereEqualsStep(a.text, lit.text);
      } else throw new Unsupported('unsupported where()');
    } else if (name === 'extension') {
      const url = this.next();
      if (url.kind !== 'str') throw new Unsupported('extension() needs a url');
      step = extensionStep(url.text);
    } else if (name === 'first') {
      step = (nodes) => nodes.slice(0, 1);
    } else {
      throw new Unsupported(`function ${name}()`);
    }
    this.expect(')');
    return step;
  }

  peekFunction(fn: string): boolean {
    return this.#t[this.#i]?.text === '.' && this.#t[this.#i + 1]?.text === fn && this.#t[this.#i + 2]?.text === '(';
  }
}

/** Compiles the subset to closures; returns undefined when the expression uses anything else. */
export function compileFast(expression: string): ((input: PathNode[]) => PathNode[]) | undefined {
  // The `deceased` idiom: `X.exists() and X != false` → true when X is present and not false.
  const idiom = /^(.+)\.exists\(\) and \1 != false$/.exec(expression);
  if (idiom?.[1]) {
    const inner = compileFast(idiom[1]);
    if (!inner) return undefined;
    return (nodes) => [{ value: inner(nodes).some((n) => n.value !== false), type: 'boolean' }];
  }
  try {
    const p = new Parser(tokenize(expression));
    const step = p.union();
    if (!p.done()) return undefined;
    return step;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

/**
 * Compiles `expression` once. The input is a resource, or an element for the relative expressions of
 * composite components (`code`, `value.ofType(Quantity)`).
 */
export function compilePath(expression: string): CompiledPath & { fast: boolean } {
  const fast = compileFast(expression);
  if (fast) {
    return Object.assign((input: object) => fast([{ value: input }]), { fast: true });
  }
  const atom = parseFhirPath(expression);
  return Object.assign(
    (input: object) =>
      evalFhirPathTyped(atom, [toTypedValue(input)]).map((tv) => ({
        value: tv.value as unknown,
        type: tv.type === 'BackboneElement' || tv.type === 'Element' ? undefined : tv.type,
      })),
    { fast: false },
  );
}

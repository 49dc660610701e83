/**
 * An HL7 v2 message as parsed: its encoding characters, its segments (raw, still escaped) and typed
 * accessors that split repetitions, components and subcomponents and decode escapes on demand. No I/O.
 */
import { unescapeText } from './escape.ts';

/** The delimiters a message declares in MSH-1 and MSH-2. */
export interface Hl7Encoding {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  /** The truncation character of v2.7+ (a fifth MSH-2 character), when given. */
  truncation?: string;
}

export const DEFAULT_ENCODING: Hl7Encoding = {
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
};

/** One repetition of a field: components and subcomponents, decoded. */
export class Hl7Value {
  readonly raw: string;
  readonly #enc: Hl7Encoding;
  constructor(raw: string, enc: Hl7Encoding) {
    this.raw = raw;
    this.#enc = enc;
  }

  /** Component `c` (1-based), subcomponent `s` (1-based), unescaped; '' when absent. */
  c(c: number, s = 1): string {
    const comp = this.raw.split(this.#enc.component)[c - 1] ?? '';
    const sub = comp.split(this.#enc.subcomponent)[s - 1] ?? '';
    return unescapeText(sub, this.#enc);
  }

  /** The whole repetition as text, unescaped (components kept with their separators). */
  text(): string {
    return unescapeText(this.raw, this.#enc);
  }

  /** True when the value is empty or the HL7 explicit null `""`. */
  get isEmpty(): boolean {
    return this.raw === '' || this.raw === '""';
  }
}

export class Hl7Segment {
  readonly name: string;
  /** Raw fields: fields[n] is field n (for MSH, fields[1] is the field separator and fields[2] MSH-2). */
  readonly fields: readonly string[];
  /** 1-based position of the segment in its message. */
  readonly position: number;
  readonly #enc: Hl7Encoding;

  constructor(name: string, fields: readonly string[], position: number, enc: Hl7Encoding) {
    this.name = name;
    this.fields = fields;
    this.position = position;
    this.#enc = enc;
  }

  /** Raw text of field `n` (escaped, with repetitions). */
  raw(n: number): string {
    return this.fields[n] ?? '';
  }

  /** The repetitions of field `n` (an empty field has none). MSH-1 and MSH-2 are never split. */
  reps(n: number): Hl7Value[] {
    const raw = this.raw(n);
    if (raw === '') return [];
    if (this.name === 'MSH' && n <= 2) return [new Hl7Value(raw, this.#enc)];
    return raw.split(this.#enc.repetition).map((r) => new Hl7Value(r, this.#enc));
  }

  /** Field `n`, repetition `rep` (0-based), component `c`, subcomponent `s`: decoded text, '' when absent. */
  get(n: number, c = 1, s = 1, rep = 0): string {
    const raw = this.raw(n);
    if (raw === '""') return '';
    if (this.name === 'MSH' && n <= 2) return raw;
    const r = raw.split(this.#enc.repetition)[rep] ?? '';
    return new Hl7Value(r, this.#enc).c(c, s);
  }

  /** The first repetition of field `n` as a value. */
  value(n: number): Hl7Value {
    return this.reps(n)[0] ?? new Hl7Value('', this.#enc);
  }
}

/** MSH fields every channel needs (decoded). */
export interface Hl7Header {
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  dateTime: string;
  messageCode: string;
  triggerEvent: string;
  structure: string;
  controlId: string;
  processingId: string;
  version: string;
}

export class Hl7Message {
  readonly encoding: Hl7Encoding;
  readonly segments: readonly Hl7Segment[];
  readonly header: Hl7Header;

  constructor(encoding: Hl7Encoding, segments: readonly Hl7Segment[], header: Hl7Header) {
    this.encoding = encoding;
    this.segments = segments;
    this.header = header;
  }

  /** The first segment named `name`, or undefined. */
  segment(name: string): Hl7Segment | undefined {
    return this.segments.find((s) => s.name === name);
  }

  /** Every segment named `name`, in order. */
  all(name: string): Hl7Segment[] {
    return this.segments.filter((s) => s.name === name);
  }

  /** `ADT^A01` style type, for logs and routing. */
  get type(): string {
    return this.header.triggerEvent
      ? `${this.header.messageCode}^${this.header.triggerEvent}`
      : this.header.messageCode;
  }
}

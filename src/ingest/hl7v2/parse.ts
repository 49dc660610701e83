/**
 * The HL7 v2 parser (ADR 0025): bytes → text (UTF-8, or ISO 8859-1 when MSH-18 says so), a file or
 * stream → messages (FHS/BHS batch envelopes dropped), a message → segments. Segment ends may be CR, LF
 * or CRLF; a leading byte-order mark is ignored; Z-segments are kept. Malformed input is refused with an
 * `Hl7ParseError` naming where and why, never echoing the message's content beyond delimiters and ids.
 */
import { type Hl7Encoding, type Hl7Header, Hl7Message, Hl7Segment } from './message.ts';

/** Where a parse error is, in the terms an ACK's ERR segment uses. */
export interface Hl7Location {
  segment: string;
  /** 1-based position of the segment in the message. */
  sequence: number;
  field?: number;
}

/** HL7 table 0357 message error condition codes used in ACKs. */
export const Hl7ErrorCode = {
  segmentSequence: '100^Segment sequence error',
  requiredField: '101^Required field missing',
  dataType: '102^Data type error',
  tableValue: '103^Table value not found',
  unsupportedMessageType: '200^Unsupported message type',
  unsupportedEvent: '201^Unsupported event code',
  unsupportedProcessingId: '202^Unsupported processing id',
  unsupportedVersion: '203^Unsupported version id',
  unknownKey: '204^Unknown key identifier',
  duplicateKey: '205^Duplicate key identifier',
  applicationRecordLocked: '206^Application record locked',
  applicationError: '207^Application internal error',
} as const;
export type Hl7ErrorCode = (typeof Hl7ErrorCode)[keyof typeof Hl7ErrorCode];

export class Hl7ParseError extends Error {
  readonly location: Hl7Location | undefined;
  readonly code: Hl7ErrorCode;
  constructor(message: string, code: Hl7ErrorCode, location?: Hl7Location) {
    super(message);
    this.name = 'Hl7ParseError';
    this.code = code;
    this.location = location;
  }
}

/** Largest message accepted (bytes); larger frames are refused before parsing. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

const SEGMENT_ID = /^[A-Z][A-Z0-9]{2}$/;
const VERSION = /^2\.[1-8](\.\d{1,2})?$/;
const MESSAGE_CODE = /^[A-Z][A-Z0-9]{2}$/;
const EVENT_CODE = /^[A-Z0-9]{1,4}$/;
const BATCH_SEGMENTS = new Set(['FHS', 'FTS', 'BHS', 'BTS']);
/** Control characters other than tab, CR and LF never occur in a well-formed message. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]/;

/** Bytes to text: UTF-8; ISO 8859-1 when the bytes are not UTF-8 and MSH-18 names an 8859 set. */
export function decodeHl7(bytes: Uint8Array): string {
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  const body = bytes.subarray(start);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    const latin1 = Buffer.from(body).toString('latin1');
    const msh18 = /^MSH(.)/.exec(latin1)?.[1];
    const charset = msh18 ? (latin1.split(/\r\n|\r|\n/)[0]?.split(msh18)[17] ?? '') : '';
    if (/8859/.test(charset)) return latin1;
    throw new Hl7ParseError(
      'The message is not valid UTF-8 and MSH-18 names no other character set',
      Hl7ErrorCode.dataType,
      { segment: 'MSH', sequence: 1, field: 18 },
    );
  }
}

/** Splits text into lines (segment candidates), accepting CR, LF and CRLF; a BOM is dropped. */
function lines(text: string): string[] {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return t.split(/\r\n|\r|\n/);
}

/**
 * Splits a file or stream holding one or more messages (optionally wrapped in FHS/BHS … BTS/FTS) into the
 * text of each message. A message starts at a line beginning with `MSH`; text before the first MSH that is
 * not a batch segment is returned as its own chunk so that the caller refuses it with a reason.
 */
export function splitMessages(text: string): string[] {
  const out: string[][] = [];
  let current: string[] | undefined;
  for (const line of lines(text)) {
    if (line.trim() === '') continue;
    const id = line.slice(0, 3);
    if (BATCH_SEGMENTS.has(id) && (line.length === 3 || !/[A-Za-z0-9]/.test(line[3] ?? ''))) {
      current = undefined;
      continue;
    }
    if (id === 'MSH') {
      current = [line];
      out.push(current);
    } else if (current) {
      current.push(line);
    } else {
      current = [line];
      out.push(current);
    }
  }
  return out.map((l) => l.join('\r'));
}

/** MSH-1 and MSH-2 → the encoding characters, refusing what cannot be a delimiter set. */
function encodingOf(msh: string): Hl7Encoding {
  const where = (field: number): Hl7Location => ({ segment: 'MSH', sequence: 1, field });
  const field = msh[3];
  if (field === undefined)
    throw new Hl7ParseError('MSH has no field separator (MSH-1)', Hl7ErrorCode.requiredField, where(1));
  const isDelimiter = (ch: string) => /^[\x21-\x7E]$/.test(ch) && !/[A-Za-z0-9]/.test(ch);
  if (!isDelimiter(field)) {
    throw new Hl7ParseError(
      'MSH-1 field separator must be a printable ASCII character that is not a letter or digit',
      Hl7ErrorCode.dataType,
      where(1),
    );
  }
  const end = msh.indexOf(field, 4);
  const chars = end < 0 ? msh.slice(4) : msh.slice(4, end);
  if (chars.length < 4 || chars.length > 5) {
    throw new Hl7ParseError(
      `MSH-2 encoding characters must be 4 characters (5 with the v2.7 truncation character); found ${chars.length}`,
      Hl7ErrorCode.dataType,
      where(2),
    );
  }
  const list = Array.from(chars);
  for (const ch of list) {
    if (!isDelimiter(ch)) {
      throw new Hl7ParseError(
        'MSH-2 encoding characters must be printable ASCII characters that are not letters or digits',
        Hl7ErrorCode.dataType,
        where(2),
      );
    }
  }
  if (new Set([field, ...list]).size !== list.length + 1) {
    throw new Hl7ParseError(
      `MSH-2 encoding characters "${chars}" repeat a character or the field separator`,
      Hl7ErrorCode.dataType,
      where(2),
    );
  }
  const [component, repetition, escape, subcomponent, truncation] = list as [string, string, string, string, string?];
  return truncation
    ? { field, component, repetition, escape, subcomponent, truncation }
    : { field, component, repetition, escape, subcomponent };
}

/** Parses the text of one message. Throws Hl7ParseError with a precise reason when it is malformed. */
export function parseMessage(text: string): Hl7Message {
  const raw = lines(text).filter((l) => l.trim() !== '');
  const first = raw[0];
  if (first === undefined) throw new Hl7ParseError('The message is empty', Hl7ErrorCode.segmentSequence);
  if (!first.startsWith('MSH')) {
    throw new Hl7ParseError(
      `The message does not start with an MSH segment (it starts with "${safeId(first)}")`,
      Hl7ErrorCode.segmentSequence,
      { segment: safeId(first), sequence: 1 },
    );
  }
  const enc = encodingOf(first);
  const segments: Hl7Segment[] = [];
  for (const [n, line] of raw.entries()) {
    const position = n + 1;
    const parts = line.split(enc.field);
    const name = parts[0] ?? '';
    if (!SEGMENT_ID.test(name) || (line.length > 3 && line[3] !== enc.field)) {
      throw new Hl7ParseError(
        `Segment ${position} ("${safeId(line)}") does not start with a segment identifier (three capitals or digits) and a field separator: a line broken inside a field?`,
        Hl7ErrorCode.segmentSequence,
        { segment: safeId(line), sequence: position },
      );
    }
    if (CONTROL.test(line)) {
      throw new Hl7ParseError(`Segment ${position} (${name}) contains control characters`, Hl7ErrorCode.dataType, {
        segment: name,
        sequence: position,
      });
    }
    if (name === 'MSH' && position > 1) {
      throw new Hl7ParseError(`Segment ${position} is a second MSH inside one message`, Hl7ErrorCode.segmentSequence, {
        segment: name,
        sequence: position,
      });
    }
    // For MSH, field 1 is the separator itself: shift so that fields[n] is MSH-n.
    const fields = name === 'MSH' ? ['MSH', enc.field, ...parts.slice(1)] : parts;
    segments.push(new Hl7Segment(name, fields, position, enc));
  }
  const msh = segments[0] as Hl7Segment;
  const header = headerOf(msh);
  return new Hl7Message(enc, segments, header);
}

function headerOf(msh: Hl7Segment): Hl7Header {
  const at = (field: number): Hl7Location => ({ segment: 'MSH', sequence: 1, field });
  const version = msh.get(12, 1);
  if (version === '') throw new Hl7ParseError('MSH-12 version id is missing', Hl7ErrorCode.requiredField, at(12));
  if (!VERSION.test(version)) {
    throw new Hl7ParseError(
      `MSH-12 version id "${version.slice(0, 20)}${version.length > 20 ? '…' : ''}" is not an HL7 v2 version (2.1 to 2.8)`,
      Hl7ErrorCode.unsupportedVersion,
      at(12),
    );
  }
  const messageCode = msh.get(9, 1);
  const triggerEvent = msh.get(9, 2);
  if (messageCode === '') throw new Hl7ParseError('MSH-9 message type is missing', Hl7ErrorCode.requiredField, at(9));
  if (!MESSAGE_CODE.test(messageCode)) {
    throw new Hl7ParseError(
      `MSH-9.1 message code "${messageCode.slice(0, 10)}" is not three capital letters or digits`,
      Hl7ErrorCode.unsupportedMessageType,
      at(9),
    );
  }
  if (triggerEvent !== '' && !EVENT_CODE.test(triggerEvent)) {
    throw new Hl7ParseError(
      `MSH-9.2 trigger event "${triggerEvent.slice(0, 10)}" is not an event code`,
      Hl7ErrorCode.unsupportedEvent,
      at(9),
    );
  }
  const controlId = msh.get(10, 1);
  if (controlId === '')
    throw new Hl7ParseError('MSH-10 message control id is missing', Hl7ErrorCode.requiredField, at(10));
  if (controlId.length > 199) {
    throw new Hl7ParseError('MSH-10 message control id is longer than 199 characters', Hl7ErrorCode.dataType, at(10));
  }
  return {
    sendingApplication: msh.get(3, 1),
    sendingFacility: msh.get(4, 1),
    receivingApplication: msh.get(5, 1),
    receivingFacility: msh.get(6, 1),
    dateTime: msh.get(7, 1),
    messageCode,
    triggerEvent,
    structure: msh.get(9, 3),
    controlId,
    processingId: msh.get(11, 1),
    version,
  };
}

/** The first characters of a line, enough to name a segment id without echoing content. */
function safeId(line: string): string {
  return line
    .slice(0, 3)
    .replace(/[^\x20-\x7E]/g, '?')
    .replace(/"/g, "'");
}

/** Parses a file or stream of messages: each is a parsed message or the error that refused it. */
export function parseMessages(text: string): Array<{ text: string; message?: Hl7Message; error?: Hl7ParseError }> {
  const chunks = splitMessages(text);
  return chunks.map((chunk) => {
    try {
      return { text: chunk, message: parseMessage(chunk) };
    } catch (err) {
      if (err instanceof Hl7ParseError) return { text: chunk, error: err };
      throw err;
    }
  });
}

/**
 * HL7 v2 acknowledgements (original mode): MSH, MSA (AA accepted, AE error, AR rejected; MSA-2 the
 * control id acknowledged) and, on error, ERR with the location and a readable reason. The ACK is written
 * in the sender's version and encoding characters; when the message could not be parsed, in what could
 * be read of its MSH (or `|^~\&` and 2.5.1).
 */
import { escapeText, unescapeText } from './escape.ts';
import { DEFAULT_ENCODING, type Hl7Encoding } from './message.ts';
import type { Hl7ErrorCode, Hl7Location } from './parse.ts';

export type AckCode = 'AA' | 'AE' | 'AR';

/** What an ACK needs from the message it answers (possibly only partly readable). */
export interface AckSubject {
  encoding: Hl7Encoding;
  version: string;
  sendingApplication: string;
  sendingFacility: string;
  receivingApplication: string;
  receivingFacility: string;
  triggerEvent: string;
  controlId: string;
  processingId: string;
  /** MSH-9.1 (message code, e.g. ADT), when it reads as one; '' otherwise. */
  messageCode?: string;
}

export interface AckError {
  reason: string;
  code: Hl7ErrorCode;
  location?: Hl7Location | undefined;
}

export interface AckOptions {
  /** This system's application and facility names (MSH-3/4 of the ACK). */
  application?: string;
  facility?: string;
  /** The ACK's own control id. */
  controlId: string;
  /** Timestamp (defaults to now). */
  now?: Date;
}

const VERSION = /^2\.[1-8](\.\d{1,2})?$/;

/**
 * What can be read of an MSH line even when the message as a whole is refused: the delimiters (when they
 * are a valid set), MSH-3/4/5/6/9.1/9.2/10/11/12. Text fields are read as the parser reads them (first
 * component's first subcomponent, escape sequences decoded), so the sender look-up sees `R\T\D` as `R&D`
 * and the ACK, which escapes what it echoes, does not escape it twice. Never throws.
 */
export function sniffSubject(text: string): AckSubject {
  const line = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r\n|\r|\n/)[0] ?? '';
  const fallback: AckSubject = {
    encoding: DEFAULT_ENCODING,
    version: '2.5.1',
    sendingApplication: '',
    sendingFacility: '',
    receivingApplication: '',
    receivingFacility: '',
    triggerEvent: '',
    controlId: '',
    processingId: 'P',
  };
  if (!line.startsWith('MSH') || line.length < 8) return fallback;
  const field = line[3] as string;
  const chars = line.slice(4, 8);
  const ok = (ch: string) => /^[\x21-\x7E]$/.test(ch) && !/[A-Za-z0-9]/.test(ch);
  const set = [field, ...Array.from(chars)];
  if (!set.every(ok) || new Set(set).size !== 5) return fallback;
  const [component, repetition, escape, subcomponent] = Array.from(chars) as [string, string, string, string];
  const encoding: Hl7Encoding = { field, component, repetition, escape, subcomponent };
  const f = line.split(field);
  // f[n] is MSH-(n+1) because MSH-1 is the separator itself.
  const first = (n: number) => (f[n - 1] ?? '').split(repetition)[0]?.split(component) ?? [];
  const comp = (n: number, c = 1) =>
    unescapeText((first(n)[c - 1] ?? '').split(subcomponent)[0] ?? '', encoding).slice(0, 199);
  const version = comp(12);
  return {
    encoding,
    version: VERSION.test(version) ? version : '2.5.1',
    sendingApplication: comp(3),
    sendingFacility: comp(4),
    receivingApplication: comp(5),
    receivingFacility: comp(6),
    triggerEvent: /^[A-Z0-9]{1,4}$/.test(comp(9, 2)) ? comp(9, 2) : '',
    messageCode: /^[A-Z0-9]{1,4}$/.test(comp(9, 1)) ? comp(9, 1) : '',
    controlId: comp(10),
    processingId: /^[A-Z]{1,3}$/.test(comp(11)) ? comp(11) : 'P',
  };
}

/** HL7 v2 timestamp YYYYMMDDHHMMSS+ZZZZ (UTC). */
export function hl7Timestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}+0000`;
}

function versionAtLeast(version: string, major: number, minor: number, patch = 0): boolean {
  const [a = 0, b = 0, c = 0] = version.split('.').map(Number);
  if (a !== major) return a > major;
  if (b !== minor) return b > minor;
  return c >= patch;
}

/** Builds the ACK for `subject` (segments joined with CR, as sent over MLLP). */
export function buildAck(subject: AckSubject, code: AckCode, opts: AckOptions, error?: AckError): string {
  const enc = subject.encoding;
  const { field: F, component: C, subcomponent: S } = enc;
  const esc = (t: string) => escapeText(t, enc);
  const version = subject.version;
  const structured = versionAtLeast(version, 2, 3, 1);
  const msgType = [`ACK`, esc(subject.triggerEvent), structured ? 'ACK' : ''].filter((x, i) => i === 0 || x !== '');
  const msh = [
    'MSH',
    `${C}${enc.repetition}${enc.escape}${S}${enc.truncation ?? ''}`,
    esc(opts.application ?? 'OPENICR'),
    esc(opts.facility ?? 'OPENICR'),
    esc(subject.sendingApplication),
    esc(subject.sendingFacility),
    hl7Timestamp(opts.now ?? new Date()),
    '',
    msgType.join(C),
    esc(opts.controlId),
    esc(subject.processingId || 'P'),
    version,
  ];
  const modern = versionAtLeast(version, 2, 5);
  const reason = error ? esc(error.reason.slice(0, 250)) : '';
  // MSA-3 (text message) is withdrawn in 2.7+; before 2.5 it is the only place for a readable reason.
  const msa = ['MSA', code, esc(subject.controlId)];
  if (error && !versionAtLeast(version, 2, 7)) msa.push(reason);
  const segments = [msh.join(F), msa.join(F)];
  if (error) {
    const [num = '207', text = ''] = error.code.split('^');
    const loc = error.location;
    if (modern) {
      // ERR-1 (withdrawn) empty; ERR-2 location (ERL); ERR-3 HL7 error code (CWE); ERR-4 severity; ERR-8 user message.
      const erl = loc ? [loc.segment, String(loc.sequence), loc.field !== undefined ? String(loc.field) : ''] : [];
      const cwe = [num, esc(text), 'HL70357'];
      segments.push(['ERR', '', trimEnd(erl).map(esc).join(C), cwe.join(C), 'E', '', '', '', reason].join(F));
    } else {
      // v2.2–2.4: ERR-1 error code and location (CM: segment^sequence^field^code&text&table).
      const elc = [
        esc(loc?.segment ?? ''),
        loc ? String(loc.sequence) : '',
        loc?.field !== undefined ? String(loc.field) : '',
        [num, esc(text), 'HL70357'].join(S),
      ];
      segments.push(['ERR', elc.join(C)].join(F));
    }
  }
  return segments.join('\r');
}

function trimEnd(parts: string[]): string[] {
  const out = [...parts];
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/**
 * HL7 v2 escape sequences (v2.5 chapter 2.7): \F\ \S\ \T\ \R\ \E\ (delimiters), \Xhh…\ (hexadecimal
 * bytes), \.br\ and \.sp\ (line breaks), and the formatting sequences (\H\ \N\ \.in…\ \.ti…\ \.ce\ \.sk…\
 * \Z…\) which carry no text and are dropped. An escape character with no closing one is kept as text.
 */
import type { Hl7Encoding } from './message.ts';

export function unescapeText(text: string, enc: Hl7Encoding): string {
  const e = enc.escape;
  if (!text.includes(e)) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch !== e) {
      out += ch;
      i += 1;
      continue;
    }
    const end = text.indexOf(e, i + 1);
    if (end < 0) {
      out += text.slice(i);
      break;
    }
    const seq = text.slice(i + 1, end);
    const decoded = decodeSequence(seq, enc);
    out += decoded ?? `${e}${seq}${e}`;
    i = end + 1;
  }
  return out;
}

function decodeSequence(seq: string, enc: Hl7Encoding): string | undefined {
  switch (seq) {
    case 'F':
      return enc.field;
    case 'S':
      return enc.component;
    case 'T':
      return enc.subcomponent;
    case 'R':
      return enc.repetition;
    case 'E':
      return enc.escape;
    case 'P':
      return enc.truncation ?? '#';
    case 'H':
    case 'N':
    case '.ce':
    case '.fi':
    case '.nf':
      return '';
    case '.br':
    case '.sp':
      return '\n';
    default:
      break;
  }
  if (/^\.(sp|sk|in|ti)[+-]?\d*$/.test(seq)) return seq.startsWith('.sp') ? '\n' : '';
  if (/^X([0-9A-Fa-f]{2})+$/.test(seq)) return Buffer.from(seq.slice(1), 'hex').toString('utf8');
  if (/^Z/.test(seq) || /^[CM][0-9A-Fa-f]+$/.test(seq)) return '';
  return undefined;
}

/** Escapes text for an HL7 field: delimiters become \F\ \S\ \T\ \R\ \E\, line breaks \.br\, other control characters \Xhh\. */
export function escapeText(text: string, enc: Hl7Encoding): string {
  let out = '';
  for (const ch of text) {
    if (ch === enc.escape) out += `${enc.escape}E${enc.escape}`;
    else if (ch === enc.field) out += `${enc.escape}F${enc.escape}`;
    else if (ch === enc.component) out += `${enc.escape}S${enc.escape}`;
    else if (ch === enc.subcomponent) out += `${enc.escape}T${enc.escape}`;
    else if (ch === enc.repetition) out += `${enc.escape}R${enc.escape}`;
    else if (ch === '\n') out += `${enc.escape}.br${enc.escape}`;
    else if (ch === '\r') continue;
    // Other control characters (a NUL echoed from a sender's MSH into its ACK) as hex escapes: a raw one
    // makes the segment unreadable to the receiver's parser.
    else if (ch < ' ' || ch === '\x7f')
      out += `${enc.escape}X${ch.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}${enc.escape}`;
    else out += ch;
  }
  return out;
}

/**
 * The feeds join the fuzz suite (issue 14): the HL7 v2 parser and MLLP framing, in process.
 *
 * - parsing any text gives messages or Hl7ParseErrors (an ACK with an ERR segment), never another
 *   exception; `sniffSubject`, which builds the ACK of a refused message, never throws;
 * - MLLP framing survives any split of the byte stream: the messages decoded from a framed stream cut at
 *   arbitrary points are the messages framed, in order; arbitrary bytes never make the decoder throw.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sniffSubject } from '../../src/ingest/hl7v2/ack.ts';
import { Hl7ParseError, parseMessage, parseMessages } from '../../src/ingest/hl7v2/parse.ts';
import { frame, MllpDecoder } from '../../src/ingest/mllp/framing.ts';
import { hostileText } from './arbitraries.ts';

const SEGMENTS = ['MSH', 'PID', 'PV1', 'EVN', 'OBX', 'OBR', 'NK1', 'AL1', 'MRG', 'ZZZ', 'MS', ''];

/** HL7-shaped text: an MSH line (sometimes with broken delimiters), segments of fields and components. */
const hl7Text: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('MSH|^~\\&|', 'MSH|^~\\&#|', 'MSH|||||', 'MSH^~\\&|', 'MSH', '\ufeffMSH|^~\\&|', 'PID|'),
    fc.array(
      fc.oneof(
        hostileText,
        fc.constantFrom(
          'APP',
          'FAC',
          '20260101120000',
          'ADT^A01^ADT_A01',
          'MSG1',
          'P',
          '2.5.1',
          '2.9',
          '\\E\\',
          '\\X0D\\',
          '\\H\\x\\N\\',
        ),
      ),
      {
        maxLength: 14,
      },
    ),
    fc.array(
      fc.tuple(
        fc.constantFrom(...SEGMENTS),
        fc.array(fc.oneof(hostileText, fc.constantFrom('^', '~', '&', '\\')), { maxLength: 8 }),
      ),
      { maxLength: 6 },
    ),
    fc.constantFrom('\r', '\n', '\r\n', '\n\r', ''),
  )
  .map(([head, fields, segments, eol]) =>
    [head + fields.join('|'), ...segments.map(([name, f]) => [name, ...f].join('|'))].join(eol),
  );

export const hl7ParserProperty = fc.property(
  fc.oneof(hl7Text, fc.string({ unit: 'binary', maxLength: 200 })),
  (text) => {
    sniffSubject(text);
    for (const m of parseMessages(text)) assert.ok((m.message === undefined) !== (m.error === undefined));
    try {
      parseMessage(text);
    } catch (e) {
      if (!(e instanceof Hl7ParseError)) throw e;
    }
  },
);

export const mllpFramingProperty = fc.property(
  fc.array(
    fc
      .string({ minLength: 1, maxLength: 60 })
      .map((s) => s.replaceAll('\u000b', '').replaceAll('\u001c', ''))
      .filter((s) => s.length > 0),
    {
      maxLength: 5,
    },
  ),
  fc.array(fc.nat(), { maxLength: 8 }),
  fc.uint8Array({ maxLength: 40 }),
  (messages, cuts, junk) => {
    const stream = Buffer.concat(messages.map((m) => frame(m)));
    const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
    const decoder = new MllpDecoder(1024 * 1024);
    const got: string[] = [];
    let from = 0;
    for (const p of [...points, stream.length]) {
      for (const ev of decoder.push(stream.subarray(from, p)))
        if (ev.kind === 'message') got.push(ev.bytes.toString('utf8'));
      from = p;
    }
    assert.deepEqual(got, messages);
    // Arbitrary bytes, then a good frame: the decoder never throws, and still finds a message after junk
    // that leaves no frame open.
    const after = new MllpDecoder(64);
    after.push(Buffer.from(junk));
    after.push(Buffer.from([0x1c, 0x0d]));
  },
);

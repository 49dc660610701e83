/**
 * The feeds join the fuzz suite (issue 14): the HL7 v2 parser and MLLP framing, in process.
 *
 * - parsing any text gives messages or Hl7ParseErrors (an ACK with an ERR segment), never another
 *   exception; `sniffSubject`, which builds the ACK of a refused message, never throws;
 * - MLLP framing survives any split of the byte stream: the messages decoded from a framed stream cut at
 *   arbitrary points are the messages framed, in order; arbitrary bytes never make the decoder throw;
 * - the MLLP intake answers every payload (any bytes, HL7-shaped text from a known or unknown sender) with
 *   an ACK that parses, whose MSA-1 is AA, AE or AR, and which carries an ERR segment whenever it is not
 *   AA (`intakeProperty`, run against a real feed registry on each database in test/fuzz.test.ts).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sniffSubject } from '../../src/ingest/hl7v2/ack.ts';
import { Hl7ParseError, parseMessage, parseMessages } from '../../src/ingest/hl7v2/parse.ts';
import { frame, MllpDecoder } from '../../src/ingest/mllp/framing.ts';
import type { Hl7Intake } from '../../src/ingest/mllp/intake.ts';
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

/** A known sender's MSH (the feed test/fuzz.test.ts registers), for payloads that get past the sender check. */
export const KNOWN_SENDER = { application: 'FUZZPAS', facility: 'FUZZ1' };

const payload: fc.Arbitrary<Buffer> = fc.oneof(
  hl7Text.map((t) => Buffer.from(t, 'utf8')),
  fc
    .tuple(
      fc.constantFrom('ADT^A01^ADT_A01', 'ADT^A08^ADT_A01', 'ORU^R01^ORU_R01', 'ZZZ^Z01', ''),
      fc.constantFrom('2.5.1', '2.3', '2.9', '3.0', ''),
      fc.array(fc.oneof(hostileText, fc.constantFrom('PID|1||123^^^X^MR||Doe^Jane', 'PV1|1|I', 'OBX|1|ST|x||y')), {
        maxLength: 5,
      }),
      fc.constantFrom('\r', '\n', '\r\n'),
      fc.string({ maxLength: 12 }),
    )
    .map(([type, version, rest, eol, control]) =>
      Buffer.from(
        [
          `MSH|^~\\&|${KNOWN_SENDER.application}|${KNOWN_SENDER.facility}|OPENICR|ICR|20260101120000||${type}|${control}|P|${version}`,
          ...rest,
        ].join(eol),
        'utf8',
      ),
    ),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
);

export function intakeProperty(intake: Hl7Intake): fc.IAsyncProperty<[Buffer]> {
  return fc.asyncProperty(payload, async (bytes) => {
    const r = await intake.handle({ bytes, remoteAddress: '127.0.0.1', connectionId: 'fuzz' });
    assert.ok(['AA', 'AE', 'AR'].includes(r.code), r.code);
    const ack = parseMessage(r.ack);
    assert.equal(ack.segment('MSA')?.get(1), r.code, r.ack);
    if (r.code !== 'AA') assert.ok(ack.segment('ERR'), `an ${r.code} without ERR: ${JSON.stringify(r.ack)}`);
  });
}

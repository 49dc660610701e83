import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAck, sniffSubject } from './ack.ts';
import { parseMessage } from './parse.ts';

describe('sniffSubject', () => {
  it('reads MSH-3/MSH-4 as the parser does: escape sequences decoded, the first subcomponent', () => {
    const text = 'MSH|^~\\&|R\\T\\D PAS&LOCAL|ST\\S\\MARY|ICR|ICR|20260101||ADT^A01|C\\F\\1|P|2.4\rPID|1||H1^^^X^MR';
    const s = sniffSubject(text);
    assert.equal(s.sendingApplication, 'R&D PAS');
    assert.equal(s.sendingFacility, 'ST^MARY');
    assert.equal(s.controlId, 'C|1');
    assert.equal(s.messageCode, 'ADT');
    const h = parseMessage(text.replace('R\\T\\D PAS&LOCAL', 'R\\T\\D PAS')).header;
    assert.deepEqual([h.sendingApplication, h.sendingFacility, h.controlId], ['R&D PAS', 'ST^MARY', 'C|1']);
  });

  it('the ACK echoes them escaped once, in the sender’s delimiters', () => {
    const s = sniffSubject('MSH#$~!&#R!T!D#ST!S!MARY#ICR#ICR#20260101##ADT$A01#C1#P#2.5');
    assert.equal(s.sendingApplication, 'R&D');
    const ack = buildAck(s, 'AA', { controlId: 'A1', now: new Date('2026-01-01T00:00:00Z') });
    assert.match(ack, /^MSH#\$~!&#OPENICR#OPENICR#R!T!D#ST!S!MARY#/);
  });

  it('keeps an unknown escape sequence as text and never throws on a broken MSH', () => {
    assert.equal(sniffSubject('MSH|^~\\&|A\\Q\\B|F').sendingApplication, 'A\\Q\\B');
    assert.equal(sniffSubject('MSH|^^^^|x').sendingApplication, '');
    assert.equal(sniffSubject('').sendingFacility, '');
  });
});

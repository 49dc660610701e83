import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FS, frame, MllpDecoder, VT } from './framing.ts';

const msgs = (events: ReturnType<MllpDecoder['push']>) =>
  events.filter((e) => e.kind === 'message').map((e) => (e.kind === 'message' ? e.bytes.toString() : ''));

describe('MLLP framing state machine', () => {
  it('reassembles a frame split across reads, at every byte boundary', () => {
    const wire = frame('MSH|^~\\&|A\rPID|1');
    for (let cut = 0; cut <= wire.length; cut += 1) {
      const d = new MllpDecoder(1024);
      const got = [...msgs(d.push(wire.subarray(0, cut))), ...msgs(d.push(wire.subarray(cut)))];
      assert.deepEqual(got, ['MSH|^~\\&|A\rPID|1'], `cut at ${cut}`);
    }
  });

  it('splits several frames in one read, in order', () => {
    const d = new MllpDecoder(1024);
    assert.deepEqual(msgs(d.push(Buffer.concat([frame('one'), frame('two'), frame('three')]))), [
      'one',
      'two',
      'three',
    ]);
  });

  it('discards and counts garbage between frames', () => {
    const d = new MllpDecoder(1024);
    const events = d.push(Buffer.concat([Buffer.from('noise'), frame('a'), Buffer.from('\r\n'), frame('b')]));
    assert.deepEqual(
      events.map((e) => e.kind),
      ['garbage', 'message', 'garbage', 'message'],
    );
    assert.deepEqual(
      events.filter((e) => e.kind === 'garbage').map((e) => e.bytes),
      [5, 2],
    );
  });

  it('drops an unfinished frame when a new start block arrives', () => {
    const d = new MllpDecoder(1024);
    const events = d.push(Buffer.concat([Buffer.of(VT), Buffer.from('cut short'), frame('whole')]));
    assert.deepEqual(
      events.map((e) => e.kind),
      ['garbage', 'message'],
    );
    assert.deepEqual(msgs(events), ['whole']);
  });

  it('keeps an FS not followed by CR as data', () => {
    const d = new MllpDecoder(1024);
    const wire = Buffer.concat([Buffer.of(VT), Buffer.from('a'), Buffer.of(FS), Buffer.from('b'), Buffer.of(FS, 0x0d)]);
    assert.deepEqual(msgs(d.push(wire)), ['a\x1cb']);
  });

  it('refuses an oversized frame (even split across reads) and carries on with the next', () => {
    const d = new MllpDecoder(10);
    const big = frame('x'.repeat(25));
    const events = [
      ...d.push(big.subarray(0, 8)),
      ...d.push(big.subarray(8, 20)),
      ...d.push(Buffer.concat([big.subarray(20), frame('ok')])),
    ];
    assert.deepEqual(
      events.map((e) => e.kind),
      ['oversized', 'message'],
    );
    assert.equal(events[0]?.kind === 'oversized' ? events[0].bytes : 0, 25);
    assert.deepEqual(msgs(events), ['ok']);
  });

  it('says when it is inside a frame', () => {
    const d = new MllpDecoder(100);
    d.push(Buffer.of(VT, 0x41));
    assert.equal(d.inFrame, true);
    d.push(Buffer.of(FS, 0x0d));
    assert.equal(d.inFrame, false);
  });
});

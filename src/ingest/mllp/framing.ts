/**
 * MLLP framing (HL7 v2 MLLP release 2 minus the commit acknowledgement): a message is
 * `<VT=0x0B> bytes <FS=0x1C><CR=0x0D>`. TCP delivers bytes, not messages: a frame may arrive split across
 * reads, several in one read, with garbage between them. This decoder is a small state machine fed chunk
 * by chunk; it never assumes one read is one message. No I/O.
 */

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export type FrameEvent =
  | { kind: 'message'; bytes: Buffer }
  /** Bytes outside any frame (or an unfinished frame cut short by a new start block), discarded. */
  | { kind: 'garbage'; bytes: number }
  /** A frame larger than the limit: its bytes are discarded up to its end block. */
  | { kind: 'oversized'; bytes: number };

type State = 'seek' | 'frame' | 'frame-fs' | 'skip' | 'skip-fs';

export class MllpDecoder {
  readonly #max: number;
  #state: State = 'seek';
  #parts: Buffer[] = [];
  #size = 0;
  #garbage = 0;
  #skipped = 0;

  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  /** True while inside a frame (bytes received but the end block not yet). */
  get inFrame(): boolean {
    return this.#state !== 'seek';
  }

  /** Feeds one chunk; returns what it completed, in order. */
  push(chunk: Buffer): FrameEvent[] {
    const out: FrameEvent[] = [];
    let i = 0;
    while (i < chunk.length) {
      switch (this.#state) {
        case 'seek': {
          const start = chunk.indexOf(VT, i);
          if (start < 0) {
            this.#garbage += chunk.length - i;
            i = chunk.length;
          } else {
            this.#garbage += start - i;
            this.#flushGarbage(out);
            this.#state = 'frame';
            i = start + 1;
          }
          break;
        }
        case 'frame': {
          // Scan for the end block or a new start block, whichever comes first.
          let j = i;
          while (j < chunk.length && chunk[j] !== FS && chunk[j] !== VT) j += 1;
          this.#append(chunk.subarray(i, j));
          i = j;
          if (this.#skipping() || j >= chunk.length) break;
          if (chunk[j] === VT) {
            // A new frame starts before this one ended: the unfinished one is discarded.
            this.#garbage += this.#size + 1;
            this.#reset();
            this.#flushGarbage(out);
          } else {
            this.#state = 'frame-fs';
          }
          i = j + 1;
          break;
        }
        case 'frame-fs': {
          if (chunk[i] === CR) {
            out.push({ kind: 'message', bytes: Buffer.concat(this.#parts, this.#size) });
            this.#reset();
            this.#state = 'seek';
            i += 1;
          } else {
            // FS not followed by CR is data (lenient: some senders put FS in binary content).
            this.#append(Buffer.of(FS));
            if (!this.#skipping()) this.#state = 'frame';
          }
          break;
        }
        case 'skip': {
          const end = chunk.indexOf(FS, i);
          if (end < 0) {
            this.#skipped += chunk.length - i;
            i = chunk.length;
          } else {
            this.#skipped += end - i;
            this.#state = 'skip-fs';
            i = end + 1;
          }
          break;
        }
        case 'skip-fs': {
          if (chunk[i] === CR) {
            out.push({ kind: 'oversized', bytes: this.#skipped });
            this.#skipped = 0;
            this.#state = 'seek';
          } else {
            this.#skipped += 1;
            this.#state = 'skip';
          }
          i += 1;
          break;
        }
      }
    }
    if (this.#state === 'seek') this.#flushGarbage(out);
    return out;
  }

  /** Whether the last append found the frame too large (TS cannot see #append change the state). */
  #skipping(): boolean {
    return this.#state === 'skip';
  }

  #append(part: Buffer): void {
    if (part.length === 0) return;
    if (this.#size + part.length > this.#max) {
      this.#skipped = this.#size + part.length;
      this.#reset();
      this.#state = 'skip';
      return;
    }
    this.#parts.push(part);
    this.#size += part.length;
  }

  #reset(): void {
    this.#parts = [];
    this.#size = 0;
  }

  #flushGarbage(out: FrameEvent[]): void {
    if (this.#garbage > 0) out.push({ kind: 'garbage', bytes: this.#garbage });
    this.#garbage = 0;
  }
}

/** Wraps a message in MLLP start and end blocks. */
export function frame(message: string | Buffer): Buffer {
  const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return Buffer.concat([Buffer.of(VT), body, Buffer.of(FS, CR)]);
}

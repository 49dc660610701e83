/**
 * What happens to one HL7 v2 message received over MLLP, up to its ACK:
 *
 * 1. unreadable MSH, unknown or suspended sender → AR with the reason (nothing stored);
 * 2. a known sender's malformed message → AE with the ERR location and reason (counted as rejected);
 * 3. otherwise the raw message and its connection metadata are committed to the inbox with its processing
 *    job (group commit: messages arriving together, across connections, share one transaction), then AA.
 *    A repeat (same feed, MSH-3, MSH-4, MSH-10) is acknowledged AA and not stored or applied again;
 * 4. when the commit fails (database down), AR: nothing was kept, the sender should resend.
 *
 * Logs carry feed ids, ACK codes and counts only (never message content).
 */
import { randomBytes } from 'node:crypto';
import type { FeedService } from '../../records/feeds/feed-service.ts';
import type { InboxMessage } from '../../store/feed-store.ts';
import { type AckCode, type AckError, type AckSubject, buildAck, sniffSubject } from '../hl7v2/ack.ts';
import type { Hl7Message } from '../hl7v2/message.ts';
import { decodeHl7, Hl7ErrorCode, Hl7ParseError, parseMessage } from '../hl7v2/parse.ts';

export interface IntakeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface Received {
  bytes: Buffer;
  remoteAddress: string;
  connectionId: string;
}

export interface IntakeResult {
  code: AckCode;
  ack: string;
  /** Inbox id when stored (or already held). */
  messageId?: number;
  duplicate?: boolean;
}

interface Pending {
  message: InboxMessage;
  resolve: (r: { id: number; duplicate: boolean }) => void;
  reject: (err: unknown) => void;
}

const ACK_PREFIX = randomBytes(3).toString('hex');

export class Hl7Intake {
  readonly #feeds: FeedService;
  readonly #log: IntakeLog | undefined;
  #pending: Pending[] = [];
  #flushing = false;
  #ackSeq = 0;
  /** Largest number of messages one commit carried (for tests and the bench). */
  largestCommit = 0;
  commits = 0;

  constructor(feeds: FeedService, log?: IntakeLog) {
    this.#feeds = feeds;
    this.#log = log;
  }

  #ack(subject: AckSubject, code: AckCode, error?: AckError): string {
    this.#ackSeq += 1;
    return buildAck(subject, code, { controlId: `ICR${ACK_PREFIX}${this.#ackSeq}` }, error);
  }

  async handle(r: Received): Promise<IntakeResult> {
    let text: string;
    try {
      text = decodeHl7(r.bytes);
    } catch (err) {
      const subject = sniffSubject(r.bytes.toString('latin1'));
      const reason = err instanceof Hl7ParseError ? err.message : 'The message could not be decoded';
      return { code: 'AR', ack: this.#ack(subject, 'AR', { reason, code: Hl7ErrorCode.dataType }) };
    }
    const subject = sniffSubject(text);
    if (!text.startsWith('MSH') && !text.startsWith('\ufeffMSH')) {
      const reason = 'The message does not start with an MSH segment';
      return { code: 'AR', ack: this.#ack(subject, 'AR', { reason, code: Hl7ErrorCode.segmentSequence }) };
    }
    const sender = await this.#feeds.checkSender(subject.sendingApplication, subject.sendingFacility);
    if (!sender.ok) {
      if (sender.feed) await this.#feeds.countRejected(sender.feed.id);
      this.#log?.warn({ feed: sender.feed?.id ?? null, ack: 'AR' }, 'MLLP message refused: sender');
      return {
        code: 'AR',
        ack: this.#ack(subject, 'AR', { reason: sender.reason, code: Hl7ErrorCode.applicationError }),
      };
    }
    const feed = sender.feed;
    let message: Hl7Message;
    try {
      message = parseMessage(text);
    } catch (err) {
      if (!(err instanceof Hl7ParseError)) throw err;
      await this.#feeds.countRejected(feed.id);
      this.#log?.warn({ feed: feed.id, ack: 'AE', hl7Error: err.code }, 'MLLP message refused: malformed');
      // An unsupported version is refused outright (AR); content errors are AE.
      const code: AckCode = err.code === Hl7ErrorCode.unsupportedVersion ? 'AR' : 'AE';
      return { code, ack: this.#ack(subject, code, { reason: err.message, code: err.code, location: err.location }) };
    }
    const h = message.header;
    let stored: { id: number; duplicate: boolean };
    try {
      stored = await this.#commit({
        feedId: feed.id,
        sendingApplication: h.sendingApplication,
        sendingFacility: h.sendingFacility,
        controlId: h.controlId,
        messageType: message.type,
        raw: text,
        remoteAddress: r.remoteAddress,
        connectionId: r.connectionId,
        orderingKey: orderingKeyOf(feed.id, message),
      });
    } catch (err) {
      this.#log?.warn(
        { feed: feed.id, ack: 'AR', error: err instanceof Error ? err.name : 'error' },
        'MLLP message not stored',
      );
      return {
        code: 'AR',
        ack: this.#ack(subject, 'AR', {
          reason: 'The message could not be stored just now; please resend it',
          code: Hl7ErrorCode.applicationError,
        }),
      };
    }
    return { code: 'AA', ack: this.#ack(subject, 'AA'), messageId: stored.id, duplicate: stored.duplicate };
  }

  /** Group commit: joins the next transaction; resolves once it is committed. */
  #commit(message: InboxMessage): Promise<{ id: number; duplicate: boolean }> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ message, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      // Let messages that arrived in the same turn of the event loop join this commit.
      await new Promise((r) => setImmediate(r));
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        try {
          const results = await this.#feeds.receive(batch.map((p) => p.message));
          this.commits += 1;
          this.largestCommit = Math.max(this.largestCommit, batch.length);
          batch.forEach((p, n) => {
            const res = results[n];
            if (res) p.resolve(res);
            else p.reject(new Error('no inbox result'));
          });
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }
}

/**
 * The queue ordering key: the person as the sender identifies them (PID-3's first identifier and its
 * assigning authority), so that one person's messages are applied in order. Merges order on the
 * surviving identifier. Messages without a PID are not ordered.
 */
export function orderingKeyOf(feedId: string, message: Hl7Message): string | null {
  const pid = message.segment('PID');
  const cx = pid?.reps(3).find((r) => r.c(1) !== '');
  if (!cx) return null;
  return `${feedId}|${cx.c(4)}|${cx.c(1)}`;
}

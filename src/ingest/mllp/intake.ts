/**
 * What happens to one HL7 v2 message received over MLLP, up to its ACK:
 *
 * 1. unreadable MSH, unknown or suspended sender → AR with the reason;
 * 2. a known sender's malformed message → AE with the ERR location and reason;
 *    (1 and 2 are kept as received, with the reason, before the ACK, for integration engineers to read and
 *    replay: `FeedService.keepRejected`, ADR 0046; they never reach the inbox or the record);
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
import { nhsNumberOf, patientIdentifiers, patientKey } from '../mapping/common.ts';
import { isValidNhsNumber } from '../../mpi/normalise/nhs-number.ts';

export interface IntakeLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface Received {
  bytes: Buffer;
  remoteAddress: string;
  connectionId: string;
  /** A replay of this rejected message (ADR 0046): a refusal is recorded on it, not kept again. */
  replayOf?: number;
}

export interface IntakeResult {
  code: AckCode;
  ack: string;
  /** Inbox id when stored (or already held). */
  messageId?: number;
  duplicate?: boolean;
  /** The reason sent in ERR (AE/AR). */
  reason?: string;
  /** The feed the sender was recognised as, when it was. */
  feedId?: string;
}

interface Pending {
  message: InboxMessage;
  resolve: (r: { id: number; duplicate: boolean }) => void;
  reject: (err: unknown) => void;
}

const ACK_PREFIX = randomBytes(3).toString('hex');

/** The most messages one group commit carries. */
const MAX_GROUP = 1000;

const done = (r: IntakeResult) => ({ result: Promise.resolve(r) });

export class Hl7Intake {
  readonly #feeds: FeedService;
  readonly #log: IntakeLog | undefined;
  #pending: Pending[] = [];
  #flushing = false;
  #ackSeq = 0;
  /** Largest number of messages one commit carried (for tests and the bench). */
  largestCommit = 0;
  commits = 0;
  /** Called after each group commit (the server wakes the queue worker: no wait for its next poll). */
  onCommitted: (() => void) | undefined;

  constructor(feeds: FeedService, log?: IntakeLog) {
    this.#feeds = feeds;
    this.#log = log;
  }

  #ack(subject: AckSubject, code: AckCode, error?: AckError): string {
    this.#ackSeq += 1;
    return buildAck(subject, code, { controlId: `ICR${ACK_PREFIX}${this.#ackSeq}` }, error);
  }

  /** Replays a rejected message (FeedService.replayRejected): the same checks and inbox as from the sender. */
  async replay(bytes: Buffer, rejectedId: number): Promise<IntakeResult> {
    return this.handle({ bytes, remoteAddress: 'replay', connectionId: `replay-${rejectedId}`, replayOf: rejectedId });
  }

  /**
   * Answers a refused message: keeps it as received with the reason (unless it is a replay, whose outcome
   * the replay records), then resolves with the ACK. When it cannot be kept (the database is down) the ACK
   * still goes: the sender was refused for its own reason and will resend.
   */
  #refuse(
    r: Received,
    subject: AckSubject,
    feedId: string | null,
    code: 'AE' | 'AR',
    error: AckError,
  ): { result: Promise<IntakeResult> } {
    const ack = this.#ack(subject, code, error);
    const result: IntakeResult = { code, ack, reason: error.reason, ...(feedId ? { feedId } : {}) };
    if (r.replayOf !== undefined) return done(result);
    const loc = error.location;
    const kept = this.#feeds
      .keepRejected({
        feedId,
        sendingApplication: subject.sendingApplication,
        sendingFacility: subject.sendingFacility,
        controlId: subject.controlId,
        messageType: [subject.messageCode ?? '', subject.triggerEvent].filter((x) => x !== '').join('^'),
        raw: r.bytes,
        ackCode: code,
        reason: error.reason,
        errorCode: error.code,
        errorLocation: loc ? [loc.segment, String(loc.sequence), loc.field ?? ''].join('^') : undefined,
        remoteAddress: r.remoteAddress,
        connectionId: r.connectionId,
      })
      .catch((err: unknown) => {
        this.#log?.warn(
          { feed: feedId, ack: code, error: err instanceof Error ? err.name : 'error' },
          'MLLP rejected message not kept',
        );
      });
    return { result: kept.then(() => result) };
  }

  /** Handles one message and resolves with its ACK once it is committed (or refused). */
  async handle(r: Received): Promise<IntakeResult> {
    return (await this.enqueue(r)).result;
  }

  /**
   * The first half of `handle`: checks the message and, when it is to be stored, puts it in the next group
   * commit. Resolves once it has joined that commit (or been refused), with the ACK still to come in
   * `result`. Calling `enqueue` for one connection's messages one after another, each once the last has
   * resolved, puts them in the inbox (and the queue) in arrival order while their commits overlap; with
   * the sender registry cached this resolves without touching the database.
   */
  async enqueue(r: Received): Promise<{ result: Promise<IntakeResult> }> {
    let text: string;
    try {
      text = decodeHl7(r.bytes);
    } catch (err) {
      const subject = sniffSubject(r.bytes.toString('latin1'));
      const reason = err instanceof Hl7ParseError ? err.message : 'The message could not be decoded';
      const sender = await this.#feeds.checkSender(subject.sendingApplication, subject.sendingFacility);
      return this.#refuse(r, subject, sender.feed?.id ?? null, 'AR', { reason, code: Hl7ErrorCode.dataType });
    }
    const subject = sniffSubject(text);
    if (!text.startsWith('MSH') && !text.startsWith('\ufeffMSH')) {
      const reason = 'The message does not start with an MSH segment';
      return this.#refuse(r, subject, null, 'AR', { reason, code: Hl7ErrorCode.segmentSequence });
    }
    const sender =
      this.#feeds.checkSenderCached(subject.sendingApplication, subject.sendingFacility) ??
      (await this.#feeds.checkSender(subject.sendingApplication, subject.sendingFacility));
    if (!sender.ok) {
      this.#log?.warn({ feed: sender.feed?.id ?? null, ack: 'AR' }, 'MLLP message refused: sender');
      return this.#refuse(r, subject, sender.feed?.id ?? null, 'AR', {
        reason: sender.reason,
        code: Hl7ErrorCode.applicationError,
      });
    }
    const feed = sender.feed;
    let message: Hl7Message;
    try {
      message = parseMessage(text);
    } catch (err) {
      if (!(err instanceof Hl7ParseError)) throw err;
      this.#log?.warn({ feed: feed.id, ack: 'AE', hl7Error: err.code }, 'MLLP message refused: malformed');
      // An unsupported version is refused outright (AR); content errors are AE.
      const code = err.code === Hl7ErrorCode.unsupportedVersion ? 'AR' : 'AE';
      return this.#refuse(r, subject, feed.id, code, { reason: err.message, code: err.code, location: err.location });
    }
    const h = message.header;
    const stored = this.#commit({
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
    const result = stored.then(
      (s): IntakeResult => ({
        code: 'AA',
        ack: this.#ack(subject, 'AA'),
        messageId: s.id,
        duplicate: s.duplicate,
        feedId: feed.id,
      }),
      (err: unknown): IntakeResult => {
        this.#log?.warn(
          { feed: feed.id, ack: 'AR', error: err instanceof Error ? err.name : 'error' },
          'MLLP message not stored',
        );
        const reason = 'The message could not be stored just now; please resend it';
        return {
          code: 'AR',
          ack: this.#ack(subject, 'AR', { reason, code: Hl7ErrorCode.applicationError }),
          reason,
          feedId: feed.id,
        };
      },
    );
    return { result };
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
        // A bounded group: one statement carries at most MAX_GROUP messages.
        const batch = this.#pending.splice(0, MAX_GROUP);
        try {
          const results = await this.#feeds.receive(batch.map((p) => p.message));
          this.commits += 1;
          this.onCommitted?.();
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
 * The queue ordering key: the person the message is about, so that one person's messages are applied in
 * order, whichever feed sends them. A valid NHS number (PID-3/PID-2 flagged as one or written 3-3-4, or
 * PID-19) is the person as the MPI knows them across feeds (`nhs:<number>`). Without one, the person as the
 * sender identifies them: the same identifier that keys the sender's Patient (`patientKey`: the first local
 * identifier of PID-3, then PID-2; a number failing its check digit only when there is nothing else), so
 * every message that writes one Patient shares a key, whatever order the sender lists its identifiers in.
 * Merges order on the surviving identifier. Messages without a PID (or with no identifier in it) are not
 * ordered.
 */
export function orderingKeyOf(feedId: string, message: Hl7Message): string | null {
  const pid = message.segment('PID');
  if (!pid) return null;
  for (const cx of [...pid.reps(3), ...pid.reps(2)]) {
    const flagged = nhsNumberOf(cx);
    const spaced = /^\d{3} \d{3} \d{4}$/.test(cx.c(1).trim()) ? cx.c(1).replace(/\s+/g, '') : undefined;
    const nhs = flagged ?? spaced;
    if (nhs && isValidNhsNumber(nhs)) return `nhs:${nhs}`;
  }
  const pid19 = pid.reps(19)[0]?.c(1).replace(/\s+/g, '') ?? '';
  if (isValidNhsNumber(pid19)) return `nhs:${pid19}`;
  // The sender's own identifier of the person: only the feed id of the mapping context is used.
  const key = patientKey(patientIdentifiers({ feedId, orgOds: '' }, pid));
  return key ? `${feedId}|${key}` : null;
}

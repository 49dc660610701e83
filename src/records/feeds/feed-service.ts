/**
 * The feed registry's use cases (issue 11): organisations and feeds, onboarding (testing → live →
 * suspended), testers, health counters, the MLLP inbox (receive before ACK) and replay. Admin actions are
 * allowed to integration engineers (and the product itself) and recorded in the audit trail.
 */
import { hostFeedOf } from '../../store/smart-store.ts';
import type { AuditLog } from '../../audit/audit-record.ts';
import type { Actor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import type { Db } from '../../store/db.ts';
import {
  addFeedTester,
  approveFeed,
  countExcludedSensitive,
  countRejected,
  FEED_PROTOCOLS,
  type Feed,
  feedCounters,
  type FeedProtocol,
  type FeedWithCounters,
  failedInbox,
  getFeed,
  getInboxMessage,
  getInboxMessages,
  getOrganisation,
  hiddenFeedIds,
  type InboxMessage,
  type InboxRow,
  insertFeed,
  insertInbox,
  insertOrganisation,
  listFeeds,
  listMllpFeeds,
  listOrganisations,
  markInbox,
  markInboxProcessed,
  matchSender,
  ORG_KINDS,
  type Organisation,
  type OrgKind,
  resetInbox,
  suspendFeed,
} from '../../store/feed-store.ts';
import {
  getRejected,
  insertRejected,
  listRejected,
  type NewRejected,
  type RejectedBounds,
  type RejectedMessage,
  type RejectedSummary,
  recordReplay,
} from '../../store/feed-rejected-store.ts';
import { replayJob } from '../../store/job-store.ts';
import type { FeedVisibility } from '../feed-visibility.ts';

/** The role that onboards feeds, watches their health and replays failed messages. */
export const INTEGRATION_ROLE = 'icr-integration-engineer';

export const FEED_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const ODS_CODE = /^[A-Za-z0-9]{2,12}$/;

export interface NewFeed {
  id: string;
  org: string;
  protocol: string;
  system?: string | undefined;
  sendingApplication?: string | undefined;
  sendingFacility?: string | undefined;
}

/** How an MLLP sender's message is received. */
export type SenderCheck = { ok: true; feed: Feed } | { ok: false; reason: string; feed?: Feed };

export interface FeedServiceDeps {
  db: Db;
  audit?: AuditLog;
  /**
   * How long the MLLP sender registry read from the database is trusted (ms, default 1000). Changes made
   * through this service (add, approve, suspend) apply at once; changes made by another process (the CLI
   * while the server runs) within this time.
   */
  senderCacheMs?: number;
  /** How long rejected messages are kept and how many at most (default 30 days, 10,000). */
  rejectedBounds?: RejectedBounds;
}

/**
 * What a rejected message is replayed through: the MLLP intake's own checks (sender, feed status, parse)
 * and its inbox, so a replayed message is treated exactly as if the sender had sent it again. The
 * composition wires the intake in (`useIntake`); the records layer does not import the ingest layer.
 */
export interface ReplayIntake {
  replay(
    bytes: Buffer,
    rejectedId: number,
  ): Promise<{ code: 'AA' | 'AE' | 'AR'; reason?: string; messageId?: number; duplicate?: boolean; feedId?: string }>;
}

/** What a replay of a rejected message came to (also what is recorded on the rejected message). */
export interface RejectedReplay {
  id: number;
  /** The ACK the replay got: AA when it joined the inbox (then it is applied once, like any message). */
  ack: 'AA' | 'AE' | 'AR';
  reason: string | null;
  inboxMessageId: number | null;
  edited: boolean;
  /** It had already been accepted by an earlier replay: nothing was sent again. */
  alreadyAccepted: boolean;
}

/** The largest edited message a replay takes (the MLLP frame limit). */
export const MAX_REPLAY_BYTES = 16 * 1024 * 1024;

const UNHOLDABLE_SENDER: SenderCheck = {
  ok: false,
  reason: 'Unknown sender: MSH-3 or MSH-4 holds a character no registered sender has',
};

/** Text PostgreSQL can hold: no NUL, no lone surrogate. */
function holdable(text: string): boolean {
  return !text.includes('\u0000') && text.isWellFormed();
}

export class FeedService implements FeedVisibility {
  readonly #db: Db;
  readonly #audit: AuditLog | undefined;
  readonly #senderCacheMs: number;
  /** The MLLP sender registry (feeds by MSH-3/MSH-4), so that intake needs no query per message. */
  #senders: { feeds: Feed[]; at: number; generation: number } | undefined;
  #loadingSenders: Promise<Feed[]> | undefined;
  #generation = 0;
  /** Times the sender registry was read from the database (tests, the bench). */
  senderLoads = 0;
  readonly #rejectedBounds: RejectedBounds;
  #intake: ReplayIntake | undefined;

  constructor(deps: FeedServiceDeps) {
    this.#db = deps.db;
    this.#audit = deps.audit;
    this.#senderCacheMs = deps.senderCacheMs ?? 1000;
    this.#rejectedBounds = deps.rejectedBounds ?? { retentionDays: 30, maxRows: 10_000 };
  }

  /** Wires the intake rejected messages are replayed through (the last one given is used). */
  useIntake(intake: ReplayIntake): void {
    this.#intake = intake;
  }

  /** Forgets the cached sender registry (after a feed is added, approved or suspended). */
  invalidateSenders(): void {
    this.#generation += 1;
    this.#senders = undefined;
  }

  #allowAdmin(actor: Actor, action: string): void {
    if (actor.kind === 'user' && actor.limits !== undefined) {
      throw new IcrError('ICR_ACCESS_DENIED', 'A SMART token reads FHIR data only; it cannot administer feeds');
    }
    if (actor.kind === 'user' && actor.role !== INTEGRATION_ROLE) {
      throw new IcrError('ICR_ACCESS_DENIED', `Only an integration engineer (role ${INTEGRATION_ROLE}) may ${action}`);
    }
  }

  async #record(actor: Actor, action: string, what: string): Promise<void> {
    await this.#audit?.record(this.#db, { action, outcome: 'allowed', actor, what });
  }

  // --- Organisations ---

  async addOrganisation(actor: Actor, org: { ods: string; name: string; kind: string }): Promise<Organisation> {
    this.#allowAdmin(actor, 'register organisations');
    if (!ODS_CODE.test(org.ods)) throw new IcrError('ICR_BAD_REQUEST', `"${org.ods}" is not an ODS code`);
    if (org.name.trim() === '') throw new IcrError('ICR_BAD_REQUEST', 'An organisation needs a name');
    if (!(ORG_KINDS as readonly string[]).includes(org.kind)) {
      throw new IcrError('ICR_BAD_REQUEST', `--kind must be one of ${ORG_KINDS.join(', ')} (got "${org.kind}")`);
    }
    const value: Organisation = { ods: org.ods.toUpperCase(), name: org.name.trim(), kind: org.kind as OrgKind };
    if (!(await insertOrganisation(this.#db, value))) {
      throw new IcrError('ICR_CONFLICT', `Organisation ${value.ods} is already registered`);
    }
    await this.#record(actor, 'org-add', `Organization/${value.ods}`);
    return value;
  }

  async organisations(): Promise<Organisation[]> {
    return listOrganisations(this.#db);
  }

  // --- Feeds ---

  async addFeed(actor: Actor, f: NewFeed): Promise<Feed> {
    this.#allowAdmin(actor, 'register feeds');
    if (!FEED_ID.test(f.id))
      throw new IcrError('ICR_BAD_REQUEST', `"${f.id}" is not a valid feed id (letters, digits, . _ -)`);
    if (!(FEED_PROTOCOLS as readonly string[]).includes(f.protocol)) {
      throw new IcrError(
        'ICR_BAD_REQUEST',
        `--protocol must be one of ${FEED_PROTOCOLS.join(', ')} (got "${f.protocol}")`,
      );
    }
    const ods = f.org.toUpperCase();
    if (!(await getOrganisation(this.#db, ods))) {
      throw new IcrError(
        'ICR_NOT_FOUND',
        `Organisation ${ods} is not registered: register it first with \`icr orgs add ${ods} --name <text> --kind <kind>\``,
      );
    }
    if (f.protocol === 'mllp' && !f.sendingApplication && !f.sendingFacility) {
      throw new IcrError(
        'ICR_BAD_REQUEST',
        'An MLLP feed must say how its sender is recognised: --sending-facility <MSH-4> and/or --sending-application <MSH-3>',
      );
    }
    const feed = {
      id: f.id,
      orgOds: ods,
      systemName: f.system ?? null,
      protocol: f.protocol as FeedProtocol,
      sendingApplication: f.sendingApplication ?? null,
      sendingFacility: f.sendingFacility ?? null,
    };
    if (!(await insertFeed(this.#db, feed))) throw new IcrError('ICR_CONFLICT', `Feed ${f.id} is already registered`);
    this.invalidateSenders();
    await this.#record(actor, 'feed-add', `feed/${f.id}`);
    return this.feed(f.id);
  }

  /**
   * Registers an organisation and a feed unless they exist (the demo's own feeds), approving the feed
   * when `approvedBy` is given and it is new.
   */
  async ensure(actor: Actor, org: Organisation, feed: NewFeed, approvedBy?: string): Promise<Feed> {
    this.#allowAdmin(actor, 'register feeds');
    await insertOrganisation(this.#db, org);
    const existing = await getFeed(this.#db, feed.id);
    if (existing) return existing;
    const added = await this.addFeed(actor, feed);
    return approvedBy ? this.approve(actor, added.id, approvedBy) : added;
  }

  /** The feed, or ICR_NOT_FOUND naming the command that registers it. */
  async feed(id: string): Promise<Feed> {
    const feed = await getFeed(this.#db, id);
    if (!feed) {
      throw new IcrError(
        'ICR_NOT_FOUND',
        `Feed "${id}" is not registered: register it with \`icr feeds add ${id} --org <ods> --protocol mllp|fhir|file\``,
      );
    }
    return feed;
  }

  /** The FHIR feed a host system sends as (`icr systems add … --feed`), or null (ADR 0044). */
  async feedSentBy(systemId: string): Promise<string | null> {
    return hostFeedOf(this.#db, systemId);
  }

  async list(): Promise<FeedWithCounters[]> {
    const [feeds, counters] = await Promise.all([listFeeds(this.#db), feedCounters(this.#db)]);
    return feeds.map((f) => ({
      ...f,
      counters: counters.get(f.id) ?? {
        lastReceivedAt: null,
        lagSeconds: 0,
        backlog: 0,
        processed: 0,
        ignored: 0,
        rejected: 0,
        failed: 0,
        excludedSensitive: 0,
      },
    }));
  }

  async approve(actor: Actor, id: string, by: string): Promise<Feed> {
    this.#allowAdmin(actor, 'approve feeds');
    if (by.trim() === '') throw new IcrError('ICR_BAD_REQUEST', 'Say who approves the feed (--by <user-id>)');
    await this.feed(id);
    const feed = await approveFeed(this.#db, id, by.trim());
    this.invalidateSenders();
    if (!feed) throw new IcrError('ICR_NOT_FOUND', `Feed "${id}" is not registered`);
    await this.#record(actor, 'feed-approve', `feed/${id}`);
    return feed;
  }

  async suspend(actor: Actor, id: string, reason: string): Promise<Feed> {
    this.#allowAdmin(actor, 'suspend feeds');
    if (reason.trim() === '') throw new IcrError('ICR_BAD_REQUEST', 'Say why the feed is suspended (--reason <text>)');
    await this.feed(id);
    const feed = await suspendFeed(this.#db, id, reason.trim().slice(0, 500));
    this.invalidateSenders();
    if (!feed) throw new IcrError('ICR_NOT_FOUND', `Feed "${id}" is not registered`);
    await this.#record(actor, 'feed-suspend', `feed/${id}`);
    return feed;
  }

  /**
   * Issues a FHIR feed's credential (a bearer token naming the feed) through `issue`; audited. Only a
   * feed registered with protocol `fhir` has one; a suspended feed gets none.
   */
  async issueCredential(actor: Actor, id: string, issue: (feed: Feed) => Promise<string>): Promise<string> {
    this.#allowAdmin(actor, 'issue feed credentials');
    const feed = await this.feed(id);
    if (feed.protocol !== 'fhir') {
      throw new IcrError(
        'ICR_BAD_REQUEST',
        `Feed ${id} is a ${feed.protocol} feed: only a fhir feed writes with a credential`,
      );
    }
    if (feed.status === 'suspended') throw new IcrError('ICR_CONFLICT', `Feed ${id} is suspended`);
    const token = await issue(feed);
    await this.#record(actor, 'feed-credential', `feed/${id}`);
    return token;
  }

  async addTester(actor: Actor, id: string, userId: string): Promise<void> {
    this.#allowAdmin(actor, 'name feed testers');
    await this.feed(id);
    await addFeedTester(this.#db, id, userId);
    await this.#record(actor, 'feed-tester', `feed/${id}`);
  }

  /** FeedVisibility: the access decision may read this rule in its person-facts query (access-store.ts). */
  readonly fromRegistry = true;

  /** FeedVisibility: a testing feed's data is hidden from everyone but its testers (and the product itself). */
  async hiddenFeeds(actor: Actor): Promise<readonly string[]> {
    if (actor.kind === 'system' && actor.systemId === 'openicr') return [];
    return hiddenFeedIds(this.#db, actor.kind === 'user' ? actor.userId : null);
  }

  /** Checks that a file or FHIR feed may deliver now (registered, right protocol, not suspended). */
  async checkIntake(id: string, protocol: FeedProtocol): Promise<Feed> {
    const feed = await this.feed(id);
    if (feed.protocol !== protocol) {
      throw new IcrError('ICR_BAD_REQUEST', `Feed "${id}" is registered for ${feed.protocol}, not ${protocol}`);
    }
    if (feed.status === 'suspended') {
      throw new IcrError('ICR_ACCESS_DENIED', `Feed "${id}" is suspended: ${feed.suspendedReason ?? ''}`);
    }
    return feed;
  }

  // --- MLLP intake ---

  /**
   * Which feed an MLLP message from MSH-3/MSH-4 belongs to, and whether it may deliver now, from the cached
   * registry when it is fresh (no query), else after reading it again.
   */
  async checkSender(application: string, facility: string): Promise<SenderCheck> {
    // A NUL or a lone surrogate (read from a hostile MSH before the message is parsed) is no registered
    // sender's name, and PostgreSQL cannot hold it: refused here, never compared or stored.
    if (!holdable(application) || !holdable(facility)) return UNHOLDABLE_SENDER;
    return (
      this.checkSenderCached(application, facility) ?? senderCheck(await this.#loadSenders(), application, facility)
    );
  }

  /** `checkSender` without waiting: undefined when the cached registry is stale (then call `checkSender`). */
  checkSenderCached(application: string, facility: string): SenderCheck | undefined {
    if (!holdable(application) || !holdable(facility)) return UNHOLDABLE_SENDER;
    const c = this.#senders;
    if (!c || performance.now() - c.at > this.#senderCacheMs) return undefined;
    return senderCheck(c.feeds, application, facility);
  }

  async #loadSenders(): Promise<Feed[]> {
    this.#loadingSenders ??= (async () => {
      const generation = this.#generation;
      const at = performance.now();
      try {
        const feeds = await listMllpFeeds(this.#db);
        this.senderLoads += 1;
        // A change made while reading is not overwritten by what was read before it.
        if (generation === this.#generation) this.#senders = { feeds, at, generation };
        return feeds;
      } finally {
        this.#loadingSenders = undefined;
      }
    })();
    const feeds = await this.#loadingSenders;
    // Invalidated while this read ran: read again so the change is seen.
    return this.#senders ? feeds : listMllpFeeds(this.#db);
  }

  /** Commits messages (and their jobs) to the inbox in one transaction: what returns is durable. */
  async receive(messages: readonly InboxMessage[]): Promise<Array<{ id: number; duplicate: boolean }>> {
    return insertInbox(this.#db, messages);
  }

  async countRejected(feedId: string): Promise<void> {
    await countRejected(this.#db, feedId);
  }

  /** Keeps a message answered AR or AE (and counts it on its feed, when there is one). Returns its id. */
  async keepRejected(m: NewRejected): Promise<number> {
    return insertRejected(this.#db, m, this.#rejectedBounds);
  }

  async countExcludedSensitive(feedId: string, n: number): Promise<void> {
    await countExcludedSensitive(this.#db, feedId, n);
  }

  // --- Processing (called by the queue job) ---

  async message(id: number): Promise<InboxRow | null> {
    return getInboxMessage(this.#db, id);
  }

  async messages(ids: readonly number[]): Promise<InboxRow[]> {
    return getInboxMessages(this.#db, ids);
  }

  async markProcessedMany(ids: readonly number[]): Promise<void> {
    await markInboxProcessed(this.#db, ids);
  }

  async markProcessed(id: number): Promise<void> {
    await markInbox(this.#db, id, 'processed', null);
  }

  async markIgnored(id: number, reason: string): Promise<void> {
    await markInbox(this.#db, id, 'ignored', reason.slice(0, 1000));
  }

  async markFailed(id: number, reason: string): Promise<void> {
    await markInbox(this.#db, id, 'failed', reason.slice(0, 1000));
  }

  async failed(actor: Actor, feedId: string): Promise<Array<{ id: number; error: string | null }>> {
    this.#allowAdmin(actor, 'see failed messages');
    await this.feed(feedId);
    return (await failedInbox(this.#db, feedId)).map(({ id, error }) => ({ id, error }));
  }

  /** Puts failed messages back on the queue (one, or all of the feed's). Returns the ids replayed. */
  async replay(actor: Actor, feedId: string, which: { messageId?: number; allFailed?: boolean }): Promise<number[]> {
    this.#allowAdmin(actor, 'replay messages');
    await this.feed(feedId);
    let targets: Array<{ id: number; jobId: number | null }>;
    if (which.messageId !== undefined) {
      const m = await getInboxMessage(this.#db, which.messageId);
      if (!m || m.feedId !== feedId) {
        throw new IcrError('ICR_NOT_FOUND', `Message ${which.messageId} is not a message of feed ${feedId}`);
      }
      if (m.status !== 'failed') {
        throw new IcrError('ICR_CONFLICT', `Message ${which.messageId} has not failed (it is ${m.status})`);
      }
      targets = [{ id: m.id, jobId: m.jobId }];
    } else if (which.allFailed) {
      targets = await failedInbox(this.#db, feedId);
    } else {
      throw new IcrError('ICR_BAD_REQUEST', 'Say which messages to replay: --message <id> or --all-failed');
    }
    const replayed: number[] = [];
    for (const t of targets) {
      await this.#db.transaction(async (tx) => {
        await resetInbox(tx, t.id);
        if (t.jobId !== null) await replayJob(tx, t.jobId);
      });
      replayed.push(t.id);
    }
    await this.#record(actor, 'feed-replay', `feed/${feedId} messages ${replayed.length}`);
    return replayed;
  }

  // --- Rejected messages (AR/AE at intake; ADR 0046) ---

  /** Rejected messages, newest first (reasons and identifiers, not the messages): a feed's, unknown senders', or all. */
  async rejected(
    actor: Actor,
    which: { feedId: string } | { unknownSender: true } | { all: true },
    limit = 100,
  ): Promise<RejectedSummary[]> {
    this.#allowAdmin(actor, 'see rejected messages');
    if ('feedId' in which) await this.feed(which.feedId);
    return listRejected(this.#db, which, Math.min(Math.max(1, limit), 1000));
  }

  /** One rejected message as it was received: audited (`feed-rejected-view`), as it may hold patient data. */
  async rejectedMessage(actor: Actor, id: number): Promise<RejectedMessage> {
    this.#allowAdmin(actor, 'see rejected messages');
    const m = await getRejected(this.#db, id);
    if (!m) throw new IcrError('ICR_NOT_FOUND', `Rejected message ${id} is not held (kept for a limited time)`);
    await this.#record(actor, 'feed-rejected-view', `feed-rejected/${id}`);
    return m;
  }

  /**
   * Replays a rejected message through the intake, as received or edited (`edited`: the corrected text).
   * It gets the same checks and ACK as a message from the sender; when accepted it joins the inbox and is
   * applied once (a repeat of a message already held is not applied again). The outcome is recorded on the
   * rejected message and audited (`feed-rejected-replay`). A message already accepted by an earlier replay
   * is not sent again.
   */
  async replayRejected(actor: Actor, id: number, edited?: string): Promise<RejectedReplay> {
    this.#allowAdmin(actor, 'replay messages');
    const m = await getRejected(this.#db, id);
    if (!m) throw new IcrError('ICR_NOT_FOUND', `Rejected message ${id} is not held (kept for a limited time)`);
    if (m.inboxMessageId !== null) {
      return {
        id,
        ack: 'AA',
        reason: null,
        inboxMessageId: m.inboxMessageId,
        edited: m.replayedRaw !== null,
        alreadyAccepted: true,
      };
    }
    let bytes = m.raw;
    if (edited !== undefined) {
      // Segments end with CR in HL7 v2; a text box or a file gives LF or CRLF.
      const text = edited.replace(/\r\n|\n/g, '\r').replace(/\r+$/, '');
      if (text.trim() === '') throw new IcrError('ICR_BAD_REQUEST', 'The edited message is empty');
      bytes = Buffer.from(text, 'utf8');
      if (bytes.length > MAX_REPLAY_BYTES) {
        throw new IcrError('ICR_BAD_REQUEST', `The edited message is larger than ${MAX_REPLAY_BYTES} bytes`);
      }
    }
    if (!this.#intake) throw new IcrError('ICR_NOT_IMPLEMENTED', 'No HL7 v2 intake is configured to replay through');
    const r = await this.#intake.replay(bytes, id);
    const by = actor.kind === 'user' ? actor.userId : actor.systemId;
    const outcome = {
      ack: r.code,
      reason: r.code === 'AA' ? (r.duplicate ? 'a repeat of a message already received' : null) : (r.reason ?? null),
      by,
      editedRaw: edited !== undefined ? bytes : null,
      inboxMessageId: r.code === 'AA' ? (r.messageId ?? null) : null,
    };
    const recorded = await recordReplay(this.#db, id, outcome, r.feedId ?? null);
    await this.#audit?.record(this.#db, {
      action: 'feed-rejected-replay',
      outcome: 'allowed',
      actor,
      what: `feed-rejected/${id} ${r.code}${edited !== undefined ? ' edited' : ''}`,
    });
    if (!recorded) {
      // Another replay was accepted meanwhile: this one was a repeat of it in the inbox (applied once).
      const now = await getRejected(this.#db, id);
      return {
        id,
        ack: 'AA',
        reason: null,
        inboxMessageId: now?.inboxMessageId ?? outcome.inboxMessageId,
        edited: edited !== undefined,
        alreadyAccepted: true,
      };
    }
    return {
      id,
      ack: r.code,
      reason: outcome.reason,
      inboxMessageId: outcome.inboxMessageId,
      edited: edited !== undefined,
      alreadyAccepted: false,
    };
  }
}

function senderCheck(feeds: readonly Feed[], application: string, facility: string): SenderCheck {
  const [feed] = matchSender(feeds, application, facility);
  if (!feed) {
    return {
      ok: false,
      reason: `Unknown sender: no MLLP feed is registered for sending application "${application}" at facility "${facility}"`,
    };
  }
  if (feed.status === 'suspended') {
    return { ok: false, feed, reason: `Feed ${feed.id} is suspended: ${feed.suspendedReason ?? 'no reason given'}` };
  }
  return { ok: true, feed };
}

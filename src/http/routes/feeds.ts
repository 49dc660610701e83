import type { FastifyInstance } from 'fastify';
import { Gauge } from 'prom-client';
import type { TokenService } from '../../auth/tokens.ts';
import type { FeedService } from '../../records/feeds/feed-service.ts';
import { rejectedText } from '../../records/feeds/rejected-text.ts';
import { IcrError } from '../../shared/errors.ts';
import { actorOf } from '../plugins/auth.ts';
import type { HttpMetrics } from '../metrics.ts';
import { objectBody, optionalText, text } from '../request-values.ts';

/**
 * The feed admin API for integration engineers (JSON, bearer token, role icr-integration-engineer):
 * `GET /api/feeds` (status and counters), `GET /api/feeds/:id`, `POST /api/orgs` `{ods, name, kind}`,
 * `POST /api/feeds` `{id, org, protocol, system?, sendingFacility?, sendingApplication?}`,
 * `POST /api/feeds/:id/approve` `{by}`, `POST /api/feeds/:id/suspend` `{reason}`,
 * `POST /api/feeds/:id/testers` `{user}`, `GET /api/feeds/:id/failed`,
 * `POST /api/feeds/:id/replay` `{message}` or `{allFailed: true}`, `POST /api/feeds/:id/credential`
 * `{ttlSeconds?}` (a fhir feed's bearer token); rejected messages (AR/AE at intake, ADR 0046):
 * `GET /api/feeds/:id/rejected`, `GET /api/rejected` (`?sender=unknown`: senders no feed matched),
 * `GET /api/rejected/:rid` (the message as received; audited), `POST /api/rejected/:rid/replay`
 * `{message?}` (as received, or the corrected text). The same counters are on `/metrics`
 * (`icr_feed_*{feed="…"}`). Every action goes through the feed use cases, which decide and audit.
 */
export function registerFeedRoutes(
  app: FastifyInstance,
  feeds: FeedService,
  metrics: HttpMetrics,
  tokens?: TokenService,
): void {
  const engineerOnly = (req: Parameters<typeof actorOf>[0]) => {
    const actor = actorOf(req);
    if (actor.kind === 'user' && actor.role !== 'icr-integration-engineer') {
      throw new IcrError(
        'ICR_ACCESS_DENIED',
        'Only an integration engineer (role icr-integration-engineer) may see feeds',
      );
    }
    return actor;
  };

  app.get('/api/feeds', async (req) => {
    engineerOnly(req);
    return { feeds: await feeds.list() };
  });

  app.get<{ Params: { id: string } }>('/api/feeds/:id', async (req) => {
    engineerOnly(req);
    await feeds.feed(req.params.id);
    const found = (await feeds.list()).find((f) => f.id === req.params.id);
    if (!found) throw new IcrError('ICR_NOT_FOUND', `Feed "${req.params.id}" is not registered`);
    return found;
  });

  app.post('/api/orgs', async (req, reply) => {
    const body = objectBody(req.body);
    const org = await feeds.addOrganisation(actorOf(req), {
      ods: text(body, 'ods'),
      name: text(body, 'name'),
      kind: text(body, 'kind'),
    });
    return reply.code(201).send(org);
  });

  app.post('/api/feeds', async (req, reply) => {
    const body = objectBody(req.body);
    const feed = await feeds.addFeed(actorOf(req), {
      id: text(body, 'id'),
      org: text(body, 'org'),
      protocol: text(body, 'protocol'),
      system: optionalText(body, 'system'),
      sendingFacility: optionalText(body, 'sendingFacility'),
      sendingApplication: optionalText(body, 'sendingApplication'),
    });
    return reply.code(201).send(feed);
  });

  if (tokens) {
    app.post<{ Params: { id: string } }>('/api/feeds/:id/credential', async (req, reply) => {
      const body = req.body === undefined || req.body === null ? {} : objectBody(req.body);
      const ttl = body.ttlSeconds;
      if (ttl !== undefined && typeof ttl !== 'number') {
        throw new IcrError('ICR_BAD_REQUEST', 'ttlSeconds must be a number of seconds');
      }
      const token = await feeds.issueCredential(actorOf(req), req.params.id, (feed) =>
        tokens.issueFeed({ id: feed.id, org: feed.orgOds }, ttl === undefined ? {} : { ttlSeconds: ttl }),
      );
      return reply.code(201).header('cache-control', 'no-store').send({ feed: req.params.id, token });
    });
  }

  app.post<{ Params: { id: string } }>('/api/feeds/:id/approve', async (req) => {
    const actor = actorOf(req);
    const body = objectBody(req.body ?? {});
    const by = optionalText(body, 'by') ?? (actor.kind === 'user' ? actor.userId : actor.systemId);
    return feeds.approve(actor, req.params.id, by);
  });

  app.post<{ Params: { id: string } }>('/api/feeds/:id/suspend', async (req) =>
    feeds.suspend(actorOf(req), req.params.id, text(objectBody(req.body), 'reason')),
  );

  app.post<{ Params: { id: string } }>('/api/feeds/:id/testers', async (req, reply) => {
    await feeds.addTester(actorOf(req), req.params.id, text(objectBody(req.body), 'user'));
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>('/api/feeds/:id/failed', async (req) => ({
    failed: await feeds.failed(actorOf(req), req.params.id),
  }));

  app.post<{ Params: { id: string } }>('/api/feeds/:id/replay', async (req) => {
    const body = objectBody(req.body);
    const message = body.message;
    if (message !== undefined && (typeof message !== 'number' || !Number.isSafeInteger(message) || message < 1)) {
      throw new IcrError('ICR_BAD_REQUEST', '"message" must be a message id (a positive whole number)');
    }
    const replayed = await feeds.replay(
      actorOf(req),
      req.params.id,
      message !== undefined ? { messageId: message } : { allFailed: body.allFailed === true },
    );
    return { replayed };
  });

  const limitOf = (q: unknown): number => {
    const raw = (q as { limit?: unknown } | undefined)?.limit;
    if (raw === undefined) return 100;
    const n = Number(raw);
    if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || n < 1 || n > 1000) {
      throw new IcrError('ICR_BAD_REQUEST', '"limit" must be a whole number from 1 to 1000');
    }
    return n;
  };

  app.get<{ Params: { id: string } }>('/api/feeds/:id/rejected', async (req) => ({
    rejected: await feeds.rejected(actorOf(req), { feedId: req.params.id }, limitOf(req.query)),
  }));

  app.get('/api/rejected', async (req) => {
    const sender = (req.query as { sender?: unknown } | undefined)?.sender;
    if (sender !== undefined && sender !== 'unknown') {
      throw new IcrError('ICR_BAD_REQUEST', '"sender" may only be "unknown" (senders no registered feed matched)');
    }
    const which = sender === 'unknown' ? { unknownSender: true as const } : { all: true as const };
    return { rejected: await feeds.rejected(actorOf(req), which, limitOf(req.query)) };
  });

  const rejectedId = (raw: string): number => {
    if (!/^[1-9]\d{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
      throw new IcrError('ICR_BAD_REQUEST', `"${raw.slice(0, 40)}" is not a rejected message id`);
    }
    return Number(raw);
  };

  app.get<{ Params: { rid: string } }>('/api/rejected/:rid', async (req, reply) => {
    const m = await feeds.rejectedMessage(actorOf(req), rejectedId(req.params.rid));
    const { raw, replayedRaw, ...rest } = m;
    const shown = rejectedText(raw);
    void reply.header('cache-control', 'no-store');
    return {
      ...rest,
      message: shown.text,
      encoding: shown.encoding,
      messageBase64: raw.toString('base64'),
      replayedMessage: replayedRaw ? rejectedText(replayedRaw).text : null,
    };
  });

  app.post<{ Params: { rid: string } }>('/api/rejected/:rid/replay', async (req) => {
    const body = req.body === undefined || req.body === null ? {} : objectBody(req.body);
    const message = body.message;
    if (message !== undefined && typeof message !== 'string') {
      throw new IcrError(
        'ICR_BAD_REQUEST',
        '"message" must be the corrected message text (or left out to replay as received)',
      );
    }
    return feeds.replayRejected(actorOf(req), rejectedId(req.params.rid), message);
  });

  registerFeedMetrics(feeds, metrics);
}

/** Per-feed gauges on /metrics, read from the registry when scraped. Labels: the feed id only. */
function registerFeedMetrics(feeds: FeedService, metrics: HttpMetrics): void {
  const specs = [
    ['icr_feed_last_message_timestamp_seconds', 'When the feed last delivered a message (Unix seconds; 0: never)'],
    ['icr_feed_lag_seconds', 'How long the oldest unprocessed message of the feed has waited'],
    ['icr_feed_backlog', 'Messages received and not yet processed'],
    ['icr_feed_rejected_total', 'Messages refused (AR/AE) from the feed'],
    ['icr_feed_failed', 'Messages that failed processing and wait for a replay'],
    ['icr_feed_excluded_sensitive_total', 'Items dropped because they carried a sensitive code'],
    ['icr_feed_live', '1 when the feed is live, 0 when testing or suspended'],
  ] as const;
  let fill: () => Promise<void> = async () => {};
  // prom-client collects metrics in registration order: the first gauge reads the registry once for all.
  const gauges = new Map(
    specs.map(([name, help], n) => [
      name,
      new Gauge({
        name,
        help,
        labelNames: ['feed'] as const,
        registers: [metrics.registry],
        ...(n === 0 ? { collect: () => fill() } : {}),
      }),
    ]),
  );
  fill = async () => {
    const list = await feeds.list();
    for (const g of gauges.values()) g.reset();
    for (const f of list) {
      const c = f.counters;
      const set = (name: (typeof specs)[number][0], v: number) => gauges.get(name)?.set({ feed: f.id }, v);
      set('icr_feed_last_message_timestamp_seconds', c.lastReceivedAt ? Date.parse(c.lastReceivedAt) / 1000 : 0);
      set('icr_feed_lag_seconds', c.lagSeconds);
      set('icr_feed_backlog', c.backlog);
      set('icr_feed_rejected_total', c.rejected);
      set('icr_feed_failed', c.failed);
      set('icr_feed_excluded_sensitive_total', c.excludedSensitive);
      set('icr_feed_live', f.status === 'live' ? 1 : 0);
    }
  };
}

/**
 * The HTTP application: `buildApp(deps)` builds a Fastify instance from explicit dependencies and does not
 * listen (main.ts listens; tests use `app.inject()`). Routes reach clinical data only through `records`.
 * See docs/adr/0013-http-api.md.
 */
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { KeyRing } from '../auth/keys.ts';
import type { TokenService } from '../auth/tokens.ts';
import type { Config } from '../config/config.ts';
import type { AdminService } from '../records/admin/admin-service.ts';
import type { AuditService } from '../records/audit/audit-service.ts';
import type { FeedService } from '../records/feeds/feed-service.ts';
import type { RecordsService } from '../records/records-service.ts';
import type { SignInService } from '../records/sign-in/sign-in-service.ts';
import type { SmartService } from '../records/sign-in/smart-service.ts';
import type { UserRecord } from '../shared/users.ts';
import type { Db } from '../store/db.ts';
import { genReqId, safeLogger } from './logging.ts';
import { createMetrics, type HttpMetrics } from './metrics.ts';
import { actorIdOf, actorOf, registerAuth } from './plugins/auth.ts';
import { registerBrowserSecurity } from './plugins/browser-session.ts';
import { registerSmartCors } from './plugins/cors.ts';
import { type BodyParser, registerContentTypes } from './plugins/content-type.ts';
import { registerAccessRoutes } from './routes/access.ts';
import { registerAdminUserRoutes } from './routes/admin-users.ts';
import {
  clientErrorReply,
  registerErrors,
  registerPathChecks,
  registerRequestTimeout,
  replyWithError,
} from './plugins/errors.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerBundleRoute } from './routes/bundle.ts';
import { registerCreateRoute } from './routes/create.ts';
import { registerDeleteRoutes } from './routes/delete.ts';
import { registerEverythingRoute } from './routes/everything.ts';
import { registerFeedRoutes } from './routes/feeds.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerHistoryRoutes } from './routes/history.ts';
import { registerMetadataRoute } from './routes/metadata.ts';
import { registerMpiRoutes } from './routes/mpi.ts';
import { registerReadRoute } from './routes/read.ts';
import type { RouteDeps } from './routes/route-deps.ts';
import { registerSearchRoutes } from './routes/search.ts';
import { registerOidcRoutes } from './routes/oidc.ts';
import { registerSignInRoutes } from './routes/sign-in.ts';
import { registerSmartAuthRoutes, registerSmartRoute } from './routes/smart.ts';
import { registerUpdateRoutes } from './routes/update.ts';
import { registerVreadRoute } from './routes/vread.ts';
import { registerViewerRoutes } from '../viewer/routes.ts';

export interface AppDeps {
  records: RecordsService;
  /** For /readyz only; clinical data goes through `records`. */
  db: Db;
  config: Readonly<Config>;
  logger?: Logger;
  tokens: TokenService;
  /** `migrationsUpToDate` from src/store/migrate.ts (passed in: the http layer imports no store code). */
  migrationsUpToDate: (db: Db) => Promise<boolean>;
  /**
   * Parses JSON bodies with the JSON limits; the server's validation pool does a large body in a worker
   * thread (src/workers/validation-pool.ts). Default: inline.
   */
  parseBody?: BodyParser;
  /** Metrics registry; a fresh one per app by default. */
  metrics?: HttpMetrics;
  /** The audit trail's reads for privacy officers (`/fhir/AuditEvent`, `/api/audit/*`); 501 without it. */
  audit?: AuditService;
  /** The feed registry: its admin API (`/api/feeds…`) and per-feed metrics; absent: not served. */
  feeds?: FeedService;
  /**
   * Sign-in, launch and browser sessions (docs/sign-in.md). Without it only bearer tokens are accepted
   * and no browser routes exist (benchmarks of the API alone).
   */
  signIn?: SignInDeps;
  /** The admin portal's door (which area a person may open, audited; the feed overview); absent: no portal. */
  admin?: AdminService;
}

export interface SignInDeps {
  service: SignInService;
  /** The SMART authorization server (docs/sign-in.md "SMART App Launch"). */
  smart: SmartService;
  /** The server's signing keys (published at /.well-known/jwks.json). */
  keys: KeyRing;
  /** Secret signing the session cookie (≥ 32 characters). */
  sessionSecret: string;
  /** The demo's users for the demo sign-in page; undefined outside the demo. */
  demoUsers?: () => UserRecord[];
}

const started = new WeakMap<object, bigint>();

export function buildApp(deps: AppDeps): FastifyInstance {
  const fastifyOptions = {
    bodyLimit: deps.config.bodyLimit,
    genReqId,
    requestIdHeader: false as const,
    // Fastify's own request lines log the URL; onResponse below logs the route template instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    return503OnClosing: true,
    trustProxy: deps.config.trustProxy,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    frameworkErrors: replyWithError,
    clientErrorHandler: clientErrorReply,
  };
  const app = (deps.logger
    ? Fastify({ ...fastifyOptions, loggerInstance: safeLogger(deps.logger) })
    : Fastify({ ...fastifyOptions, logger: false })) as unknown as FastifyInstance;
  const metrics = deps.metrics ?? createMetrics();

  app.addHook('onRequest', async (req, reply) => {
    started.set(req, process.hrtime.bigint());
    reply.header('X-Request-Id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const t0 = started.get(req);
    const seconds = t0 === undefined ? 0 : Number(process.hrtime.bigint() - t0) / 1e9;
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.observeRequest(req.method, route, reply.statusCode, seconds);
    // Route template only: the URL can carry identifiers (an NHS number in a search).
    req.log.info(
      { method: req.method, route, status: reply.statusCode, ms: Math.round(seconds * 1000), actor: actorIdOf(req) },
      'request completed',
    );
  });

  // An authenticated request for an endpoint that does not exist is a refused access: audited like one.
  registerErrors(app, {
    onNotFound: async (req, path) => {
      if (actorIdOf(req) !== undefined) await deps.records.unknownEndpoint(actorOf(req), req.method, path);
    },
  });
  registerPathChecks(app);
  registerRequestTimeout(app, deps.config.limits.requestTimeoutMs);
  registerContentTypes(app, deps.config.limits, deps.parseBody);
  const signIn = deps.signIn;
  if (signIn) {
    registerBrowserSecurity(app, {
      config: deps.config,
      sessions: signIn.service.sessions,
      sessionSecret: signIn.sessionSecret,
      frameOrigins: () => signIn.service.frameOrigins(),
    });
  }
  // Before authentication: a browser's CORS preflight carries no bearer token.
  if (signIn) registerSmartCors(app, { allowed: (origin) => signIn.smart.allowsOrigin(origin) });
  // Every request's user and profile are re-checked (and refusals audited) by the records service.
  registerAuth(app, deps.tokens, {
    records: deps.records,
    ...(deps.feeds ? { feeds: deps.feeds } : {}),
    ...(signIn ? { sessions: { config: deps.config }, users: signIn.service.users } : {}),
  });

  const routeDeps: RouteDeps = { records: deps.records, metrics, config: deps.config };
  registerHealthRoutes(app, { db: deps.db, migrationsUpToDate: deps.migrationsUpToDate, metrics });
  registerMetadataRoute(app, routeDeps);
  registerSmartRoute(app, routeDeps, signIn !== undefined);
  registerReadRoute(app, routeDeps);
  registerVreadRoute(app, routeDeps);
  registerCreateRoute(app, routeDeps);
  registerUpdateRoutes(app, routeDeps);
  registerDeleteRoutes(app, routeDeps);
  registerHistoryRoutes(app, routeDeps);
  registerSearchRoutes(app, routeDeps);
  registerEverythingRoute(app, routeDeps);
  registerMpiRoutes(app, routeDeps);
  registerBundleRoute(app, routeDeps);
  registerAuditRoutes(app, deps.audit);
  registerAccessRoutes(app, routeDeps);
  registerAdminUserRoutes(app, routeDeps);
  if (deps.feeds) registerFeedRoutes(app, deps.feeds, metrics, deps.tokens);
  if (signIn) {
    // In a plugin: loaded after the rate limiter, which only sees routes added once it is loaded.
    void app.register(async (scope) => {
      registerSignInRoutes(scope, {
        config: deps.config,
        records: deps.records,
        signIn: signIn.service,
        keys: signIn.keys,
        oidc: deps.config.oidcIssuer !== undefined,
        ...(signIn.demoUsers ? { demoUsers: signIn.demoUsers } : {}),
      });
      registerOidcRoutes(scope, { config: deps.config, signIn: signIn.service });
      registerSmartAuthRoutes(scope, { config: deps.config, smart: signIn.smart, signIn: signIn.service });
      registerViewerRoutes(scope, {
        config: deps.config,
        records: deps.records,
        signIn: signIn.service,
        ...(deps.audit ? { audit: deps.audit } : {}),
        ...(deps.feeds ? { feeds: deps.feeds } : {}),
        ...(deps.admin ? { admin: deps.admin } : {}),
      });
    });
  }
  return app;
}

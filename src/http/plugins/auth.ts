/**
 * Authentication: every `/fhir/*` and `/api/*` route needs an authenticated caller, except the routes marked
 * `config: { public: true }` (the CapabilityStatement and the SMART configuration). Health routes live
 * outside `/fhir` and are open. A caller is authenticated by `Authorization: Bearer <jwt>` (src/auth/tokens.ts)
 * or, from the browser, by the session cookie (plugins/browser-session.ts) — and then every state-changing
 * request must also carry the session's CSRF token. The result is the Actor handed to the records service;
 * when a user directory is given, a disabled user or a profile the user no longer holds is refused.
 * Access control proper (roles, relationships, consent) happens inside the records service.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TokenService } from '../../auth/tokens.ts';
import type { Config } from '../../config/config.ts';
import type { RecordsService } from '../../records/records-service.ts';
import type { Actor, SystemActor, UserActor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import { holdsProfile, type UserDirectory } from '../../shared/users.ts';
import { global, needsCsrf, sessionUser } from './browser-session.ts';

const actors = new WeakMap<FastifyRequest, Actor>();
const bySession = new WeakSet<FastifyRequest>();

/** The authenticated actor of a request (routes behind auth only). */
export function actorOf(req: FastifyRequest): Actor {
  const actor = actors.get(req);
  if (!actor) throw new IcrError('ICR_UNAUTHENTICATED', 'Authentication is required');
  return actor;
}

/** The user id for logs (never a name). */
export function actorIdOf(req: FastifyRequest): string | undefined {
  const a = actors.get(req);
  if (!a) return undefined;
  return a.kind === 'user' ? a.userId : a.systemId;
}

function needsAuth(req: FastifyRequest): boolean {
  const config = req.routeOptions.config as { public?: boolean } | undefined;
  if (config?.public === true) return false;
  const path = req.url.split('?', 1)[0] ?? '';
  return path === '/fhir' || path.startsWith('/fhir/') || path.startsWith('/api/');
}

/** What the auth hook needs of the feed registry for feed credentials. */
export interface FeedCredentialCheck {
  feed(
    id: string,
  ): Promise<{ id: string; orgOds: string; protocol: string; status: string; suspendedReason: string | null }>;
  /** The FHIR feed a host system sends as (`icr systems add … --feed`), or null (ADR 0044). */
  feedSentBy(systemId: string): Promise<string | null>;
}

/** The FHIR writes a feed's credential may make: a Bundle, a create, an update. Nothing else. */
function isFeedWrite(req: FastifyRequest): boolean {
  const path = req.url.split('?', 1)[0] ?? '';
  if (req.method === 'POST') return path === '/fhir' || /^\/fhir\/[A-Za-z]+$/.test(path);
  if (req.method === 'PUT') return /^\/fhir\/[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(path);
  return false;
}

/**
 * A feed writing with its credential: the feed must be registered for FHIR and not suspended, and the
 * request one of the writes above. Its data is then stamped with the feed (a testing feed's data is
 * stored but hidden, as for any channel).
 */
async function checkFeedCaller(
  req: FastifyRequest,
  actor: SystemActor,
  feeds: FeedCredentialCheck | undefined,
): Promise<void> {
  if (!feeds || !actor.feedId) throw new IcrError('ICR_UNAUTHENTICATED', 'The bearer token is invalid or has expired');
  let feed;
  try {
    feed = await feeds.feed(actor.feedId);
  } catch (err) {
    if (err instanceof IcrError && err.code === 'ICR_NOT_FOUND') {
      throw new IcrError('ICR_UNAUTHENTICATED', `Feed "${actor.feedId}" is not registered`);
    }
    throw err;
  }
  if (actor.clientId !== undefined && (await feeds.feedSentBy(actor.clientId)) !== feed.id) {
    // The host system was unlinked from the feed (or linked to another) after its token was issued.
    throw new IcrError('ICR_ACCESS_DENIED', `Host system ${actor.clientId} no longer sends feed ${feed.id}`);
  }
  if (feed.protocol !== 'fhir' || feed.orgOds !== actor.orgOds) {
    throw new IcrError('ICR_ACCESS_DENIED', `Feed ${feed.id} is not registered for FHIR writes from this organisation`);
  }
  if (feed.status === 'suspended') {
    throw new IcrError(
      'ICR_ACCESS_DENIED',
      `Feed ${feed.id} is suspended: ${feed.suspendedReason ?? 'no reason given'}`,
    );
  }
  if (!isFeedWrite(req)) {
    throw new IcrError(
      'ICR_ACCESS_DENIED',
      actor.clientId === undefined
        ? 'A feed credential may only write: POST /fhir (a Bundle), POST /fhir/<type>, PUT /fhir/<type>/<id>'
        : 'A system/*.cu token may only write as its feed: POST /fhir (a Bundle), POST /fhir/<type>, PUT /fhir/<type>/<id>',
    );
  }
}

export interface AuthOptions {
  /** The feed registry: accept feeds' credentials (docs/feeds.md). Without it they are refused. */
  feeds?: FeedCredentialCheck;
  /** Accept the browser session cookie too (needs the browser-session plugin registered). */
  sessions?: { config: Readonly<Config> };
  /** Refuse users who are not configured, disabled, or no longer hold the token's role profile. */
  users?: UserDirectory;
  /**
   * The same check through the records service, which audits each refusal: unknown or disabled user 401,
   * a profile the user does not hold 403 (docs/access.md). Takes the place of `users` when given.
   */
  records?: RecordsService;
}

export function registerAuth(app: FastifyInstance, tokens: TokenService, opts: AuthOptions = {}): void {
  // Registered as a plugin so that it runs after the session plugin has loaded the session.
  void app.register(
    global(async (root) => {
      root.addHook('onRequest', async (req) => {
        if (!needsAuth(req)) return;
        const header = req.headers.authorization;
        let actor: UserActor | undefined;
        if (header !== undefined || !opts.sessions) {
          const m = header === undefined ? null : /^Bearer +([A-Za-z0-9\-_.]+)\s*$/i.exec(header);
          if (!m?.[1]) {
            throw new IcrError('ICR_UNAUTHENTICATED', 'A bearer token is required (Authorization: Bearer …)');
          }
          const caller = await tokens.verifyCaller(m[1]);
          const via = {
            channel: req.url.startsWith('/fhir') ? ('fhir' as const) : ('api' as const),
            requestId: req.id,
          };
          if (caller.kind === 'system') {
            caller.via = via;
            try {
              await checkFeedCaller(req, caller, opts.feeds);
            } catch (err) {
              // A feed refused here never reaches the records service: its refusal is audited here.
              const path = (req.url.split('?', 1)[0] ?? '').slice(0, 200);
              if (err instanceof IcrError) await opts.records?.refusedCaller(caller, `${req.method} ${path}`, err.code);
              throw err;
            }
            actors.set(req, caller);
            return;
          }
          actor = caller;
          actor.via = via;
        } else {
          actor = await sessionUser(req, opts.sessions.config);
          if (!actor) throw new IcrError('ICR_UNAUTHENTICATED', 'Sign in first, or send a bearer token');
          actor.via = { channel: 'viewer', requestId: req.id };
          bySession.add(req);
        }
        if (opts.records) {
          await opts.records.users.checkActor(actor);
        } else if (opts.users) {
          const user = await opts.users.find(actor.userId);
          if (!holdsProfile(user, { org: actor.orgOds, role: actor.role })) {
            throw new IcrError('ICR_UNAUTHENTICATED', 'The user is not configured for this role, or is disabled');
          }
        }
        actors.set(req, actor);
      });
      if (opts.sessions) {
        // After the body is read, so a form's `_csrf` field counts as well as the x-csrf-token header.
        root.addHook('preHandler', (req, reply, done) => {
          if (bySession.has(req) && needsCsrf(req)) root.csrfProtection(req, reply, done);
          else done();
        });
      }
    }),
  );
}

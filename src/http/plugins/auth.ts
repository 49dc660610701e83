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
import type { Actor, UserActor } from '../../shared/actor.ts';
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

export interface AuthOptions {
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
          actor = await tokens.verify(m[1]);
          actor.via = { channel: req.url.startsWith('/fhir') ? 'fhir' : 'api', requestId: req.id };
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

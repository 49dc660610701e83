/**
 * The browser session and the browser-facing security of the server, with Fastify's maintained plugins:
 * @fastify/cookie and @fastify/session (sessions kept in the database through the records layer, so logout
 * ends them on the server), @fastify/csrf-protection (every state-changing request that a session cookie
 * authenticates carries the session's CSRF token), @fastify/helmet (CSP with `frame-ancestors` for the
 * registered host systems, HSTS when the public URL is https) and @fastify/rate-limit (sign-in, launch and
 * token endpoints opt in per route). Idle timeout and absolute lifetime are checked on every request.
 * See docs/sign-in.md and docs/adr/0023-server-keys-and-sessions.md.
 */
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySession from '@fastify/session';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.ts';
import type { UserActor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';

/** What a browser session holds (besides @fastify/session's cookie and the CSRF secret). */
export interface SessionUser {
  userId: string;
  orgOds: string;
  role: string;
  displayName?: string;
}

declare module 'fastify' {
  interface Session {
    user?: SessionUser;
    /** Sign-in time (ms since the epoch): the absolute lifetime counts from here. */
    signedInAt?: number;
    /** Last request (ms): the idle timeout counts from here. */
    lastSeenAt?: number;
    /** The OpenID Connect request in flight (state, nonce, PKCE verifier). */
    oidc?: { state: string; nonce: string; codeVerifier: string };
    /** Launch context: the Patient the host system opened. */
    patientId?: string | null;
  }
}

/** Where sessions are kept (src/records/sign-in/web-sessions.ts). */
export interface SessionStorage {
  get(id: string): Promise<string | null>;
  set(id: string, data: string, expiresAt: Date): Promise<void>;
  destroy(id: string): Promise<void>;
}

export interface BrowserSecurityOptions {
  config: Readonly<Config>;
  sessions: SessionStorage;
  /** Secret signing the session cookie (≥ 32 characters). */
  sessionSecret: string;
  /** Origins of the host systems that may frame the viewer. */
  frameOrigins: () => Promise<string[]>;
}

export const SESSION_COOKIE = 'icr_session';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A plugin whose hooks and decorators apply to the whole app (as fastify-plugin does). */
export function global<T extends (app: FastifyInstance) => Promise<void>>(fn: T): T {
  (fn as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return fn;
}

/** The rate limit for sign-in, launch and token routes: `config: { rateLimit: signInRateLimit(config) }`. */
export function signInRateLimit(config: Readonly<Config>): { max: number; timeWindow: number } {
  return { max: config.signInRateLimit, timeWindow: 60_000 };
}

export function registerBrowserSecurity(app: FastifyInstance, opts: BrowserSecurityOptions): void {
  const { config } = opts;
  const secure = config.publicUrl.startsWith('https://');
  let frameOrigins: string[] = [];
  let frameOriginsAt = 0;

  void app.register(fastifyCookie);
  void app.register(fastifySession, {
    secret: opts.sessionSecret,
    cookieName: SESSION_COOKIE,
    saveUninitialized: false,
    rolling: true,
    // Embedded in a host system's frame the cookie is cross-site: SameSite=None (always Secure); CSRF tokens
    // guard every state-changing request either way.
    cookie: {
      path: '/',
      httpOnly: true,
      secure: secure || config.sessionEmbedded,
      sameSite: config.sessionEmbedded ? 'none' : 'lax',
      maxAge: config.sessionIdleSeconds * 1000,
    },
    store: {
      get(id, cb) {
        opts.sessions.get(id).then(
          (data) => cb(null, data === null ? null : (JSON.parse(data) as never)),
          (err: unknown) => cb(err),
        );
      },
      set(id, session, cb) {
        const now = Date.now();
        const signedInAt = session.signedInAt ?? now;
        const expiresAt = new Date(
          Math.min(now + config.sessionIdleSeconds * 1000, signedInAt + config.sessionMaxSeconds * 1000),
        );
        opts.sessions.set(id, JSON.stringify(session), expiresAt).then(
          () => cb(),
          (err: unknown) => cb(err),
        );
      },
      destroy(id, cb) {
        opts.sessions.destroy(id).then(
          () => cb(),
          (err: unknown) => cb(err),
        );
      },
    },
  });
  void app.register(fastifyCsrf, {
    sessionPlugin: '@fastify/session',
    getToken: (req: FastifyRequest) => {
      const header = req.headers[CSRF_HEADER];
      if (typeof header === 'string') return header;
      if (typeof req.body === 'string') return new URLSearchParams(req.body).get('_csrf') ?? undefined;
      return undefined;
    },
  });
  void app.register(
    global(async (root) => {
      root.addHook('onRequest', async () => {
        if (Date.now() - frameOriginsAt > 60_000) {
          frameOrigins = await opts.frameOrigins();
          frameOriginsAt = Date.now();
        }
      });
    }),
  );
  void app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        objectSrc: ["'none'"],
        // No script runs on the API's or the sign-in pages; viewer pages allow same-origin scripts
        // (src/viewer/layout.ts replaces this directive with script-src 'self').
        scriptSrc: ["'none'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        frameAncestors: ["'self'", () => frameOrigins.join(' ')],
        ...(secure ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    hsts: secure ? { maxAge: 31536000, includeSubDomains: true } : false,
    // frame-ancestors governs framing; X-Frame-Options would forbid the registered host systems.
    frameguard: false,
  });
  void app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_req, ctx) =>
      new IcrError('ICR_RATE_LIMITED', `Too many attempts; try again in ${Math.ceil(ctx.ttl / 1000)} seconds`),
  });
}

/**
 * The user of the request's browser session, or undefined: a session past its idle timeout or absolute
 * lifetime is destroyed here, on the server. A live one is touched (idle timer restarts).
 */
export async function sessionUser(req: FastifyRequest, config: Readonly<Config>): Promise<UserActor | undefined> {
  const session = (req as { session?: FastifyRequest['session'] }).session;
  const user = session?.user;
  if (!session || !user) return undefined;
  const now = Date.now();
  const signedInAt = session.signedInAt ?? 0;
  const lastSeenAt = session.lastSeenAt ?? 0;
  if (now - signedInAt > config.sessionMaxSeconds * 1000 || now - lastSeenAt > config.sessionIdleSeconds * 1000) {
    await session.destroy();
    return undefined;
  }
  session.lastSeenAt = now;
  const actor: UserActor = { kind: 'user', userId: user.userId, orgOds: user.orgOds, role: user.role };
  if (user.displayName !== undefined) actor.displayName = user.displayName;
  return actor;
}

/** Starts a fresh session (new id: no fixation) for a signed-in or launched user. */
export async function openSession(req: FastifyRequest, actor: UserActor, patientId?: string | null): Promise<void> {
  await req.session.regenerate();
  const now = Date.now();
  req.session.user = {
    userId: actor.userId,
    orgOds: actor.orgOds,
    role: actor.role,
    ...(actor.displayName === undefined ? {} : { displayName: actor.displayName }),
  };
  req.session.signedInAt = now;
  req.session.lastSeenAt = now;
  if (patientId !== undefined) req.session.patientId = patientId;
}

/** Whether a request must carry the session's CSRF token (state-changing, authenticated by the cookie). */
export function needsCsrf(req: FastifyRequest): boolean {
  return !SAFE_METHODS.has(req.method);
}

/**
 * A preHandler that refuses (ICR_CSRF_INVALID) a request without the session's CSRF token, in the
 * `x-csrf-token` header or the `_csrf` form field. For routes: `preHandler: csrfCheck(app)`.
 */
export function csrfCheck(app: FastifyInstance) {
  return (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    app.csrfProtection(req, reply, done);
  };
}

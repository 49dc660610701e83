/**
 * Arriving in the browser: the server's public keys (JWKS), context launch from a host system
 * (`GET /launch?token=…`), the demo sign-in page, logout, the session's own description (for the
 * viewer: who, which role, the CSRF token). The pages a launch lands on are the viewer's (src/viewer/).
 * See docs/sign-in.md.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LAUNCH_REFUSALS, LaunchRefused } from '../../auth/launch-token.ts';
import type { KeyRing } from '../../auth/keys.ts';
import type { Config } from '../../config/config.ts';
import type { RecordsService } from '../../records/records-service.ts';
import type { SignInService } from '../../records/sign-in/sign-in-service.ts';
import type { UserActor } from '../../shared/actor.ts';
import { IcrError, isIcrError } from '../../shared/errors.ts';
import type { UserRecord } from '../../shared/users.ts';
import { html, sendPage, type Html } from '../html-page.ts';
import { csrfCheck, openSession, sessionUser, signInRateLimit } from '../plugins/browser-session.ts';
import { registerFormParser } from '../plugins/content-type.ts';

export interface SignInRouteDeps {
  config: Readonly<Config>;
  records: RecordsService;
  signIn: SignInService;
  keys: KeyRing;
  /** The demo's users, listed on the sign-in page; undefined outside the demo (no demo sign-in). */
  demoUsers?: () => UserRecord[];
  /** Whether OpenID Connect sign-in is configured (routes in oidc.ts). */
  oidc: boolean;
}

export function registerSignInRoutes(app: FastifyInstance, deps: SignInRouteDeps): void {
  const { config } = deps;
  const rateLimit = signInRateLimit(config);
  /** The session's user, while still configured, enabled and holding the session's role profile. */
  const current = async (req: FastifyRequest): Promise<UserActor | undefined> => {
    const user = await sessionUser(req, config);
    if (!user) return undefined;
    if (await deps.signIn.stillHolds(user)) return user;
    await req.session.destroy();
    return undefined;
  };

  app.get('/.well-known/jwks.json', async (_req, reply) =>
    reply.header('cache-control', 'public, max-age=300').send(await deps.keys.jwks()),
  );

  app.get<{ Querystring: { token?: string } }>('/launch', { config: { rateLimit } }, async (req, reply) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    let launched;
    try {
      launched = await deps.signIn.launch(token, req.id);
    } catch (err) {
      if (!(err instanceof LaunchRefused)) throw err;
      return sendPage(
        reply,
        401,
        'Launch refused',
        html`<div class="refusal">
            <p>${LAUNCH_REFUSALS[err.reason]}</p>
            <p>Reason code: <code>${err.reason}</code></p>
          </div>
          <p>Nothing from the shared care record has been shown. This refusal has been recorded.</p>`,
      );
    }
    const { actor, patientId } = launched;
    await openSession(req, actor, patientId);
    return reply.redirect(patientId === null ? '/patient' : `/patient/${encodeURIComponent(patientId)}`, 303);
  });

  app.get('/signin', async (req, reply) => {
    const signedIn = await current(req);
    const parts: Html[] = [];
    if (signedIn) {
      parts.push(
        html`<p>You are signed in as ${signedIn.displayName ?? signedIn.userId}. <a href="/">Continue</a></p>`,
      );
    }
    if (deps.oidc) {
      parts.push(html`<p><a href="/signin/oidc">Sign in with your smartcard or NHS identity</a></p>`);
    }
    const demo = deps.demoUsers?.();
    if (demo && demo.length > 0) {
      const csrf = reply.generateCsrf();
      parts.push(
        html`<h2>Demo users (synthetic)</h2>
          <ul>
            ${demo.map(
              (u) =>
                html`<li>
                  <form method="post" action="/signin/demo">
                    <input type="hidden" name="_csrf" value="${csrf}" />
                    <input type="hidden" name="user" value="${u.id}" /><button type="submit">${u.name}</button>
                    ${u.profiles.map((p) => html` <span>${p.role} at ${p.org}</span>`)}
                  </form>
                </li>`,
            )}
          </ul>`,
      );
    }
    if (parts.length === 0) parts.push(html`<p>Open the record from your own system (context launch).</p>`);
    return sendPage(reply, 200, 'Sign in to the shared care record', html`${parts}`);
  });

  app.get('/session', async (req, reply) => {
    const user = await current(req);
    if (!user) throw new IcrError('ICR_UNAUTHENTICATED', 'There is no signed-in session');
    return reply.header('cache-control', 'no-store').send({
      userId: user.userId,
      org: user.orgOds,
      role: user.role,
      name: user.displayName ?? null,
      patientId: req.session.patientId ?? null,
      csrfToken: reply.generateCsrf(),
    });
  });

  // Form posts (the demo sign-in and logout), each checked for the session's CSRF token.
  void app.register(async (forms) => {
    registerFormParser(forms);
    forms.post(
      '/signin/demo',
      { config: { rateLimit }, preHandler: csrfCheck(app) },
      async (req: FastifyRequest, reply: FastifyReply) => {
        const demo = deps.demoUsers?.();
        if (!demo) throw new IcrError('ICR_NOT_FOUND', 'Demo sign-in is available in the demo only');
        const userId = new URLSearchParams(typeof req.body === 'string' ? req.body : '').get('user') ?? '';
        const user = demo.find((u) => u.id === userId);
        let actor;
        try {
          actor = await deps.signIn.completeSignIn(userId, user?.profiles ?? [], { method: 'demo', requestId: req.id });
        } catch (err) {
          if (!isIcrError(err) || err.code !== 'ICR_SIGN_IN_REFUSED') throw err;
          return sendPage(reply, 403, 'Sign-in refused', html`<div class="refusal"><p>${err.message}</p></div>`);
        }
        await openSession(req, actor);
        return reply.redirect('/', 303);
      },
    );
    forms.post('/logout', { preHandler: csrfCheck(app) }, async (req, reply) => {
      await req.session.destroy();
      return reply.redirect('/signin', 303);
    });
  });
}

/**
 * OpenID Connect sign-in (authorization code flow with PKCE S256, state and nonce) against an external
 * identity provider such as NHS CIS2, with the certified client library `openid-client`. The provider's
 * role claims (CIS2 `nhsid_nrbac_roles` and `selected_roleid`, from the ID token or UserInfo) map to a
 * role profile of a configured user (src/auth/cis2-roles.ts); a user whose roles map to none is refused
 * with a page that says so. Configured by ICR_OIDC_ISSUER, ICR_OIDC_CLIENT_ID, ICR_OIDC_CLIENT_SECRET;
 * the redirect URI to register at the provider is `<ICR_PUBLIC_URL>/signin/oidc/callback`.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import * as oidc from 'openid-client';
import { cis2Profiles } from '../../auth/cis2-roles.ts';
import type { Config } from '../../config/config.ts';
import type { SignInService } from '../../records/sign-in/sign-in-service.ts';
import { isIcrError } from '../../shared/errors.ts';
import { html, sendPage } from '../html-page.ts';
import { openSession, signInRateLimit } from '../plugins/browser-session.ts';

/** The scopes asked for: CIS2 releases the roles with `nationalrbacaccess` and the chosen one with `selectedrole`. */
export const OIDC_SCOPES = 'openid profile nationalrbacaccess selectedrole';
export const OIDC_CALLBACK_PATH = '/signin/oidc/callback';

export interface OidcRouteDeps {
  config: Readonly<Config>;
  signIn: SignInService;
}

export function registerOidcRoutes(app: FastifyInstance, deps: OidcRouteDeps): void {
  const { config } = deps;
  const { oidcIssuer, oidcClientId, oidcClientSecret } = config;
  if (!oidcIssuer || !oidcClientId || !oidcClientSecret) return;
  const redirectUri = `${config.publicUrl}${OIDC_CALLBACK_PATH}`;
  const rateLimit = signInRateLimit(config);
  let discovered: Promise<oidc.Configuration> | undefined;
  const insecureAllowed = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(oidcIssuer);
  // Discovery once, on first use (the provider may start after this server); a failure is retried.
  const provider = async (): Promise<oidc.Configuration> => {
    // Plain http only for a provider on this machine (development and tests); never across a network.
    discovered ??= oidc.discovery(
      new URL(oidcIssuer),
      oidcClientId,
      oidcClientSecret,
      undefined,
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- marked so only to stand out; loopback only
      insecureAllowed ? { execute: [oidc.allowInsecureRequests], timeout: 10 } : { timeout: 10 },
    );
    try {
      return await discovered;
    } catch (err) {
      discovered = undefined;
      throw err;
    }
  };

  const refuse = (reply: FastifyReply, message: string) =>
    sendPage(
      reply,
      403,
      'Sign-in refused',
      html`<div class="refusal"><p>${message}</p></div>
        <p><a href="/signin">Back to sign-in</a></p>`,
    );

  app.get('/signin/oidc', { config: { rateLimit } }, async (req, reply) => {
    const cfg = await provider();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    req.session.oidc = { state, nonce, codeVerifier };
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: redirectUri,
      scope: OIDC_SCOPES,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return reply.redirect(url.href, 303);
  });

  app.get(OIDC_CALLBACK_PATH, { config: { rateLimit } }, async (req, reply) => {
    const pending = req.session.oidc;
    if (!pending) return refuse(reply, 'This sign-in was not started here, or has already been used. Start again.');
    delete req.session.oidc;
    const cfg = await provider();
    let claims: Record<string, unknown>;
    let sub: string;
    try {
      const tokens = await oidc.authorizationCodeGrant(cfg, new URL(`${config.publicUrl}${req.url}`), {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error('no ID token');
      sub = idClaims.sub;
      const userinfo = await oidc.fetchUserInfo(cfg, tokens.access_token, sub);
      claims = { ...idClaims, ...userinfo };
    } catch (err) {
      req.log.info({ err: err instanceof Error ? err.name : 'error' }, 'OIDC sign-in failed');
      await deps.signIn.refuseSignIn('oidc', 'the identity provider’s answer could not be verified', req.id);
      return refuse(reply, 'The identity provider’s answer could not be verified. Start again.');
    }
    try {
      const actor = await deps.signIn.completeSignIn(sub, cis2Profiles(claims), { method: 'oidc', requestId: req.id });
      await openSession(req, actor);
    } catch (err) {
      if (!isIcrError(err) || err.code !== 'ICR_SIGN_IN_REFUSED') throw err;
      return refuse(reply, err.message);
    }
    return reply.redirect('/', 303);
  });
}

/**
 * SMART on FHIR (thin routes over src/records/sign-in/smart-service.ts):
 * - `GET /fhir/.well-known/smart-configuration` (open): exactly what this server does.
 * - `POST /smart/launch` (browser session + CSRF): EHR launch of a registered app for the person open.
 * - `GET /oauth/authorize` (browser session): the authorization request; a standalone launch with a
 *   patient scope shows the patient picker, answered by `POST /oauth/authorize/patient` (CSRF).
 * - `POST /oauth/token`: authorization_code, refresh_token, client_credentials (OAuth JSON errors).
 * Without sign-in (an API-only server, benchmarks) nothing is advertised and no route but the
 * configuration exists. See docs/sign-in.md "SMART App Launch".
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ASSERTION_ALGORITHMS, OAuthError, SUPPORTED_SCOPES } from '../../auth/smart-rules.ts';
import type { Config } from '../../config/config.ts';
import type { SignInService } from '../../records/sign-in/sign-in-service.ts';
import {
  AuthorizeRefused,
  SMART_PATHS,
  type PendingAuthorization,
  type SmartService,
} from '../../records/sign-in/smart-service.ts';
import type { UserActor } from '../../shared/actor.ts';
import { isIcrError } from '../../shared/errors.ts';
import { html, sendPage } from '../html-page.ts';
import { csrfCheck, sessionUser, signInRateLimit } from '../plugins/browser-session.ts';
import { registerFormParser } from '../plugins/content-type.ts';
import type { RouteDeps } from './route-deps.ts';

declare module 'fastify' {
  interface Session {
    /** A standalone SMART launch waiting for the user to choose the person. */
    smartPending?: PendingAuthorization;
  }
}

/** The SMART configuration: every capability listed works (test/smart-launch.test.ts drives each). */
export function smartConfiguration(publicUrl: string, smart: boolean): Record<string, unknown> {
  const jwks_uri = `${publicUrl}/.well-known/jwks.json`;
  if (!smart) {
    return {
      capabilities: [],
      grant_types_supported: [],
      scopes_supported: [],
      response_types_supported: [],
      code_challenge_methods_supported: [],
      token_endpoint_auth_methods_supported: [],
      token_endpoint_auth_signing_alg_values_supported: [],
      jwks_uri,
    };
  }
  return {
    issuer: `${publicUrl}/fhir`,
    jwks_uri,
    authorization_endpoint: `${publicUrl}${SMART_PATHS.authorize}`,
    token_endpoint: `${publicUrl}${SMART_PATHS.token}`,
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGORITHMS,
    scopes_supported: SUPPORTED_SCOPES,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-ehr',
      'launch-standalone',
      'client-public',
      'client-confidential-asymmetric',
      'context-ehr-patient',
      'context-standalone-patient',
      'permission-patient',
      'permission-user',
      'permission-offline',
      'permission-online',
      'permission-v1',
      'permission-v2',
      'sso-openid-connect',
    ],
  };
}

export function registerSmartRoute(app: FastifyInstance, deps: RouteDeps, smart?: boolean): void {
  const body = JSON.stringify(smartConfiguration(deps.config.publicUrl, smart === true));
  app.get('/fhir/.well-known/smart-configuration', { config: { public: true } }, async (_req, reply) => {
    return reply.type('application/json; charset=utf-8').send(body);
  });
}

export interface SmartRouteDeps {
  config: Readonly<Config>;
  smart: SmartService;
  signIn: SignInService;
}

const formOf = (req: FastifyRequest): URLSearchParams =>
  new URLSearchParams(typeof req.body === 'string' ? req.body : '');

/** The authorization server's routes (in a plugin after the rate limiter, like the sign-in routes). */
export function registerSmartAuthRoutes(app: FastifyInstance, deps: SmartRouteDeps): void {
  const { config, smart } = deps;
  const rateLimit = signInRateLimit(config);
  const current = async (req: FastifyRequest): Promise<UserActor | undefined> => {
    const user = await sessionUser(req, config);
    if (!user) return undefined;
    if (await deps.signIn.stillHolds(user)) return { ...user, via: { channel: 'viewer', requestId: req.id } };
    await req.session.destroy();
    return undefined;
  };
  const refusedPage = (reply: FastifyReply, status: number, message: string) =>
    sendPage(
      reply,
      status,
      'App access refused',
      html`<div class="refusal"><p>${message}</p></div>
        <p>Nothing from the shared care record has been given to the app. This refusal has been recorded.</p>`,
    );
  const pickerPage = (reply: FastifyReply, p: PendingAuthorization, openPatient: string | null, problem?: string) => {
    const csrf = reply.generateCsrf();
    return sendPage(
      reply,
      problem ? 404 : 200,
      'Choose the person',
      html`${problem ? html`<div class="refusal"><p>${problem}</p></div>` : html``}
        <p>
          The app <strong>${p.appName}</strong> asks to read the record of one person (scopes <code>${p.scope}</code>).
        </p>
        ${
          openPatient
            ? html`<form method="post" action="${SMART_PATHS.authorize}/patient">
                <input type="hidden" name="_csrf" value="${csrf}" />
                <input type="hidden" name="patient" value="${openPatient}" />
                <button type="submit">Continue with the person you have open</button>
              </form>`
            : html``
        }
        <form method="post" action="${SMART_PATHS.authorize}/patient">
          <input type="hidden" name="_csrf" value="${csrf}" />
          <label>NHS number <input name="nhs_number" inputmode="numeric" autocomplete="off" /></label>
          <button type="submit">Continue</button>
        </form>
        <form method="post" action="${SMART_PATHS.authorize}/patient">
          <input type="hidden" name="_csrf" value="${csrf}" />
          <input type="hidden" name="action" value="cancel" /><button type="submit">Do not allow</button>
        </form>`,
    );
  };

  app.get('/oauth/authorize', { config: { rateLimit } }, async (req, reply) => {
    const user = await current(req);
    if (!user) {
      return sendPage(
        reply,
        401,
        'Sign in first',
        html`<p>Sign in to the shared care record (or open it from your own system), then start the app again.</p>
          <p><a href="/signin">Sign in</a></p>`,
      );
    }
    const q = new URLSearchParams(req.url.split('?', 2)[1] ?? '');
    let outcome;
    try {
      outcome = await smart.authorize(user, q);
    } catch (err) {
      if (err instanceof AuthorizeRefused) return refusedPage(reply, 400, err.message);
      throw err;
    }
    if (outcome.kind === 'redirect') return reply.header('cache-control', 'no-store').redirect(outcome.location, 302);
    req.session.smartPending = outcome.pending;
    return pickerPage(reply, outcome.pending, req.session.patientId ?? null);
  });

  void app.register(async (forms) => {
    registerFormParser(forms);
    forms.post(
      '/oauth/authorize/patient',
      { config: { rateLimit }, preHandler: csrfCheck(app) },
      async (req, reply) => {
        const user = await current(req);
        const pending = req.session.smartPending;
        if (!user || !pending)
          return refusedPage(reply, 400, 'There is no app waiting for your answer. Start the app again.');
        const form = formOf(req);
        if (form.get('action') === 'cancel') {
          delete req.session.smartPending;
          return reply.redirect(await smart.decline(user, pending), 303);
        }
        const patient = form.get('patient');
        // Only the person the session has open may be chosen by id; anyone else by NHS number (searched).
        const choice =
          patient !== null && patient === req.session.patientId
            ? { patientId: patient }
            : { nhsNumber: form.get('nhs_number') ?? '' };
        let location: string;
        try {
          location = await smart.choosePatient(user, pending, choice);
        } catch (err) {
          if (err instanceof OAuthError || (isIcrError(err) && (err.status === 404 || err.status === 403))) {
            return pickerPage(reply, pending, req.session.patientId ?? null, err.message);
          }
          throw err;
        }
        delete req.session.smartPending;
        return reply.redirect(location, 303);
      },
    );

    forms.post('/smart/launch', { preHandler: csrfCheck(app) }, async (req, reply) => {
      const user = await current(req);
      if (!user) return refusedPage(reply, 401, 'Sign in first.');
      let url: string;
      try {
        url = await smart.createLaunch(user, formOf(req).get('client_id') ?? '', req.session.patientId ?? null);
      } catch (err) {
        if (err instanceof AuthorizeRefused) return refusedPage(reply, 404, err.message);
        throw err;
      }
      return reply.redirect(url, 303);
    });

    forms.post('/oauth/token', { config: { rateLimit } }, async (req, reply) => {
      void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      let body;
      try {
        body = await smart.token(formOf(req), req.id);
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
        if (err.status === 401) void reply.header('www-authenticate', 'Bearer error="invalid_client"');
        return reply.code(err.status).send({ error: err.error, error_description: err.message });
      }
      return reply.send(body);
    });
  });
}

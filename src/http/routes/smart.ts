import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.ts';

/**
 * GET /fhir/.well-known/smart-configuration (open). Honest about what exists today: bearer tokens are ES256
 * JWTs signed with the server's keys (published at `jwks_uri`) or, where allowed, development tokens from
 * `icr token`; browser users arrive by context launch or OpenID Connect sign-in (docs/sign-in.md). There is
 * no SMART authorize or token endpoint yet, so no grant types, scopes or launch capabilities are
 * advertised.
 */
export function registerSmartRoute(app: FastifyInstance, deps: RouteDeps): void {
  const body = JSON.stringify({
    capabilities: [],
    grant_types_supported: [],
    scopes_supported: [],
    response_types_supported: [],
    code_challenge_methods_supported: [],
    token_endpoint_auth_methods_supported: [],
    token_endpoint_auth_signing_alg_values_supported: [],
    jwks_uri: `${deps.config.publicUrl}/.well-known/jwks.json`,
    openicr_token: {
      type: 'Bearer',
      format: 'JWT',
      alg: 'ES256',
      claims: ['sub', 'org', 'role', 'name', 'iat', 'exp'],
      issuance:
        'out of band; development tokens (`icr token --user <user-id>`, HS256) only where ICR_ALLOW_DEV_TOKENS=true or in the demo',
    },
  });
  app.get('/fhir/.well-known/smart-configuration', { config: { public: true } }, async (_req, reply) => {
    return reply.type('application/json; charset=utf-8').send(body);
  });
}

import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './route-deps.ts';

/**
 * GET /fhir/.well-known/smart-configuration (open). Honest about what exists today: bearer tokens are
 * HS256 JWTs issued out of band (`icr token --user <id>`); there is no OAuth authorize or token endpoint
 * yet, so no grant types, scopes or launch capabilities are advertised. SMART App Launch arrives with the
 * access-control issue (docs/adr/0013-http-api.md).
 */
export function registerSmartRoute(app: FastifyInstance, _deps: RouteDeps): void {
  const body = JSON.stringify({
    capabilities: [],
    grant_types_supported: [],
    scopes_supported: [],
    response_types_supported: [],
    code_challenge_methods_supported: [],
    token_endpoint_auth_methods_supported: [],
    token_endpoint_auth_signing_alg_values_supported: [],
    openicr_token: {
      type: 'Bearer',
      format: 'JWT',
      alg: 'HS256',
      claims: ['sub', 'org', 'role', 'name', 'exp'],
      issuance: 'out of band: `icr token --user <user-id>` on the server (when ICR_ALLOW_DEV_TOKENS is not false)',
    },
  });
  app.get('/fhir/.well-known/smart-configuration', { config: { public: true } }, async (_req, reply) => {
    return reply.type('application/json; charset=utf-8').send(body);
  });
}

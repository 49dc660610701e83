/**
 * Authentication: every `/fhir/*` and `/api/*` route needs `Authorization: Bearer <jwt>`, except the routes marked
 * `config: { public: true }` (the CapabilityStatement and the SMART configuration). Health routes live
 * outside `/fhir` and are open. The verified token becomes the Actor handed to the records service.
 * Access control proper (roles, relationships, consent) happens inside the records service.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TokenService } from '../../auth/tokens.ts';
import type { RecordsService } from '../../records/records-service.ts';
import type { Actor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';

const actors = new WeakMap<FastifyRequest, Actor>();

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

/**
 * Verifies the bearer token, then has the records service re-check (cheaply, cached briefly) that its user
 * exists, is enabled and holds the token's (organisation, role) profile: a disabled user's token, or a
 * token for one role used with another, is refused (401 / 403) and the refusal audited.
 */
export function registerAuth(app: FastifyInstance, tokens: TokenService, records: RecordsService): void {
  app.addHook('onRequest', async (req) => {
    if (!needsAuth(req)) return;
    const header = req.headers.authorization;
    const m = header === undefined ? null : /^Bearer +([A-Za-z0-9\-_.]+)\s*$/i.exec(header);
    if (!m?.[1]) throw new IcrError('ICR_UNAUTHENTICATED', 'A bearer token is required (Authorization: Bearer …)');
    const path = req.url.split('?', 1)[0] ?? '';
    const actor: Actor = {
      ...(await tokens.verify(m[1])),
      via: { channel: path.startsWith('/api/') ? 'api' : 'fhir', requestId: req.id },
    };
    await records.users.checkActor(actor);
    actors.set(req, actor);
  });
}

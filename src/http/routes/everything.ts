import type { FastifyInstance } from 'fastify';
import { baseUrlOf, FHIR_JSON } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import type { RouteDeps } from './route-deps.ts';

/** GET /fhir/Patient/:id/$everything → a searchset Bundle (stored JSON text, not re-serialised). */
export function registerEverythingRoute(app: FastifyInstance, { records }: RouteDeps): void {
  app.get<{ Params: { id: string } }>('/fhir/Patient/:id/$everything', async (req, reply) => {
    const json = await records.everything(actorOf(req), req.params.id, baseUrlOf(req));
    return reply.type(FHIR_JSON).send(json);
  });
}

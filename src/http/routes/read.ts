import type { FastifyInstance } from 'fastify';
import { sendStored } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import type { InstanceParams, RouteDeps } from './route-deps.ts';

/** GET /fhir/:type/:id → 200 with ETag and Last-Modified; 404 unknown, 410 deleted. */
export function registerReadRoute(app: FastifyInstance, { records }: RouteDeps): void {
  app.get<{ Params: InstanceParams }>('/fhir/:type/:id', async (req, reply) => {
    const stored = await records.read(actorOf(req), req.params.type, req.params.id);
    return sendStored(reply, stored);
  });
}

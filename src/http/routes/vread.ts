import type { FastifyInstance } from 'fastify';
import { IcrError } from '../../shared/errors.ts';
import { sendStored } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import type { InstanceParams, RouteDeps } from './route-deps.ts';

/** GET /fhir/:type/:id/_history/:vid → one version; 404 unknown, 410 when that version is a deletion. */
export function registerVreadRoute(app: FastifyInstance, { records }: RouteDeps): void {
  app.get<{ Params: InstanceParams & { vid: string } }>('/fhir/:type/:id/_history/:vid', async (req, reply) => {
    const { type, id, vid } = req.params;
    if (!/^\d{1,9}$/.test(vid))
      throw new IcrError('ICR_BAD_REQUEST', `"${vid.slice(0, 64)}" is not a valid version id`);
    const stored = await records.vread(actorOf(req), type, id, Number(vid));
    return sendStored(reply, stored);
  });
}

import type { FastifyInstance } from 'fastify';
import { checkType } from '../../records/records-service.ts';
import { sendWrite } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import type { RouteDeps, TypeParams } from './route-deps.ts';
import { resourceBody } from './write-body.ts';

/**
 * POST /fhir/:type → 201 with Location `…/Type/id/_history/1`. With `If-None-Exist: query` it is a
 * conditional create: one match → 200 with that resource and nothing written; several → 412.
 */
export function registerCreateRoute(app: FastifyInstance, { records, metrics }: RouteDeps): void {
  app.post<{ Params: TypeParams }>('/fhir/:type', async (req, reply) => {
    const { type } = req.params;
    checkType(type);
    const resource = resourceBody(req.body, type);
    const ifNoneExist = req.headers['if-none-exist'];
    const condition = typeof ifNoneExist === 'string' ? ifNoneExist.replace(/^[^?]*\?/, '') : undefined;
    const result = await records.create(actorOf(req), resource, condition ? { ifNoneExist: condition } : {});
    metrics.resourceWritten(type, result.outcome);
    const created = result.outcome === 'created';
    return sendWrite(req, reply, result, created ? 201 : 200, true);
  });
}

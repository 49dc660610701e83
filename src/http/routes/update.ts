import type { FastifyInstance } from 'fastify';
import { checkType } from '../../records/records-service.ts';
import { IcrError } from '../../shared/errors.ts';
import { parseIfMatch, rawQuery, sendWrite } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import type { InstanceParams, RouteDeps, TypeParams } from './route-deps.ts';
import { resourceBody } from './write-body.ts';

/**
 * PUT /fhir/:type/:id → update (or create with that id): 201 when created, 200 otherwise.
 * `If-Match: W/"n"` makes it version-aware (412 when n is not current). The body's id must equal the URL's.
 * PUT /fhir/:type?query → conditional update: 0 matches creates, 1 updates, more is 412.
 */
export function registerUpdateRoutes(app: FastifyInstance, { records, metrics }: RouteDeps): void {
  app.put<{ Params: InstanceParams }>('/fhir/:type/:id', async (req, reply) => {
    const { type, id } = req.params;
    checkType(type);
    const resource = resourceBody(req.body, type);
    if (resource.id !== id) {
      throw new IcrError(
        'ICR_INVALID_RESOURCE',
        resource.id === undefined
          ? 'The resource has no id; it must equal the id in the URL'
          : 'The resource id does not match the id in the URL',
        { details: [{ message: `id must be "${id}"`, expression: `${type}.id` }] },
      );
    }
    const ifMatch = parseIfMatch(req.headers['if-match']);
    const result = await records.update(actorOf(req), { ...resource, id }, ifMatch === undefined ? {} : { ifMatch });
    metrics.resourceWritten(type, result.outcome);
    return sendWrite(req, reply, result, result.outcome === 'created' ? 201 : 200, true);
  });

  app.put<{ Params: TypeParams }>('/fhir/:type', async (req, reply) => {
    const { type } = req.params;
    checkType(type);
    const resource = resourceBody(req.body, type);
    const query = rawQuery(req);
    if (query === '') throw new IcrError('ICR_BAD_REQUEST', 'PUT needs a resource id in the URL or a search query');
    const ifMatch = parseIfMatch(req.headers['if-match']);
    const result = await records.conditionalUpdate(
      actorOf(req),
      resource,
      query,
      ifMatch === undefined ? {} : { ifMatch },
    );
    metrics.resourceWritten(type, result.outcome);
    return sendWrite(req, reply, result, result.outcome === 'created' ? 201 : 200, true);
  });
}

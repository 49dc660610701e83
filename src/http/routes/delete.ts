import type { FastifyInstance } from 'fastify';
import { checkType } from '../../records/records-service.ts';
import { IcrError } from '../../shared/errors.ts';
import { FHIR_JSON, informational, preferReturn } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import type { InstanceParams, RouteDeps, TypeParams } from './route-deps.ts';

/**
 * DELETE /fhir/:type/:id → 204 (or 200 with an OperationOutcome for `Prefer: return=OperationOutcome`).
 * Deleting what is absent or already deleted is also a success (delete is idempotent). Conditional delete
 * is not offered (405), and the CapabilityStatement says so.
 */
export function registerDeleteRoutes(app: FastifyInstance, { records, metrics }: RouteDeps): void {
  app.delete<{ Params: InstanceParams }>('/fhir/:type/:id', async (req, reply) => {
    const { type, id } = req.params;
    const result = await records.delete(actorOf(req), type, id);
    if (result) {
      metrics.resourceWritten(type, 'deleted');
      reply.header('ETag', `W/"${result.resource.versionId}"`);
    }
    if (preferReturn(req) === 'OperationOutcome') {
      const message = result
        ? `${type}/${id} deleted (version ${result.resource.versionId})`
        : `${type}/${id} was not present`;
      return reply
        .code(200)
        .type(FHIR_JSON)
        .send(JSON.stringify(informational(message)));
    }
    return reply.code(204).send();
  });

  app.delete<{ Params: TypeParams }>('/fhir/:type', async (req) => {
    checkType(req.params.type);
    throw new IcrError('ICR_METHOD_NOT_ALLOWED', 'Conditional delete is not supported; delete by id');
  });
}

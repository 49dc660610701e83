import type { FastifyInstance } from 'fastify';
import { IcrError } from '../../shared/errors.ts';
import { baseUrlOf, FHIR_JSON } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import type { RouteDeps } from './route-deps.ts';
import { resourceBody } from './write-body.ts';

const WRITE_STATUS: Record<string, string> = { '200': 'updated', '201': 'created', '204': 'deleted' };

/** POST /fhir with a transaction or batch Bundle → transaction-response / batch-response. */
export function registerBundleRoute(app: FastifyInstance, { records, metrics }: RouteDeps): void {
  app.post('/fhir', async (req, reply) => {
    const bundle = resourceBody(req.body, 'Bundle');
    const type = (bundle as { type?: unknown }).type;
    if (type !== 'transaction' && type !== 'batch') {
      throw new IcrError('ICR_BAD_REQUEST', 'POST /fhir takes a Bundle of type transaction or batch', {
        details: [{ message: 'type must be transaction or batch', expression: 'Bundle.type' }],
      });
    }
    const result = await records.processBundle(actorOf(req), bundle, baseUrlOf(req));
    // Count writes for /metrics (the processor has already checked every entry it applied).
    const entries = (bundle as { entry?: Array<{ request?: { method?: unknown; url?: unknown } }> }).entry ?? [];
    result.entry?.forEach((e, n) => {
      const { method, url } = entries[n]?.request ?? {};
      const outcome = WRITE_STATUS[e.response?.status.split(' ', 1)[0] ?? ''];
      if (typeof method !== 'string' || typeof url !== 'string' || method.toUpperCase() === 'GET' || !outcome) return;
      const resourceType = url.replace(/^.*\/fhir\//, '').split(/[/?]/, 1)[0];
      if (resourceType) metrics.resourceWritten(resourceType, outcome);
    });
    return reply.type(FHIR_JSON).send(JSON.stringify(result));
  });
}

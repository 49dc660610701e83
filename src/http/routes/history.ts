import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HistoryQuery } from '../../records/records-api.ts';
import { IcrError } from '../../shared/errors.ts';
import { isInstantInRange } from '../../fhir/instant.ts';
import { baseUrlOf, checkQueryText, FHIR_JSON, rawQuery } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import type { InstanceParams, RouteDeps, TypeParams } from './route-deps.ts';

const NON_NEGATIVE = /^\d{1,9}$/;

/** `_count`, `_offset` and `_since` from the query; other parameters are refused (history has no others). */
function historyQuery(req: FastifyRequest): HistoryQuery {
  const query = rawQuery(req);
  checkQueryText(query);
  const params = new URLSearchParams(query);
  const q: HistoryQuery = {};
  for (const [name, value] of params) {
    switch (name) {
      case '_count':
      case '_offset':
        if (!NON_NEGATIVE.test(value))
          throw new IcrError('ICR_INVALID_SEARCH', `${name} must be a non-negative integer`);
        q[name === '_count' ? 'count' : 'offset'] = Number(value);
        break;
      case '_since':
        if (!isInstantInRange(value)) {
          throw new IcrError(
            'ICR_INVALID_SEARCH',
            '_since must be a FHIR instant between the years 0001 and 9999, e.g. 2026-01-01T00:00:00Z',
          );
        }
        q.since = value;
        break;
      case '_format':
      case '_pretty':
        break;
      default:
        throw new IcrError('ICR_INVALID_SEARCH', `History does not support the parameter "${name.slice(0, 64)}"`);
    }
  }
  return q;
}

/** History of one resource, one type, or the whole system (newest first), with `_count`, `_offset`, `_since`. */
export function registerHistoryRoutes(app: FastifyInstance, { records }: RouteDeps): void {
  app.get<{ Params: InstanceParams }>('/fhir/:type/:id/_history', async (req, reply) => {
    const q = { ...historyQuery(req), resourceType: req.params.type, id: req.params.id };
    const bundle = await records.history(actorOf(req), q, baseUrlOf(req));
    if (bundle.total === 0 && q.since === undefined) {
      // The history of something never written: say so (404) rather than an empty Bundle.
      await records.vread(actorOf(req), req.params.type, req.params.id, 1);
    }
    return reply.type(FHIR_JSON).send(JSON.stringify(bundle));
  });
  app.get<{ Params: TypeParams }>('/fhir/:type/_history', async (req, reply) => {
    const q = { ...historyQuery(req), resourceType: req.params.type };
    return reply.type(FHIR_JSON).send(JSON.stringify(await records.history(actorOf(req), q, baseUrlOf(req))));
  });
  app.get('/fhir/_history', async (req, reply) => {
    return reply
      .type(FHIR_JSON)
      .send(JSON.stringify(await records.history(actorOf(req), historyQuery(req), baseUrlOf(req))));
  });
}

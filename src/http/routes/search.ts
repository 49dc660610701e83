import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { IcrError } from '../../shared/errors.ts';
import { baseUrlOf, FHIR_JSON, preferLenient, rawQuery, searchParamsOf } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import { registerFormParser } from '../plugins/content-type.ts';
import type { RouteDeps, TypeParams } from './route-deps.ts';

/**
 * Type search: GET /fhir/:type?… and POST /fhir/:type/_search with a form body (its parameters and the
 * URL's are combined). `Prefer: handling=lenient` ignores unknown parameters. The searchset Bundle JSON
 * text from the records service is sent as it is, never parsed again.
 */
export function registerSearchRoutes(app: FastifyInstance, { records, config }: RouteDeps): void {
  async function run(req: FastifyRequest<{ Params: TypeParams }>, reply: FastifyReply, query: string) {
    const params = searchParamsOf(query, config.limits.maxSearchParams);
    const json = await records.search(actorOf(req), req.params.type, params, {
      baseUrl: baseUrlOf(req),
      lenient: preferLenient(req),
    });
    return reply.type(FHIR_JSON).send(json);
  }

  app.get<{ Params: TypeParams }>('/fhir/:type', async (req, reply) => run(req, reply, rawQuery(req)));

  // Its own context, so the form parser applies to this route only.
  void app.register(async (child) => {
    registerFormParser(child);
    child.post<{ Params: TypeParams }>('/fhir/:type/_search', async (req, reply) => {
      if (req.body !== undefined && typeof req.body !== 'string') {
        throw new IcrError(
          'ICR_UNSUPPORTED_MEDIA_TYPE',
          'POST _search takes an application/x-www-form-urlencoded body',
        );
      }
      const query = [rawQuery(req), req.body ?? ''].filter((s) => s !== '').join('&');
      return run(req, reply, query);
    });
  });
}

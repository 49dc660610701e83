import type { FastifyInstance } from 'fastify';
import { IcrError } from '../../shared/errors.ts';
import { rawQuery, searchParamsOf } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import { wholeNumber } from '../request-values.ts';
import type { RouteDeps } from './route-deps.ts';

/**
 * Access over HTTP (docs/access.md). Every call goes through the records service, which decides and audits.
 *
 * - `POST /api/access/relationships` `{patient, kind: "declared"|"emergency", reason, text}` → 201 the grant.
 * - `GET /api/access/reviews?pending=true&limit=20&offset=0` → the privacy officers' review queue.
 * - `POST /api/access/reviews/:id/reviewed` `{note?}` → the grant, marked reviewed.
 * - `POST /api/access/optout` `{patient, in?: boolean}` → records an opt-out (or back in) as a Consent.
 */
export function registerAccessRoutes(app: FastifyInstance, { records }: RouteDeps): void {
  app.post('/api/access/relationships', async (req, reply) => {
    const grant = await records.access.declare(actorOf(req), req.body);
    return reply.code(201).send(grant);
  });

  app.get('/api/access/reviews', async (req) => {
    const q = searchParamsOf(rawQuery(req));
    const pending = (q.get('pending') ?? 'true') !== 'false';
    const limit = wholeNumber(q.get('limit'), 'limit', 20);
    const offset = wholeNumber(q.get('offset'), 'offset', 0);
    const items = await records.access.reviews(actorOf(req), { pending, limit: Math.min(limit, 500), offset });
    return { pending, limit, offset, items };
  });

  app.post<{ Params: { id: string } }>('/api/access/reviews/:id/reviewed', async (req) => {
    const body = (req.body ?? {}) as { note?: unknown };
    if (typeof body !== 'object' || Array.isArray(body))
      throw new IcrError('ICR_BAD_REQUEST', 'The body must be a JSON object');
    if (body.note !== undefined && typeof body.note !== 'string')
      throw new IcrError('ICR_BAD_REQUEST', 'note must be text');
    return records.access.markReviewed(actorOf(req), req.params.id, typeof body.note === 'string' ? body.note : null);
  });

  app.post('/api/access/optout', async (req, reply) => {
    const body = req.body as { patient?: unknown; in?: unknown } | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof body.patient !== 'string') {
      throw new IcrError('ICR_BAD_REQUEST', 'The body must be {"patient": "<Patient id>", "in": false}');
    }
    if (body.in !== undefined && typeof body.in !== 'boolean')
      throw new IcrError('ICR_BAD_REQUEST', '"in" must be true or false');
    const out = await records.access.optOut(
      actorOf(req),
      { patientId: body.patient.replace(/^Patient\//, '') },
      body.in === true,
    );
    return reply.code(201).send(out);
  });
}

import type { FastifyInstance } from 'fastify';
import { IcrError } from '../../shared/errors.ts';
import type { ReviewStatus } from '../../store/mpi-store-review.ts';
import { baseUrlOf, FHIR_JSON, rawQuery, searchParamsOf } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';
import { objectBody, text, wholeNumber } from '../request-values.ts';
import type { RouteDeps } from './route-deps.ts';

/**
 * The master patient index over HTTP.
 *
 * FHIR: `POST /fhir/Patient/$match` (a Parameters with `resource`, `onlyCertainMatches`, `count`, or a bare
 * Patient) → scored candidates; `GET /fhir/Patient/$ihe-pix?sourceIdentifier=system|value[&targetSystem=…]`
 * → the same person's identifiers in other systems (IHE PIXm). PDQm is the ordinary Patient search.
 *
 * Data stewards (JSON, bearer token, role icr-data-steward): `GET /api/mpi/reviews?status=open&limit=20`,
 * `GET /api/mpi/reviews/:id`, `POST /api/mpi/reviews/:id/decision` `{decision: link|not-same, reason}`,
 * `GET /api/mpi/persons/:id` (links, history, conflicts), `POST /api/mpi/unlink` `{patient, reason}`,
 * `POST /api/mpi/merge` `{source, target, reason}`, `POST /api/mpi/not-same` `{patient, other, reason}`,
 * `POST /api/mpi/patients/:id/verify` (asks PDS about the record's NHS number; needs ICR_PDS_URL).
 * Every call goes through the records service, which decides and audits.
 */
export function registerMpiRoutes(app: FastifyInstance, { records }: RouteDeps): void {
  app.post('/fhir/Patient/$match', async (req, reply) => {
    const json = await records.matchPatients(actorOf(req), req.body, baseUrlOf(req));
    return reply.type(FHIR_JSON).send(json);
  });

  app.get('/fhir/Patient/$ihe-pix', async (req, reply) => {
    const params = await records.crossReferences(actorOf(req), searchParamsOf(rawQuery(req)));
    return reply.type(FHIR_JSON).send(params);
  });

  app.get('/api/mpi/reviews', async (req) => {
    const q = searchParamsOf(rawQuery(req));
    const status = q.get('status') ?? 'open';
    if (!REVIEW_STATUSES.includes(status as ReviewStatus))
      throw new IcrError('ICR_BAD_REQUEST', `status must be one of ${REVIEW_STATUSES.join(', ')}`);
    const limit = wholeNumber(q.get('limit'), 'limit', 20);
    const offset = wholeNumber(q.get('offset'), 'offset', 0);
    const items = await records.mpiReviews(actorOf(req), { status: status as ReviewStatus, limit, offset });
    return { status, limit, offset, items };
  });

  app.get<{ Params: { id: string } }>('/api/mpi/reviews/:id', async (req) =>
    records.mpiReview(actorOf(req), req.params.id),
  );

  app.post<{ Params: { id: string } }>('/api/mpi/reviews/:id/decision', async (req) => {
    const body = objectBody(req.body);
    const decision = body.decision;
    if (decision !== 'link' && decision !== 'not-same')
      throw new IcrError('ICR_BAD_REQUEST', 'decision must be "link" or "not-same"');
    return records.mpiDecide(actorOf(req), req.params.id, decision, text(body, 'reason'));
  });

  app.get<{ Params: { id: string } }>('/api/mpi/persons/:id', async (req) =>
    records.mpiPerson(actorOf(req), req.params.id),
  );

  app.post('/api/mpi/unlink', async (req) => {
    const body = objectBody(req.body);
    return records.mpiUnlink(actorOf(req), patientId(body, 'patient'), text(body, 'reason'));
  });

  app.post('/api/mpi/merge', async (req) => {
    const body = objectBody(req.body);
    return records.mpiMerge(
      actorOf(req),
      { sourcePatientId: patientId(body, 'source'), targetPatientId: patientId(body, 'target') },
      text(body, 'reason'),
      'manual',
    );
  });

  app.post<{ Params: { id: string } }>('/api/mpi/patients/:id/verify', async (req) =>
    records.mpiVerify(actorOf(req), req.params.id),
  );

  app.post('/api/mpi/not-same', async (req, reply) => {
    const body = objectBody(req.body);
    await records.mpiNotSame(actorOf(req), patientId(body, 'patient'), patientId(body, 'other'), text(body, 'reason'));
    return reply.code(204).send();
  });
}

const REVIEW_STATUSES: readonly ReviewStatus[] = ['open', 'linked', 'not-same', 'withdrawn'];

/** A patient id, given bare (`abc`) or as a reference (`Patient/abc`). */
function patientId(body: Record<string, unknown>, name: string): string {
  return text(body, name).replace(/^Patient\//, '');
}

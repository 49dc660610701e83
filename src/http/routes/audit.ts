import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditService } from '../../records/audit/audit-service.ts';
import { IcrError } from '../../shared/errors.ts';
import { baseUrlOf, FHIR_JSON, rawQuery, searchParamsOf } from '../fhir-reply.ts';
import { actorOf } from '../plugins/auth.ts';

/**
 * The audit trail over HTTP, for privacy officers (R0001) and Caldicott guardians (R5105); everyone else
 * gets 403 and the refusal is audited (docs/audit.md).
 *
 * FHIR: `GET /fhir/AuditEvent?agent=&patient=&organization=&date=&subtype=&action=&outcome=&_count=&_offset=`
 * (IHE BALP AuditEvents, newest first) and `GET /fhir/AuditEvent/:id`.
 * Admin API: `GET /api/audit/report?nhs-number=…[&from=YYYY-MM-DD][&to=YYYY-MM-DD][&format=html|pdf]` (the
 * person's access report) and `GET /api/audit/signals[?from=…&to=…]` (signals for review).
 */
export function registerAuditRoutes(app: FastifyInstance, audit: AuditService | undefined): void {
  const service = (): AuditService => {
    if (!audit) throw new IcrError('ICR_NOT_IMPLEMENTED', 'The audit trail is not configured');
    return audit;
  };
  const one = (q: URLSearchParams, name: string): string | undefined => {
    const all = q.getAll(name);
    if (all.length > 1) throw new IcrError('ICR_BAD_REQUEST', `${name} may be given once`);
    return all[0];
  };
  const query = (req: FastifyRequest) => searchParamsOf(rawQuery(req));

  app.get('/fhir/AuditEvent', async (req, reply) => {
    const json = await service().searchEvents(actorOf(req), query(req), baseUrlOf(req));
    return reply.type(FHIR_JSON).send(json);
  });

  app.get<{ Params: { id: string } }>('/fhir/AuditEvent/:id', async (req, reply) => {
    const event = await service().readEvent(actorOf(req), req.params.id);
    return reply.type(FHIR_JSON).send(event);
  });

  // AuditEvents are written by the audit trail alone. A create, update or delete of one goes through the
  // records service's write routes, which refuse it (405) and audit the refusal; the conditional forms on
  // the type are refused here.
  const readOnly = async (): Promise<never> => {
    throw new IcrError(
      'ICR_METHOD_NOT_ALLOWED',
      'AuditEvents are written only by the audit trail; they cannot be created, changed or deleted',
    );
  };
  app.put('/fhir/AuditEvent', readOnly);
  app.delete('/fhir/AuditEvent', readOnly);

  app.get('/api/audit/report', async (req, reply) => {
    const q = query(req);
    const format = one(q, 'format') ?? 'html';
    if (format !== 'html' && format !== 'pdf') throw new IcrError('ICR_BAD_REQUEST', 'format must be html or pdf');
    const nhsNumber = one(q, 'nhs-number');
    if (!nhsNumber) throw new IcrError('ICR_BAD_REQUEST', 'nhs-number is required');
    const from = one(q, 'from');
    const to = one(q, 'to');
    const out = await service().accessReport(
      actorOf(req),
      { nhsNumber, ...(from ? { from } : {}), ...(to ? { to } : {}) },
      format,
    );
    reply.header('Cache-Control', 'no-store');
    if (format === 'pdf') reply.header('Content-Disposition', 'attachment; filename="access-report.pdf"');
    return reply.type(out.contentType).send(out.body);
  });

  app.get('/api/audit/signals', async (req) => {
    const q = query(req);
    const from = one(q, 'from');
    const to = one(q, 'to');
    return service().signals(actorOf(req), { ...(from ? { from } : {}), ...(to ? { to } : {}) });
  });
}

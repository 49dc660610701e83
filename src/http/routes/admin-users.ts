import type { FastifyInstance } from 'fastify';
import { IcrError } from '../../shared/errors.ts';
import { actorOf } from '../plugins/auth.ts';
import type { RouteDeps } from './route-deps.ts';

/**
 * Users over HTTP, for system administrators (role icr-system-admin; docs/access.md):
 * `GET /api/admin/users`, `POST /api/admin/users` `{id, name, profiles: [{org, role}]}` (adds the user or
 * profiles to it), `POST /api/admin/users/:id/disable`, `POST /api/admin/users/:id/enable`.
 */
export function registerAdminUserRoutes(app: FastifyInstance, { records }: RouteDeps): void {
  app.get('/api/admin/users', async (req) => ({ users: await records.users.list(actorOf(req)) }));

  app.post('/api/admin/users', async (req, reply) => {
    const b = req.body as { id?: unknown; name?: unknown; profiles?: unknown } | null;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) {
      throw new IcrError('ICR_BAD_REQUEST', 'The body must be {"id", "name", "profiles": [{"org", "role"}]}');
    }
    const profiles: unknown[] = Array.isArray(b.profiles) ? (b.profiles as unknown[]) : [];
    const ok = (p: unknown) =>
      typeof (p as { org?: unknown } | null)?.org === 'string' &&
      typeof (p as { role?: unknown } | null)?.role === 'string';
    if (!Array.isArray(b.profiles) || !profiles.every(ok)) {
      throw new IcrError('ICR_BAD_REQUEST', 'profiles must be a list of {"org": "<ODS code>", "role": "<role code>"}');
    }
    const user = await records.users.add(actorOf(req), {
      id: typeof b.id === 'string' ? b.id : '',
      name: typeof b.name === 'string' ? b.name : '',
      profiles: b.profiles as Array<{ org: string; role: string }>,
    });
    return reply.code(201).send(user);
  });

  app.post<{ Params: { id: string } }>('/api/admin/users/:id/disable', async (req) =>
    records.users.disable(actorOf(req), req.params.id, true),
  );

  app.post<{ Params: { id: string } }>('/api/admin/users/:id/enable', async (req) =>
    records.users.disable(actorOf(req), req.params.id, false),
  );
}

import type { FastifyInstance } from 'fastify';
import type { Db } from '../../store/db.ts';
import type { HttpMetrics } from '../metrics.ts';

export interface HealthDeps {
  db: Db;
  /** True when every migration file has been applied (`migrationsUpToDate` from src/store/migrate.ts). */
  migrationsUpToDate: (db: Db) => Promise<boolean>;
  metrics: HttpMetrics;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** /healthz (alive), /readyz (database answers and migrations are applied), /metrics (Prometheus). Open. */
export function registerHealthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  app.get('/healthz', { config: { public: true } }, async (_req, reply) => {
    return reply.type(JSON_TYPE).send('{"status":"ok"}');
  });

  app.get('/readyz', { config: { public: true } }, async (req, reply) => {
    let database = false;
    let migrations = false;
    try {
      await deps.db.query('select 1');
      database = true;
      migrations = await deps.migrationsUpToDate(deps.db);
    } catch (err) {
      req.log.warn({ err }, 'readiness check failed');
    }
    const ready = database && migrations;
    return reply
      .code(ready ? 200 : 503)
      .type(JSON_TYPE)
      .send(JSON.stringify({ status: ready ? 'ready' : 'unavailable', database, migrations }));
  });

  app.get('/metrics', { config: { public: true } }, async (_req, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
}

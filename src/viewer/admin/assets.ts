/**
 * The admin portal's own static files: its stylesheet and the script that draws its charts with
 * Chart.js (served from the installed package: no CDN, works offline). Read once at start-up.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

const here = (name: string) => new URL(`./${name}`, import.meta.url);

export function registerAdminAssets(app: FastifyInstance): void {
  const css = readFileSync(here('admin.css'), 'utf8');
  const charts = readFileSync(here('admin-charts.js'), 'utf8');
  // The package exports no path to its browser build: find it beside its main file (dist/chart.cjs).
  const chartDist = path.dirname(createRequire(import.meta.url).resolve('chart.js'));
  const chartJs = readFileSync(path.join(chartDist, 'chart.umd.min.js'), 'utf8');
  const send = (type: string, body: string) => async (_req: unknown, reply: FastifyReply) =>
    reply.type(type).header('cache-control', 'public, max-age=3600').send(body);
  app.get('/admin/assets/admin.css', send('text/css; charset=utf-8', css));
  app.get('/admin/assets/admin-charts.js', send('text/javascript; charset=utf-8', charts));
  app.get('/admin/assets/chart.umd.js', send('text/javascript; charset=utf-8', chartJs));
}

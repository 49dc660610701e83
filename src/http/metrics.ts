/**
 * Prometheus metrics for one app instance (its own registry, so tests can build many apps).
 * Labels are bounded: the route template (never the URL), the method, the status code, and for
 * resources written the resource type (only supported types) and the outcome.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { isSupportedType } from '../fhir/types.ts';

export interface HttpMetrics {
  registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  resourceWritten(resourceType: string, outcome: string): void;
}

export function createMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'icr_' });
  const requests = new Counter({
    name: 'icr_http_requests_total',
    help: 'HTTP requests by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'icr_http_request_duration_seconds',
    help: 'HTTP request duration in seconds by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const written = new Counter({
    name: 'icr_resources_written_total',
    help: 'Resources written through the HTTP API by resource type and outcome',
    labelNames: ['resource_type', 'outcome'] as const,
    registers: [registry],
  });
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      duration.observe(labels, seconds);
    },
    resourceWritten(resourceType, outcome) {
      if (!isSupportedType(resourceType)) return;
      written.inc({ resource_type: resourceType, outcome });
    },
  };
}

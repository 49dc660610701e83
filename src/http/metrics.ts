/**
 * Prometheus metrics for one app instance (its own registry, so tests can build many apps).
 * Labels are bounded: the route template (never the URL), the method, the status code, and for
 * resources written the resource type (only supported types) and the outcome.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { isSupportedType } from '../fhir/types.ts';

export interface HttpMetrics {
  registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  resourceWritten(resourceType: string, outcome: string): void;
}

/**
 * Event-loop delay is a property of the process: one monitor (10 ms resolution) serves every registry.
 * It is started by the first app and never stopped (its timer does not keep the process alive).
 */
let loopMonitor: IntervalHistogram | undefined;

function eventLoopMonitor(): IntervalHistogram {
  if (!loopMonitor) {
    loopMonitor = monitorEventLoopDelay({ resolution: 10 });
    loopMonitor.enable();
  }
  return loopMonitor;
}

export function createMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'icr_' });
  const monitor = eventLoopMonitor();
  // Since the previous scrape: how long the event loop was held (every request waits that long).
  new Gauge({
    name: 'icr_event_loop_delay_seconds',
    help: 'Event-loop delay since the previous scrape (perf_hooks.monitorEventLoopDelay), by quantile; max is the longest stall',
    labelNames: ['quantile'] as const,
    registers: [registry],
    collect() {
      const s = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
      this.set({ quantile: '0.5' }, s(monitor.percentile(50)));
      this.set({ quantile: '0.99' }, s(monitor.percentile(99)));
      this.set({ quantile: 'max' }, s(monitor.max));
      monitor.reset();
    },
  });
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

import type { Config } from '../../config/config.ts';
import type { RecordsService } from '../../records/records-service.ts';
import type { HttpMetrics } from '../metrics.ts';

/** What route files receive from buildApp. Routes reach clinical data only through `records`. */
export interface RouteDeps {
  records: RecordsService;
  metrics: HttpMetrics;
  config: Readonly<Config>;
}

export interface TypeParams {
  type: string;
}

export interface InstanceParams {
  type: string;
  id: string;
}

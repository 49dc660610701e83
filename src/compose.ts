/**
 * Wiring of the services that the server, the CLI and the tests share: the versioned store with the
 * search indexer, the search engine, R4 validation and the bundle processor, behind the records
 * service. No I/O happens here beyond what the caller's database handle does.
 */
import type { SensitiveCodes } from './fhir/sensitive-codes.ts';
import { createAuditLog } from './audit/audit-log.ts';
import { noAudit } from './audit/audit-record.ts';
import { initValidation, assertValid } from './fhir/validation.ts';
import { auditConfig, type AuditConfig, type Config } from './config/config.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadSensitiveCodes } from './ingest/sensitive/load-code-lists.ts';
import { createPdsClient, type PdsClient } from './mpi/pds/pds-client.ts';
import type { MatchRules } from './mpi/rules/rules.ts';
import { AuditService } from './records/audit/audit-service.ts';
import { processBundle } from './records/bundles/bundle-processor.ts';
import { FeedService } from './records/feeds/feed-service.ts';
import { createMpi, type Mpi } from './records/mpi/mpi-compose.ts';
import { RecordsService, type SearchEngine } from './records/records-service.ts';
import type { UserDirectory } from './shared/users.ts';
import type { Db } from './store/db.ts';
import { searchIndexer } from './store/indexing/index-resources.ts';
import { ResourceStore } from './store/resource-store.ts';
import { buildSearchsetJson, executeSearch, findIds, parseSearch } from './store/search/index.ts';

export const searchEngine: SearchEngine = {
  async search(db, resourceType, params, opts) {
    const req = parseSearch(resourceType, params, { lenient: opts.lenient ?? false });
    const result = await executeSearch(db, req);
    return buildSearchsetJson(result, req, opts.baseUrl);
  },
  findIds: (db, resourceType, query) => findIds(db, resourceType, query),
};

export interface Services {
  db: Db;
  store: ResourceStore;
  records: RecordsService;
  /** The master patient index; undefined when switched off (`mpi: false`). */
  mpi: Mpi | undefined;
  /** The privacy officer's use cases over the audit trail (AuditEvent, access reports, signals). */
  audit: AuditService;
  /**
   * The feed registry (organisations, feeds, inbox). It is also the `FeedVisibility` the records service's
   * read path filters with (testing feeds hidden except from their testers).
   */
  feeds: FeedService;
}

export interface ServiceOptions {
  /**
   * The master patient index links every source Patient to a person (default on). `false` switches it
   * off: each source Patient is then its own person (tests of the store alone, benchmarks of raw writes).
   */
  mpi?: boolean;
  /** The Spine PDS client, when one is configured; the MPI then verifies NHS numbers with it. */
  pdsClient?: PdsClient;
  /** The MPI's matching rules (default: the bundled rules file); `icr mpi evaluate --product --rules`. */
  mpiRules?: MatchRules;
  /** The hash-chained audit trail (default on); `false` only for benchmarks of the cost of audit. */
  audit?: boolean;
  /** Working hours, time zone and volume threshold of the audit signals (config.audit; defaults otherwise). */
  auditConfig?: AuditConfig;
  /** Users' names for access reports and signals (the users table, when configured). */
  users?: UserDirectory;
  /** Sensitive code lists (ICR_SENSITIVE_CODES): items carrying their codes never enter the store. */
  sensitive?: SensitiveCodes;
}

export function createServices(db: Db, opts: ServiceOptions = {}): Services {
  initValidation();
  const mpi =
    opts.mpi === false
      ? undefined
      : createMpi({
          db,
          ...(opts.pdsClient ? { pdsClient: opts.pdsClient } : {}),
          ...(opts.mpiRules ? { rules: opts.mpiRules } : {}),
        });
  const store = new ResourceStore({ indexer: searchIndexer, ...(mpi ? { persons: mpi.resolver } : {}) });
  const auditLog = opts.audit === false ? noAudit : createAuditLog();
  const records = new RecordsService({
    db,
    store,
    search: searchEngine,
    validate: (r) => {
      assertValid(r);
    },
    processBundle,
    ...(mpi ? { patientIndex: mpi } : {}),
    audit: auditLog,
    ...(opts.sensitive ? { sensitive: opts.sensitive } : {}),
  });
  const audit = new AuditService({
    db,
    store,
    search: searchEngine,
    log: auditLog,
    signals: opts.auditConfig ?? auditConfig({}),
    ...(opts.users ? { users: opts.users } : {}),
  });
  const feeds = new FeedService({ db });
  return { db, store, records, mpi, audit, feeds };
}

/**
 * The sensitive code lists the configuration names (ICR_SENSITIVE_CODES); for the demo, the shared data
 * folder's lists when none is configured. Undefined when there are none.
 */
export function sensitiveCodesFor(
  config: Pick<Config, 'sensitiveCodes' | 'sharedDataDir'>,
  opts: { demo?: boolean } = {},
): SensitiveCodes | undefined {
  if (config.sensitiveCodes) return loadSensitiveCodes(config.sensitiveCodes);
  const demoLists = path.join(config.sharedDataDir, 'sensitive-codes');
  if (opts.demo && existsSync(demoLists)) return loadSensitiveCodes(demoLists);
  return undefined;
}

/** The PDS client the configuration asks for (ICR_PDS_URL, ICR_PDS_TOKEN, ICR_PDS_ODS), or undefined. */
export function pdsClientFor(config: Pick<Config, 'pdsUrl' | 'pdsToken' | 'pdsOds'>): PdsClient | undefined {
  if (!config.pdsUrl) return undefined;
  const token = config.pdsToken;
  return createPdsClient({
    baseUrl: config.pdsUrl,
    ...(token ? { accessToken: () => token } : {}),
    ...(config.pdsOds ? { endUserOds: config.pdsOds } : {}),
  });
}

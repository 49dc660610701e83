/**
 * Wiring of the services that the server, the CLI and the tests share: the versioned store with the
 * search indexer, the search engine, R4 validation and the bundle processor, behind the records
 * service. No I/O happens here beyond what the caller's database handle does.
 */
import { readFileSync } from 'node:fs';
import { type AccessMatrix, DEFAULT_MATRIX, parseMatrixText } from './access/matrix.ts';
import type { AuditLog } from './audit/audit-record.ts';
import type { UserDirectory } from './shared/users.ts';
import { createAuditLog } from './audit/audit-log.ts';
import { initValidation, assertValid } from './fhir/validation.ts';
import type { Config } from './config/config.ts';
import { createPdsClient, type PdsClient } from './mpi/pds/pds-client.ts';
import type { MatchRules } from './mpi/rules/rules.ts';
import { processBundle } from './records/bundles/bundle-processor.ts';
import { FeedService } from './records/feeds/feed-service.ts';
import { createMpi, type Mpi } from './records/mpi/mpi-compose.ts';
import { AccessDecider } from './records/access/access-decider.ts';
import type { FeedVisibility } from './records/feed-visibility.ts';
import { RecordsService, type SearchEngine } from './records/records-service.ts';
import { DbUserDirectory } from './records/users/user-directory.ts';
import { IcrError } from './shared/errors.ts';
import type { Db } from './store/db.ts';
import { searchIndexer } from './store/indexing/index-resources.ts';
import { ResourceStore } from './store/resource-store.ts';
import { buildSearchsetJson, executeSearch, findIds, parseSearch } from './store/search/index.ts';

export const searchEngine: SearchEngine = {
  async search(db, resourceType, params, opts) {
    const req = parseSearch(resourceType, params, { lenient: opts.lenient ?? false });
    if (opts.personIds) req.personIds = opts.personIds;
    if (opts.scope) req.access = opts.scope;
    const result = await executeSearch(db, req);
    return buildSearchsetJson(result, req, opts.baseUrl);
  },
  check(resourceType, params, opts) {
    parseSearch(resourceType, params, { lenient: opts.lenient ?? false });
  },
  findIds: (db, resourceType, query) => findIds(db, resourceType, query),
};

export interface Services {
  db: Db;
  store: ResourceStore;
  records: RecordsService;
  /** The master patient index; undefined when switched off (`mpi: false`). */
  mpi: Mpi | undefined;
  /** The configured users (with a short cache), for whoever authenticates. */
  users: DbUserDirectory;
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
  /** The role → categories matrix (default: src/access/default-matrix.json). */
  matrix?: AccessMatrix;
  /** Which feeds' data is hidden (default: none; the feed registry provides it). */
  feedVisibility?: FeedVisibility;
  /** Hours a declared relationship or emergency access lasts (default 12). */
  grantHours?: number;
  /** Where the audit records go instead of the hash-chained trail (tests that watch each record). */
  auditLog?: AuditLog;
  /** Who may act, instead of the users in the database (tests with a fixed or changing set of users). */
  userDirectory?: UserDirectory;

  /** The MPI's matching rules (default: the bundled rules file); `icr mpi evaluate --product --rules`. */
  mpiRules?: MatchRules;
  /** The hash-chained audit trail (default on); `false` only for benchmarks of the cost of audit. */
  audit?: boolean;
}

/** The matrix the configuration names (ICR_ACCESS_MATRIX), validated; the default when unset. */
export function loadAccessMatrix(config: Pick<Config, 'accessMatrixFile'>): AccessMatrix {
  const file = config.accessMatrixFile;
  if (!file) return DEFAULT_MATRIX;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new IcrError('ICR_ACCESS_MATRIX_INVALID', `${file}: cannot be read (ICR_ACCESS_MATRIX)`, { cause: err });
  }
  return parseMatrixText(text, file);
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
  const users = new DbUserDirectory(db);
  const feeds = new FeedService({ db });
  const decider = new AccessDecider({
    ...(opts.matrix ? { matrix: opts.matrix } : {}),
    feedVisibility: opts.feedVisibility ?? feeds,
  });
  const records = new RecordsService({
    users: opts.userDirectory ?? users,
    decider,
    ...(opts.grantHours === undefined ? {} : { grantHours: opts.grantHours }),
    db,
    store,
    search: searchEngine,
    validate: (r) => {
      assertValid(r);
    },
    processBundle,
    ...(mpi ? { patientIndex: mpi } : {}),
    ...(opts.auditLog ? { audit: opts.auditLog } : opts.audit === false ? {} : { audit: createAuditLog() }),
  });
  return { db, store, records, mpi, users, feeds };
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

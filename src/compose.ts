/**
 * Wiring of the services that the server, the CLI and the tests share: the versioned store with the
 * search indexer, the search engine, R4 validation and the bundle processor, behind the records
 * service with its access decisions and audit trail. No I/O happens here beyond what the caller's
 * database handle does (and reading the configured matrix and code-list files).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type AccessMatrix, DEFAULT_MATRIX, parseMatrixText } from './access/matrix.ts';
import { createAuditLog } from './audit/audit-log.ts';
import { type AuditLog, noAudit } from './audit/audit-record.ts';
import { auditConfig, type AuditConfig, type Config } from './config/config.ts';
import type { SensitiveCodes } from './fhir/sensitive-codes.ts';
import { initValidation, assertValid } from './fhir/validation.ts';
import { hl7v2BatchHandler, type Hl7JobDeps, hl7v2JobHandler } from './ingest/jobs/hl7v2-job.ts';
import { Hl7Intake } from './ingest/mllp/intake.ts';
import { loadSensitiveCodes } from './ingest/sensitive/load-code-lists.ts';
import { createPdsClient, type PdsClient } from './mpi/pds/pds-client.ts';
import type { MatchRules } from './mpi/rules/rules.ts';
import { AccessDecider } from './records/access/access-decider.ts';
import { AdminService } from './records/admin/admin-service.ts';
import { AuditService } from './records/audit/audit-service.ts';
import { processBundle } from './records/bundles/bundle-processor.ts';
import type { FeedVisibility } from './records/feed-visibility.ts';
import { FeedService } from './records/feeds/feed-service.ts';
import type { RejectedBounds } from './store/feed-rejected-store.ts';
import type { MpiContext } from './records/mpi/assign.ts';
import { createMpi, type Mpi } from './records/mpi/mpi-compose.ts';
import { mpiPersonResolver } from './records/mpi/person-resolver.ts';
import { RecordsService, type SearchEngine, type SetValidator, type Validator } from './records/records-service.ts';
import { DbUserDirectory } from './records/users/user-directory.ts';
import { IcrError } from './shared/errors.ts';
import type { UserDirectory } from './shared/users.ts';
import type { Db } from './store/db.ts';
import { HL7_QUEUE } from './store/feed-store.ts';
import { Worker } from './queue/worker.ts';
import { searchIndexer } from './store/indexing/index-resources.ts';
import { ResourceStore } from './store/resource-store.ts';
import { buildSearchsetJson, executeSearch, findIds, parseSearch } from './store/search/index.ts';

export const searchEngine: SearchEngine = {
  async search(db, resourceType, params, opts) {
    const req = parseSearch(resourceType, params, { lenient: opts.lenient ?? false });
    if (opts.personIds) req.personIds = opts.personIds;
    if (opts.scope) req.access = opts.scope;
    const result = await executeSearch(db, req);
    const rows = [...result.matches, ...result.includes];
    return {
      json: buildSearchsetJson(result, req, opts.baseUrl),
      returned: rows.length,
      persons: [...new Set(rows.flatMap((r) => (r.personId === null ? [] : [r.personId])))],
      patients: result.matches.filter((r) => r.resourceType === 'Patient').map((r) => r.id),
    };
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
  /** The privacy officer's use cases over the audit trail (AuditEvent, access reports, signals). */
  audit: AuditService;
  /** The configured users (with a short cache), for whoever authenticates. */
  users: DbUserDirectory;
  /**
   * The feed registry (organisations, feeds, inbox). It is also the `FeedVisibility` the records service's
   * read path filters with (testing feeds hidden except from their testers).
   */
  feeds: FeedService;
  /** The admin portal's door: which area a person may open (audited), the feed overview. */
  admin: AdminService;
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
  /** Which feeds' data is hidden (default: the feed registry's testing feeds). */
  feedVisibility?: FeedVisibility;
  /** Hours a declared relationship or emergency access lasts (default 12). */
  grantHours?: number;
  /** Where the audit records go instead of the hash-chained trail (tests that watch each record). */
  auditLog?: AuditLog;
  /** Who may act, instead of the users in the database (tests with a fixed or changing set of users). */
  userDirectory?: UserDirectory;
  /** The MPI's matching rules (default: the bundled rules file); `icr mpi evaluate --product --rules`. */
  mpiRules?: MatchRules;
  /**
   * The context the store's person resolver assigns with, from the MPI's own (a bulk link's, ADR 0054:
   * `withBulkLink(db, mpi.ctx, (linker) => … createServices(db, { mpiContext: () => linker.ctx }))`).
   */
  mpiContext?: (ctx: MpiContext) => MpiContext;
  /** The hash-chained audit trail (default on); `false` only for benchmarks of the cost of audit. */
  audit?: boolean;
  /** Working hours, time zone and volume threshold of the audit signals (config.audit; defaults otherwise). */
  auditConfig?: AuditConfig;
  /** Sensitive code lists (ICR_SENSITIVE_CODES): items carrying their codes never enter the store. */
  sensitive?: SensitiveCodes;
  /**
   * Replaces the access decisions. Benchmarks only (bench/access-bench.ts composes an allow-all decider to
   * measure the cost of access decisions); main.ts, the CLI and the demo never set it.
   */
  decider?: AccessDecider;
  /** The validator of every write (default: R4 validation inline); the server's runs large resources in workers. */
  validate?: Validator;
  /** How long rejected HL7 v2 messages are kept, and how many at most (config; default 30 days, 10,000). */
  rejectedBounds?: RejectedBounds;
  /** The validator of set writes (a feed's Bundle, an import's batch); the server's runs them in workers. */
  validateMany?: SetValidator;
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
  const persons = opts.mpiContext && mpi ? mpiPersonResolver(opts.mpiContext(mpi.ctx)) : mpi?.resolver;
  const store = new ResourceStore({ indexer: searchIndexer, ...(persons ? { persons } : {}) });
  const users = new DbUserDirectory(db);
  const auditLog =
    opts.auditLog ??
    (opts.audit === false
      ? noAudit
      : createAuditLog(opts.auditConfig?.readCommit ? { readCommit: opts.auditConfig.readCommit } : {}));
  // Feed administration (approve, suspend, replay, reading a rejected message) is audited.
  const feeds = new FeedService({
    db,
    audit: auditLog,
    ...(opts.rejectedBounds ? { rejectedBounds: opts.rejectedBounds } : {}),
  });
  // Rejected messages are replayed through an HL7 v2 intake (the server wires its own, which wakes its worker).
  feeds.useIntake(new Hl7Intake(feeds));
  const decider =
    opts.decider ??
    new AccessDecider({
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
    validate:
      opts.validate ??
      ((r) => {
        assertValid(r);
      }),
    ...(opts.validateMany ? { validateMany: opts.validateMany } : {}),
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
    users: opts.userDirectory ?? users,
  });
  const admin = new AdminService({ db, audit: auditLog, feeds });
  return { db, store, records, mpi, audit, users, feeds, admin };
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

/**
 * The longest a round's slice should hold PGlite (milliseconds; ADR 0053): PGlite runs on the server's
 * thread with one connection, so while a slice's transaction runs, the intake's commits — and the ACKs
 * behind them — wait. Each slice costs a fixed ~50 ms of statements on PGlite (measured), so slices stay
 * large: the budget only cuts the long rounds of a backlog. PostgreSQL rounds are not cut (the intake
 * commits on its own connection).
 */
export const PGLITE_ROUND_BUDGET_MS = 500;

/**
 * The worker that applies the HL7 v2 inbox, as the server runs it (src/server.ts; the MLLP bench runs the
 * same): rounds of up to 200 messages about different people, applied as sets (ADR 0047), cut into
 * time-bounded slices on PGlite (ADR 0053).
 */
export function hl7v2Worker(
  db: Db,
  deps: Hl7JobDeps,
  opts: {
    onError?: (jobId: number, reason: string) => void;
    pollIntervalMs?: number;
    /** Overrides the round budget (`null`: rounds in one go); the bench's A/B. */
    roundBudgetMs?: number | null;
  } = {},
): Worker {
  const budget =
    opts.roundBudgetMs === undefined ? (db.kind === 'pglite' ? PGLITE_ROUND_BUDGET_MS : null) : opts.roundBudgetMs;
  return new Worker(db, {
    queue: HL7_QUEUE,
    handler: hl7v2JobHandler(deps),
    batchHandler: hl7v2BatchHandler(deps),
    batchSize: 200,
    // Renewed while worked: after a crash, what the dead process held is picked up again within 10 s.
    leaseSeconds: 10,
    pollIntervalMs: opts.pollIntervalMs ?? 100,
    ...(budget === null ? {} : { roundBudgetMs: budget }),
    ...(opts.onError ? { onError: opts.onError } : {}),
  });
}

/**
 * One entry point for wiring the MPI into the application (src/compose.ts): the store's person resolver,
 * the stewards' operations, the PDS use cases when a PDS client is configured, and the FHIR operations.
 * No I/O on construction.
 */
import type { PdsClient } from '../../mpi/pds/pds-client.ts';
import { loadRules } from '../../mpi/rules/load-rules.ts';
import type { MatchRules } from '../../mpi/rules/rules.ts';
import type { Db } from '../../store/db.ts';
import type { PersonResolver } from '../../store/resource-store.ts';
import { mpiContext, type MpiContext } from './assign.ts';
import { coreMatchEngine, type MatchEngine } from './engine.ts';
import {
  type MatchFound,
  patientMatch,
  patientPix,
  type PixFound,
  readMatchParameters,
  readPixParameters,
} from './fhir-operations.ts';
import { MpiPdsService } from './pds-service.ts';
import { mpiPersonResolver } from './person-resolver.ts';
import { MpiService } from './mpi-service.ts';

export interface Mpi {
  readonly ctx: MpiContext;
  /** Give to `new ResourceStore({ persons })`. */
  readonly resolver: PersonResolver;
  readonly service: MpiService;
  /** Present when a PDS client was given. */
  readonly pds: MpiPdsService | undefined;
  /**
   * `POST Patient/$match`: body is the Parameters (or a Patient); returns the searchset Bundle JSON text and
   * how many candidates it holds.
   */
  match(body: unknown, baseUrl: string): Promise<MatchFound>;
  /**
   * `GET Patient/$ihe-pix?sourceIdentifier=system|value&targetSystem=…`: returns Parameters, with the persons
   * the source identifier belongs to and the Patient ids returned.
   */
  pix(params: URLSearchParams): Promise<PixFound>;
}

export interface MpiDeps {
  db: Db;
  /** Matching rules (default: the bundled rules file). */
  rules?: MatchRules;
  /** Overrides the matcher built from `rules` (tests). */
  engine?: MatchEngine;
  pdsClient?: PdsClient;
  now?: () => Date;
  newId?: () => string;
}

export function createMpi(deps: MpiDeps): Mpi {
  const engine = deps.engine ?? coreMatchEngine(deps.rules ?? loadRules());
  const opts: Parameters<typeof mpiContext>[1] = {};
  if (deps.now) opts.now = deps.now;
  if (deps.newId) opts.newId = deps.newId;
  const ctx = mpiContext(engine, opts);
  return {
    ctx,
    resolver: mpiPersonResolver(ctx),
    service: new MpiService({ db: deps.db, ctx }),
    pds: deps.pdsClient ? new MpiPdsService({ db: deps.db, ctx, pds: deps.pdsClient }) : undefined,
    match: (body, baseUrl) => patientMatch(deps.db, engine, readMatchParameters(body), baseUrl),
    pix: (params) => patientPix(deps.db, readPixParameters(params)),
  };
}

/**
 * Wiring of the services that the server, the CLI and the tests share: the versioned store with the
 * search indexer, the search engine, R4 validation and the bundle processor, behind the records
 * service. No I/O happens here beyond what the caller's database handle does.
 */
import { initValidation, assertValid } from './fhir/validation.ts';
import { processBundle } from './records/bundle-processor.ts';
import { RecordsService, type SearchEngine } from './records/records-service.ts';
import type { Db } from './store/db.ts';
import { searchIndexer } from './store/indexing/index-resources.ts';
import { type PersonResolver, ResourceStore } from './store/resource-store.ts';
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
}

export interface ServiceOptions {
  /** The MPI's person resolver; without one each source Patient is its own person. */
  persons?: PersonResolver;
}

export function createServices(db: Db, opts: ServiceOptions = {}): Services {
  initValidation();
  const store = new ResourceStore({ indexer: searchIndexer, ...(opts.persons ? { persons: opts.persons } : {}) });
  const records = new RecordsService({
    db,
    store,
    search: searchEngine,
    validate: (r) => {
      assertValid(r);
    },
    processBundle,
  });
  return { db, store, records };
}

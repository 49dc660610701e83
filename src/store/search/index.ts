/** The search engine: parse a query, run it, and build the searchset Bundle text. */
export { parseSearch, type ParseOptions } from './parse.ts';
export { executeSearch } from './execute.ts';
export { buildSearchsetJson } from './bundle.ts';
export { findIds } from './find-ids.ts';
export type { Row, SearchRequest, SearchResult } from './types.ts';

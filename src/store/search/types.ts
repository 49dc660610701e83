/**
 * The parsed form of a FHIR search. `parseSearch` builds it from the query string (checking the syntax of
 * every value); `executeSearch` turns it into SQL over `resource` and the `search_*` index tables.
 */
import type { SearchParamDef } from '../../fhir/search-params.ts';
import type { AccessScope } from '../access-sql.ts';
import type { DateRange, NumberRange } from '../indexing/values.ts';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';

/** `system|code`: system undefined = any system, null = no system (`|code`); code undefined = any (`system|`). */
export interface TokenValue {
  kind: 'token';
  system?: string | null;
  code?: string;
}
export interface StringValue {
  kind: 'string';
  value: string;
}
export interface DateValue {
  kind: 'date';
  prefix: Prefix;
  range: DateRange;
}
export interface NumberValue {
  kind: 'number';
  prefix: Prefix;
  range: NumberRange;
}
export interface QuantityValue {
  kind: 'quantity';
  prefix: Prefix;
  range: NumberRange;
  system?: string;
  code?: string;
}
export interface ReferenceValue {
  kind: 'reference';
  type?: string;
  id?: string;
  url?: string;
}
export interface UriValue {
  kind: 'uri';
  value: string;
}
export interface CompositeValue {
  kind: 'composite';
  first: TokenValue;
  second: SimpleValue;
}
export interface MissingValue {
  kind: 'missing';
  missing: boolean;
}

export type SimpleValue =
  TokenValue | StringValue | DateValue | NumberValue | QuantityValue | ReferenceValue | UriValue;
export type SearchValue = SimpleValue | CompositeValue | MissingValue;

export interface SearchFilter {
  /** The query key as written (e.g. `subject:Patient.name:exact`). */
  key: string;
  def: SearchParamDef;
  modifier?: string;
  /** One level of chaining: the target types and the parameter searched on them (same code on each). */
  chain?: { targets: ReadonlyArray<{ type: string; def: SearchParamDef }>; modifier?: string };
  /** Values joined by comma: any may match (OR). Several filters: all must match (AND). */
  values: SearchValue[];
}

export interface SortRule {
  /** A parameter code, `_id` or `_lastUpdated`. */
  code: string;
  def?: SearchParamDef;
  descending: boolean;
}

export interface IncludeSpec {
  /** Resource type holding the reference. */
  sourceType: string;
  /** Reference parameter code, or `*` for all. */
  param: string;
  /** Optional target type filter. */
  targetType?: string;
  iterate: boolean;
}

export interface SearchRequest {
  resourceType: string;
  filters: SearchFilter[];
  count: number;
  offset: number;
  sort: SortRule[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  /** `_summary=count` (or `_count=0`): only the total. */
  summaryCount: boolean;
  total: 'none' | 'estimate' | 'accurate';
  /** `_elements`: top-level elements to keep in matches. */
  elements?: string[];
  /** Parameters ignored in lenient mode (unknown or unsupported), as written. */
  ignored: string[];
  /** The accepted parameters as written, in order, minus `_offset` (for paging links). */
  query: Array<[string, string]>;
  /**
   * Set by the records service: only resources of these persons match; included resources must belong to
   * one of them or to no person (Practitioner, Organization, …).
   */
  personIds?: readonly string[];
  /** Set by the records service: the access decision as SQL, on matches and includes alike. */
  access?: AccessScope;
}

/** One resource as it leaves the search: the stored JSON text, unparsed (unless `_elements` applied). */
export interface Row {
  resourceType: string;
  id: string;
  versionId: number;
  /** ISO instant, UTC, milliseconds. */
  lastUpdated: string;
  json: string;
  /** The person (MPI) the resource belongs to; null for resources of no person (Organization, …). */
  personId: string | null;
}

export interface SearchResult {
  total?: number;
  matches: Row[];
  includes: Row[];
  /** True when there are more matches after this page. */
  hasMore: boolean;
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

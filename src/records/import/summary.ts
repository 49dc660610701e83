/**
 * The result of an import: counts per resource type, what was skipped and why, and every failure named
 * by file and entry (or line). It holds no patient data: only types, counts, file names, positions and
 * the safe messages of errors.
 */

export interface TypeCounts {
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  failed: number;
}

export interface ImportFailure {
  file: string;
  /** `entry 12` (Bundle.entry[12]), `line 7` (NDJSON), or '' for the whole file. */
  where: string;
  resourceType?: string;
  code: string;
  message: string;
  /** The error details, each `FHIRPath expression: message` when the element at fault is known. */
  details: string[];
}

export interface ImportNotice {
  file: string;
  message: string;
}

export interface ImportSummary {
  feedId: string;
  sourceOrg: string;
  files: { read: number; skipped: number };
  startedAt: string;
  elapsedMs: number;
  /** Stored (created + updated + unchanged) per second of wall time. */
  resourcesPerSecond: number;
  byType: Record<string, TypeCounts>;
  totals: TypeCounts;
  /** Entries not imported because OpenICR does not hold their type (or they carry no resource), by type. */
  skippedTypes: Record<string, number>;
  /** Copies of Organizations, Practitioners… merged into one resource by identifier (counted as unchanged). */
  deduplicated: Record<string, number>;
  /** Entries dropped because they carry a sensitive code (counted as skipped; never stored), by type. */
  excludedSensitive: Record<string, number>;
  failures: ImportFailure[];
  /** Failures beyond the ones kept in `failures` (the list is capped). */
  failuresNotListed: number;
  notices: ImportNotice[];
}

const MAX_LISTED_FAILURES = 10_000;

export const zeroCounts = (): TypeCounts => ({ created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0 });

/** Accumulates an ImportSummary. */
export class SummaryBuilder {
  readonly summary: ImportSummary;
  readonly #started: number;

  constructor(feedId: string, sourceOrg: string, now: Date) {
    this.#started = performance.now();
    this.summary = {
      feedId,
      sourceOrg,
      files: { read: 0, skipped: 0 },
      startedAt: now.toISOString(),
      elapsedMs: 0,
      resourcesPerSecond: 0,
      byType: {},
      totals: zeroCounts(),
      skippedTypes: {},
      deduplicated: {},
      excludedSensitive: {},
      failures: [],
      failuresNotListed: 0,
      notices: [],
    };
  }

  count(resourceType: string, what: keyof TypeCounts, n = 1): void {
    const row = (this.summary.byType[resourceType] ??= zeroCounts());
    row[what] += n;
    this.summary.totals[what] += n;
  }

  skip(resourceType: string): void {
    this.count(resourceType, 'skipped');
    this.summary.skippedTypes[resourceType] = (this.summary.skippedTypes[resourceType] ?? 0) + 1;
  }

  excludedSensitive(resourceType: string): void {
    this.count(resourceType, 'skipped');
    this.summary.excludedSensitive[resourceType] = (this.summary.excludedSensitive[resourceType] ?? 0) + 1;
  }

  deduplicated(resourceType: string): void {
    this.count(resourceType, 'unchanged');
    this.summary.deduplicated[resourceType] = (this.summary.deduplicated[resourceType] ?? 0) + 1;
  }

  fail(f: ImportFailure): void {
    this.count(f.resourceType ?? '(unknown)', 'failed');
    if (this.summary.failures.length < MAX_LISTED_FAILURES) this.summary.failures.push(f);
    else this.summary.failuresNotListed++;
  }

  notice(file: string, message: string): void {
    this.summary.notices.push({ file, message });
  }

  /** The summary with elapsed time and rate filled in; types sorted by name. */
  finish(): ImportSummary {
    const s = this.summary;
    s.elapsedMs = Math.round(performance.now() - this.#started);
    const stored = s.totals.created + s.totals.updated + s.totals.unchanged;
    s.resourcesPerSecond = s.elapsedMs > 0 ? Math.round((stored * 1000) / s.elapsedMs) : 0;
    s.byType = Object.fromEntries(Object.entries(s.byType).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return s;
  }
}

/** One line naming a failure: file, where, type, code, message and the FHIRPath expressions. */
export function describeFailure(f: ImportFailure): string {
  const where = [f.where, f.resourceType ? `(${f.resourceType})` : ''].filter(Boolean).join(' ');
  const details = f.details.length > 0 ? ` [${f.details.join('; ')}]` : '';
  return `${f.file}${where ? ` ${where}` : ''}: ${f.code}: ${f.message}${details}`;
}

/**
 * The access decision as SQL (DESIGN.md §6, docs/access.md): the records service decides once per person
 * per request and hands the store an `AccessScope`; every read path (read, vread, search matches and
 * includes, history, `$everything`) adds `scopeClause` to its WHERE and reads content through
 * `contentExpr`, which withholds a restricted person's address, telecom and GP in one place.
 */
import type { SqlValue } from './db.ts';

export interface AccessScope {
  /** Categories visible in rows that belong to no person (Practitioner, Organization, Medication, …). */
  sharedCategories: readonly string[];
  /** Categories visible in rows that belong to a person. */
  personCategories: readonly string[];
  /** The person opted out: their rows beyond demographics only from this organisation (ODS code). */
  ownOrgOnly?: string;
  /** Feeds whose data must not be shown (feeds in testing; records/feed-visibility.ts). */
  hiddenFeeds: readonly string[];
  /** Leave out restricted persons entirely (a search on an element withheld from them). */
  excludeRestricted?: boolean;
}

const RESTRICTED_EXISTS = (a: string) =>
  `exists (select 1 from resource q where q.person_id = ${a}.person_id and q.restricted and not q.deleted)`;

/**
 * The stored JSON text, except a Patient of a restricted person (any of the person's Patient records
 * marked R), whose address, telecom and generalPractitioner are removed.
 */
export function contentExpr(a: string): string {
  return `case when ${a}.resource_type = 'Patient' and ${a}.content is not null and ${RESTRICTED_EXISTS(a)}
    then (${a}.content::jsonb - '{address,telecom,generalPractitioner}'::text[])::text else ${a}.content end`;
}

/** The WHERE conditions of `scope` over row alias `a` (a `resource` or `resource_version` row). */
export function scopeClause(add: (v: SqlValue) => string, a: string, scope: AccessScope | undefined): string {
  return scopeClauses(add, scope).clause(a);
}

/**
 * The scope's values added once, and `clause`: its WHERE conditions over any row alias (`scopeClause`'s,
 * for a statement that applies one scope to several row sets; every use refers to the same parameters).
 * `shape` names the parameters and conditions `clause` writes: two scopes of one shape give the same SQL
 * text, so a statement built from the clause can be kept per shape.
 */
export function scopeClauses(
  add: (v: SqlValue) => string,
  scope: AccessScope | undefined,
): { clause: (a: string) => string; shape: string } {
  if (!scope) return { clause: () => 'true', shape: 'none' };
  const hidden = scope.hiddenFeeds.length > 0 ? add([...scope.hiddenFeeds]) : undefined;
  const person = add([...scope.personCategories]);
  const ownOrg = scope.ownOrgOnly === undefined ? undefined : add(scope.ownOrgOnly);
  const shared = add([...scope.sharedCategories]);
  const excludeRestricted = scope.excludeRestricted === true;
  const clause = (a: string): string => {
    const parts = [`not ${a}.entered_in_error`];
    if (hidden !== undefined) parts.push(`(${a}.feed_id is null or ${a}.feed_id <> all(${hidden}::text[]))`);
    let own = `${a}.category = any(${person}::text[])`;
    if (ownOrg !== undefined) own += ` and (${a}.category = 'demographics' or ${a}.source_org = ${ownOrg})`;
    parts.push(`(case when ${a}.person_id is null then ${a}.category = any(${shared}::text[]) else ${own} end)`);
    if (excludeRestricted) parts.push(`not ${RESTRICTED_EXISTS(a)}`);
    return parts.join(' and ');
  };
  // The parameters the clause refers to and the conditions it writes: all that its text depends on.
  const shape = `scope:${hidden ?? '-'}:${person}:${ownOrg ?? '-'}:${shared}:${excludeRestricted ? 'x' : '-'}`;
  return { clause, shape };
}

/** A parameter adder over a plain values array. */
export function adder(values: SqlValue[]): (v: SqlValue) => string {
  return (v) => {
    values.push(v);
    return `$${values.length}`;
  };
}

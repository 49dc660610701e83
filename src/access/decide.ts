/**
 * The person-level access decision (DESIGN.md §6 steps 3–5), made once per person per request from the
 * facts the store gathers in one query. Pure: no I/O. The result becomes SQL filters (store/access-sql.ts).
 */
import { type Category, CLINICAL_CATEGORIES } from '../fhir/access-facts.ts';

/** On what grounds data is shown (the same codes as the audit record's AccessBasis). */
export type AccessBasis = 'relationship' | 'declared' | 'emergency' | 'own-organisation' | 'not-clinical' | 'none';

export interface PersonFactsInput {
  related: boolean;
  grant: { kind: 'declared' | 'emergency'; reason: string } | null;
  optedOut: boolean;
  restricted: boolean;
}

export interface PersonDecision {
  /** The grounds on which clinical data is shown ('not-clinical': demographics only). */
  basis: AccessBasis;
  /** The categories of this person's rows the user sees. */
  categories: readonly Category[];
  /** Opted out: only rows from the user's own organisation beyond demographics. */
  ownOrgOnly: boolean;
  restricted: boolean;
  /** The reason stated with a declared or emergency grant. */
  reason?: string;
}

/** Categories that need no relationship (identity confirmation; the audit trail for privacy officers). */
const WITHOUT_RELATIONSHIP: ReadonlySet<Category> = new Set(['demographics', 'audit']);

export function decidePerson(roleCategories: readonly Category[], f: PersonFactsInput): PersonDecision {
  const clinical = roleCategories.some((c) => CLINICAL_CATEGORIES.includes(c));
  const base = { ownOrgOnly: f.optedOut, restricted: f.restricted };
  if (clinical && (f.related || f.grant)) {
    const basis: AccessBasis = f.optedOut ? 'own-organisation' : f.related ? 'relationship' : (f.grant?.kind ?? 'none');
    const d: PersonDecision = { ...base, basis, categories: roleCategories };
    if (!f.related && f.grant) d.reason = f.grant.reason;
    return d;
  }
  return { ...base, basis: 'not-clinical', categories: roleCategories.filter((c) => WITHOUT_RELATIONSHIP.has(c)) };
}

interface ConsentLike {
  status?: unknown;
  scope?: { coding?: Array<{ code?: unknown }> };
  dateTime?: unknown;
  provision?: { type?: unknown };
}

/**
 * Whether a person has opted out: the most recent active Consent with scope `patient-privacy` has
 * provision.type `deny` (a later `permit` opts back in). Ordered by Consent.dateTime, else when stored.
 */
export function isOptedOut(consents: ReadonlyArray<{ resource: unknown; lastUpdated: string }>): boolean {
  let latest: { at: string; deny: boolean } | undefined;
  for (const c of consents) {
    const r = c.resource as ConsentLike;
    if (r.status !== 'active') continue;
    if (!r.scope?.coding?.some((x) => x.code === 'patient-privacy')) continue;
    const type = r.provision?.type;
    if (type !== 'deny' && type !== 'permit') continue;
    const d = typeof r.dateTime === 'string' ? new Date(r.dateTime) : undefined;
    const at = d && !Number.isNaN(d.getTime()) ? d.toISOString() : c.lastUpdated;
    if (!latest || at >= latest.at) latest = { at, deny: type === 'deny' };
  }
  return latest?.deny === true;
}

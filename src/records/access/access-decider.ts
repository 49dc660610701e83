/**
 * Decides, once per person per request, what a user may see (DESIGN.md §6), and turns the decision into
 * the SQL scope every read path applies (store/access-sql.ts). The product's own jobs (system actors)
 * see everything.
 */
import { decidePerson, isOptedOut, type PersonDecision } from '../../access/decide.ts';
import { type AccessMatrix, DEFAULT_MATRIX } from '../../access/matrix.ts';
import { isRole } from '../../access/roles.ts';
import { type Category, CATEGORIES } from '../../fhir/access-facts.ts';
import type { Actor, UserActor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import type { AccessScope } from '../../store/access-sql.ts';
import { accessStore, type FactsAsker, type PersonFacts } from '../../store/access-store.ts';
import type { Db } from '../../store/db.ts';
import type { StoredRow } from '../../store/resource-store.ts';
import { allFeedsVisible, type FeedVisibility } from '../feed-visibility.ts';

/** Categories of resources that belong to no person (reference data: Practitioner, Organization, Medication). */
const SHARED_CATEGORIES: ReadonlySet<Category> = new Set(['care-network', 'medications']);

/** Types that never belong to a person: searchable across the record by roles that see their category. */
export const NON_PERSON_TYPES: ReadonlySet<string> = new Set([
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'Medication',
]);

export interface AccessDeciderOptions {
  matrix?: AccessMatrix;
  feedVisibility?: FeedVisibility;
  /** How long ago a care event may have ended and still count as a relationship (default 12 months). */
  relationshipMonths?: number;
  now?: () => Date;
}

/** A user's decision about one person, with the scope to read with. */
export interface Decided {
  decision: PersonDecision;
  scope: AccessScope;
}

export class AccessDecider {
  readonly matrix: AccessMatrix;
  readonly #feeds: FeedVisibility;
  readonly #months: number;
  readonly #now: () => Date;

  constructor(opts: AccessDeciderOptions = {}) {
    this.matrix = opts.matrix ?? DEFAULT_MATRIX;
    this.#feeds = opts.feedVisibility ?? allFeedsVisible;
    this.#months = opts.relationshipMonths ?? 12;
    this.#now = opts.now ?? (() => new Date());
  }

  /** The categories the actor's role sees (system actors: all). An unknown role sees nothing. */
  roleCategories(actor: Actor): readonly Category[] {
    if (actor.kind === 'system') return CATEGORIES;
    return isRole(actor.role) ? this.matrix[actor.role] : [];
  }

  sharedCategories(actor: Actor): Category[] {
    return this.roleCategories(actor).filter((c) => SHARED_CATEGORIES.has(c));
  }

  /** The scope for rows of no person only (cross-person reads of reference data). */
  async sharedScope(
    actor: Actor,
    personCategories: readonly Category[] = [],
    inTransaction = false,
  ): Promise<AccessScope> {
    return {
      sharedCategories: this.sharedCategories(actor),
      // A patient-scoped SMART token finds no one across the record: it reads its one person only.
      personCategories: personLimited(actor) ? [] : personCategories,
      hiddenFeeds: inTransaction ? [] : await this.#feeds.hiddenFeeds(actor),
    };
  }

  /** A patient-scoped SMART token's answer about any other person: as if not held. */
  #otherPerson(actor: UserActor): Decided {
    return {
      decision: { basis: 'none', categories: [], ownOrgOnly: false, restricted: false },
      scope: { sharedCategories: this.sharedCategories(actor), personCategories: [], hiddenFeeds: [] },
    };
  }

  /** Who asks, for the facts query; `folded`: the feed registry's rule is read in the same statement. */
  #asker(actor: UserActor, inTransaction: boolean): FactsAsker {
    const now = this.#now();
    const since = new Date(now);
    since.setUTCMonth(since.getUTCMonth() - this.#months);
    return {
      userId: actor.userId,
      org: actor.orgOds,
      since: since.toISOString(),
      now: now.toISOString(),
      // The feed registry's rule is read in the facts query itself (one round trip); another rule is asked.
      hiddenFeeds: !inTransaction && this.#feeds.fromRegistry === true,
    };
  }

  /** The hidden feeds when they are not read in the facts query (another rule; none inside a write). */
  #askedFeeds(actor: UserActor, asker: FactsAsker, inTransaction: boolean): Promise<readonly string[]> {
    return inTransaction || asker.hiddenFeeds === true ? Promise.resolve([]) : this.#feeds.hiddenFeeds(actor);
  }

  /** The pure rules (src/access/decide.ts) over the facts, and the scope they give. */
  #decided(actor: UserActor, facts: PersonFacts, hiddenFeeds: readonly string[]): Decided {
    const consents = facts.consents.flatMap((c) => {
      try {
        return [{ resource: JSON.parse(c.json) as unknown, lastUpdated: c.lastUpdated }];
      } catch {
        return [];
      }
    });
    const decision = decidePerson(this.roleCategories(actor), {
      related: facts.related,
      grant: facts.grant,
      optedOut: isOptedOut(consents),
      restricted: facts.restricted,
    });
    const scope: AccessScope = {
      sharedCategories: this.sharedCategories(actor),
      personCategories: decision.categories,
      hiddenFeeds,
    };
    if (decision.ownOrgOnly) scope.ownOrgOnly = actor.orgOds;
    return { decision, scope };
  }

  /**
   * Decides about one person for a user: one query (store/access-store.ts), then pure rules. `inTransaction`:
   * called inside a write's transaction, where the feed registry (which reads outside it) is not asked.
   */
  async person(db: Db, actor: UserActor, personId: string, inTransaction = false): Promise<Decided> {
    const limit = actor.limits?.personId;
    // A patient-scoped SMART token: every other person is as if not held, whatever the request says.
    if (limit !== undefined && limit !== personId) return this.#otherPerson(actor);
    const asker = this.#asker(actor, inTransaction);
    const [facts, asked] = await Promise.all([
      accessStore.personFacts(db, personId, asker),
      this.#askedFeeds(actor, asker, inTransaction),
    ]);
    return this.#decided(actor, facts, asker.hiddenFeeds === true ? (facts.hiddenFeeds ?? []) : asked);
  }

  /**
   * Reads one current resource and decides about its person in the same round trip (the read by id,
   * `$everything`, a search's anchor): the row as `ResourceStore.read` with `out` gives it, and
   * - `decided`: the decision about the row's person, exactly as `person` makes it; when there is no row,
   *   about `absent` (a person no one has: the same work as for a row, and the answer of a person not seen);
   * - `shared`: for a row that belongs to no person, the scope of shared rows (as `sharedScope` gives it).
   */
  async row(
    db: Db,
    actor: UserActor,
    resourceType: string,
    id: string,
    absent: string,
    inTransaction = false,
  ): Promise<{ row: StoredRow | null; decided: Decided; shared?: AccessScope }> {
    const asker = this.#asker(actor, inTransaction);
    const [{ row, facts }, asked] = await Promise.all([
      accessStore.rowWithFacts(db, resourceType, id, absent, asker),
      this.#askedFeeds(actor, asker, inTransaction),
    ]);
    const hiddenFeeds = asker.hiddenFeeds === true ? (facts.hiddenFeeds ?? []) : asked;
    if (row && row.personId === null) {
      const scope: AccessScope = {
        sharedCategories: this.sharedCategories(actor),
        personCategories: [],
        hiddenFeeds: inTransaction ? [] : hiddenFeeds,
      };
      return { row, decided: this.#decided(actor, facts, hiddenFeeds), shared: scope };
    }
    const personId = row?.personId ?? absent;
    const limit = actor.limits?.personId;
    if (limit !== undefined && limit !== personId) return { row, decided: this.#otherPerson(actor) };
    return { row, decided: this.#decided(actor, facts, hiddenFeeds) };
  }

  /** Whether one stored row is visible under a scope (the same rule as scopeClause, for a row in hand). */
  static rowVisible(row: StoredRow, scope: AccessScope): boolean {
    if (row.enteredInError) return false;
    if (row.feedId !== null && scope.hiddenFeeds.includes(row.feedId)) return false;
    const category = row.category ?? '';
    const shared: readonly string[] = scope.sharedCategories;
    const person: readonly string[] = scope.personCategories;
    if (row.personId === null) return shared.includes(category);
    if (!person.includes(category)) return false;
    return scope.ownOrgOnly === undefined || category === 'demographics' || row.sourceOrg === scope.ownOrgOnly;
  }
}

/** Whether a SMART token limits the actor to one person (patient scope). */
export function personLimited(actor: Actor): boolean {
  return actor.kind === 'user' && actor.limits?.personId !== undefined;
}

/** Refuses a user whose role sees no category of `resourceType`'s data at all. */
export function roleRefusal(actor: UserActor, category: Category): IcrError {
  return new IcrError('ICR_ACCESS_DENIED', `The role ${actor.role} does not see ${category} data`);
}

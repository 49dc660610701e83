/**
 * Item-level rule of DESIGN.md §6 step 6: data from a feed that is not yet live is hidden, except from that
 * feed's testers. The read path filters on the stored `feed_id` column with the list this returns, so
 * approving a feed shows its data at once, with no reprocessing. Implemented over the feed registry.
 */
import type { Actor } from '../shared/actor.ts';

export interface FeedVisibility {
  /** Ids of the feeds whose data `actor` must not see (feeds in testing the actor is not a tester of). */
  hiddenFeeds(actor: Actor): Promise<readonly string[]>;
  /**
   * True when the rule is the feed registry's own (feed status and testers in the database): the access
   * decision then asks for a user's hidden feeds in its person-facts query, saving a round trip per read.
   */
  readonly fromRegistry?: boolean;
}

/** Before the feed registry exists: every feed's data is visible. */
export const allFeedsVisible: FeedVisibility = {
  async hiddenFeeds() {
    return [];
  },
};

/**
 * The admin portal's door (docs/admin.md): which area of `/admin` a person may open, decided by the
 * access rule in src/access/admin-areas.ts and audited (allowed or refused) here, and the feed overview
 * that the feeds page shows. The pages call this and the other records services; none of them checks a
 * role itself.
 */
import { ADMIN_AREAS, type AdminArea, adminAreasFor, mayUseAdminArea } from '../../access/admin-areas.ts';
import type { AuditLog } from '../../audit/audit-record.ts';
import type { Actor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import type { Db } from '../../store/db.ts';
import {
  type FailedMessage,
  failedMessages,
  feedActivity,
  type FeedWithCounters,
  type HourActivity,
} from '../../store/feed-store.ts';
import type { FeedService } from '../feeds/feed-service.ts';

export interface AdminServiceDeps {
  db: Db;
  audit: AuditLog;
  feeds: FeedService;
}

/** One feed as its page shows it: status, counters, failed messages and the last 24 hours. */
export interface FeedDetail {
  feed: FeedWithCounters;
  failed: FailedMessage[];
  activity: HourActivity[];
}

export const FEED_ACTIVITY_HOURS = 24;

export class AdminService {
  readonly #deps: AdminServiceDeps;

  constructor(deps: AdminServiceDeps) {
    this.#deps = deps;
  }

  /** The areas of the portal `actor` may use (the portal's home page lists only these). */
  areas(actor: Actor): AdminArea[] {
    return adminAreasFor(actor);
  }

  /**
   * Opens an area of the portal for `actor`: audited as `admin-open` (allowed), or refused with
   * ICR_ACCESS_DENIED naming who the area is for (audited as refused) — a page shows the refusal.
   */
  async open(actor: Actor, area: AdminArea): Promise<void> {
    const rec = { action: 'admin-open', actor, what: `admin/${area}`, basis: 'not-clinical' as const };
    if (!mayUseAdminArea(actor, area)) {
      await this.#deps.audit.record(this.#deps.db, {
        ...rec,
        outcome: 'refused',
        basis: 'none',
        errorCode: 'ICR_ACCESS_DENIED',
      });
      const rule = ADMIN_AREAS[area];
      throw new IcrError(
        'ICR_ACCESS_DENIED',
        `${rule.title} is for ${rule.audience} (role ${rule.roles.join(' or ')}); your role is ${actor.kind === 'user' ? actor.role : 'a system'}`,
      );
    }
    await this.#deps.audit.record(this.#deps.db, { ...rec, outcome: 'allowed' });
  }

  /** Every feed with its counters (the feeds page); only for those who may open the feeds area. */
  async feeds(actor: Actor): Promise<FeedWithCounters[]> {
    await this.open(actor, 'feeds');
    return this.#deps.feeds.list();
  }

  /** One feed in detail: its failed messages (with the reason) and its messages per hour. */
  async feed(actor: Actor, id: string): Promise<FeedDetail> {
    await this.open(actor, 'feeds');
    await this.#deps.feeds.feed(id);
    const found = (await this.#deps.feeds.list()).find((f) => f.id === id);
    if (!found) throw new IcrError('ICR_NOT_FOUND', `Feed "${id}" is not registered`);
    const failed = await failedMessages(this.#deps.db, id);
    const activity = await feedActivity(this.#deps.db, id, FEED_ACTIVITY_HOURS);
    return { feed: found, failed, activity };
  }
}

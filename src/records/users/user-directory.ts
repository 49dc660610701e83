/**
 * The configured users over the database (`UserDirectory`, src/shared/users.ts), with a small TTL cache so
 * that re-checking every request's user and profile costs a map lookup. A change made through this
 * process (disable, add a profile) takes effect at once; one made by another process within the TTL.
 */
import type { UserDirectory, UserRecord } from '../../shared/users.ts';
import type { Db } from '../../store/db.ts';
import { userStore } from '../../store/user-store.ts';

export const DEFAULT_USER_CACHE_MS = 5_000;

export class DbUserDirectory implements UserDirectory {
  readonly #db: Db;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, { at: number; user: Promise<UserRecord | null> }>();

  constructor(db: Db, opts: { ttlMs?: number; now?: () => number } = {}) {
    this.#db = db;
    this.#ttl = opts.ttlMs ?? DEFAULT_USER_CACHE_MS;
    this.#now = opts.now ?? Date.now;
  }

  async find(userId: string): Promise<UserRecord | null> {
    const now = this.#now();
    const hit = this.#cache.get(userId);
    if (hit && now - hit.at < this.#ttl) return hit.user;
    const user = userStore.find(this.#db, userId);
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(userId, { at: now, user });
    try {
      return await user;
    } catch (err) {
      this.#cache.delete(userId);
      throw err;
    }
  }

  /** Forgets a user after a change (disable, new profile). */
  invalidate(userId: string): void {
    this.#cache.delete(userId);
  }
}

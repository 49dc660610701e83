/**
 * Browser sessions kept in the database (table web_session), so that logout ends a session on the server
 * and every server process sees the same sessions. The HTTP layer adapts this to @fastify/session's store.
 */
import type { Db } from '../../store/db.ts';
import { deleteWebSession, readWebSession, sweepWebSessions, writeWebSession } from '../../store/sign-in-store.ts';

export class WebSessionStore {
  readonly #db: Db;
  readonly #now: () => Date;
  #lastSweep = 0;

  constructor(db: Db, now: () => Date) {
    this.#db = db;
    this.#now = now;
  }

  async get(id: string): Promise<string | null> {
    return readWebSession(this.#db, id, this.#now());
  }

  async set(id: string, data: string, expiresAt: Date): Promise<void> {
    await writeWebSession(this.#db, id, data, expiresAt);
    if (Date.now() - this.#lastSweep > 10 * 60_000) {
      this.#lastSweep = Date.now();
      await sweepWebSessions(this.#db, this.#now());
    }
  }

  async destroy(id: string): Promise<void> {
    await deleteWebSession(this.#db, id);
  }
}

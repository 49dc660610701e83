/**
 * The demo users (demo-users.ts) as a UserDirectory: each holds the one role profile it is listed with.
 * A real implementation of the interface for the demo and for tests until users live in the database
 * (the access work); a deployment passes the database directory instead.
 */
import type { UserDirectory, UserRecord } from '../shared/users.ts';
import { DEMO_USERS } from './demo-users.ts';

export function demoUserDirectory(): UserDirectory & { list(): UserRecord[] } {
  const users = DEMO_USERS.map((u): UserRecord => ({
    id: u.id,
    name: u.name,
    disabled: false,
    profiles: [{ org: u.org, role: u.role }],
  }));
  return {
    async find(userId) {
      return users.find((u) => u.id === userId) ?? null;
    },
    list: () => [...users],
  };
}

/** A directory over a fixed list of users (tests, and operators' scripted set-ups). */
export function listUserDirectory(users: readonly UserRecord[]): UserDirectory {
  return {
    async find(userId) {
      return users.find((u) => u.id === userId) ?? null;
    },
  };
}

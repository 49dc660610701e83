import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openTestDb, testDatabases } from '../../test/helpers/db.ts';
import { loadMigrations, migrate, migrationsUpToDate, pendingMigrations } from './migrate.ts';

for (const kind of testDatabases) {
  describe(`migrations (${kind})`, () => {
    it('applies every file once, in order, and then has nothing pending', async () => {
      const t = await openTestDb(kind, { migrate: false });
      try {
        const files = loadMigrations();
        const applied = await migrate(t.db);
        assert.deepEqual(
          applied.map((m) => m.version),
          files.map((m) => m.version),
        );
        assert.equal((await pendingMigrations(t.db)).length, 0);
        assert.equal((await migrate(t.db)).length, 0);
        assert.equal(await migrationsUpToDate(t.db), true);
      } finally {
        await t.close();
      }
    });

    it('refuses to run when an applied migration was edited', async () => {
      const t = await openTestDb(kind);
      try {
        const files = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
        await assert.rejects(() => migrate(t.db, files), /edited after it was applied/);
      } finally {
        await t.close();
      }
    });

    it('refuses to run when the applied list is not a prefix of the files', async () => {
      const t = await openTestDb(kind);
      try {
        const files = loadMigrations().slice(1);
        await assert.rejects(() => migrate(t.db, files), /no matching file/);
      } finally {
        await t.close();
      }
    });
  });
}

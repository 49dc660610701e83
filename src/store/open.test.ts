import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from './open.ts';

describe('openDatabase (embedded)', () => {
  it('refuses a second opener of the same data directory while the first holds it, then allows it', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'icr-open-'));
    try {
      const db = await openDatabase({ databaseUrl: undefined, dataDir });
      // Simulate another live process holding the lock: our parent process.
      await db.close();
      writeFileSync(path.join(dataDir, 'openicr.lock'), String(process.ppid));
      await assert.rejects(() => openDatabase({ databaseUrl: undefined, dataDir }), /in use by process/);
      // A stale lock (no such process) is taken over.
      writeFileSync(path.join(dataDir, 'openicr.lock'), '999999999');
      const again = await openDatabase({ databaseUrl: undefined, dataDir });
      const res = await again.query<{ one: number }>('select 1 as one');
      assert.equal(res.rows[0]?.one, 1);
      await again.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

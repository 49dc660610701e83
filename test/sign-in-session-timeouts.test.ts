/**
 * Session idle timeout and absolute lifetime, enforced on the server (the clock is moved with node:test's
 * mock timers; the session row and the cookie are the real ones).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { registerHostSystem } from '../src/records/sign-in/host-systems.ts';
import { makeHostSystem, sessionCookie, type TestHostSystem } from './helpers/host-system.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

describe('browser session timeouts', () => {
  let ta: TestApp;
  let host: TestHostSystem;
  before(async () => {
    ta = await openTestApp('pglite', { ICR_SESSION_IDLE_MINUTES: '30', ICR_SESSION_MAX_HOURS: '1' });
    host = await makeHostSystem('epr-timeouts', 'A81001', ta.config.publicUrl);
    await registerHostSystem(ta.t.db, { id: host.id, org: host.org, jwks: host.jwksText });
  });
  after(async () => {
    mock.timers.reset();
    host.close();
    await ta.close();
  });

  async function launch(): Promise<Record<string, string>> {
    const res = await ta.app.inject({ url: `/launch?token=${await host.sign()}` });
    assert.equal(res.statusCode, 303);
    return sessionCookie(res);
  }

  it('a session idle for longer than the idle timeout has ended', async () => {
    const cookies = await launch();
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    try {
      mock.timers.tick(29 * 60_000);
      assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 200);
      mock.timers.tick(29 * 60_000); // 29 minutes after the last request: still alive
      assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 200);
      mock.timers.tick(31 * 60_000);
      assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 401);
      assert.equal((await ta.app.inject({ url: '/fhir/Patient?_count=1', cookies })).statusCode, 401);
    } finally {
      mock.timers.reset();
    }
  });

  it('a busy session still ends at its absolute lifetime', async () => {
    const cookies = await launch();
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    try {
      for (let i = 0; i < 3; i++) {
        mock.timers.tick(19 * 60_000);
        assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 200, `after ${(i + 1) * 19} min`);
      }
      mock.timers.tick(4 * 60_000); // 61 minutes after sign-in, 4 after the last request
      assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 401);
    } finally {
      mock.timers.reset();
    }
  });
});

/**
 * The server's keys in the database: the JWKS endpoint, `icr keys rotate` reaching a running server (old
 * tokens still verify, new ones are signed with the new key, a retired key drops out after its tokens
 * expired), and `icr systems add/list` with a JWKS file (a private key refused).
 */
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEMO_USERS } from '../src/auth/demo-users.ts';
import { TokenService } from '../src/auth/tokens.ts';
import { registerSystemsCommand } from '../src/cli/systems-command.ts';
import { DbKeyRing } from '../src/records/sign-in/key-ring.ts';
import { borrowed, testDatabases } from './helpers/db.ts';
import { makeHostSystem } from './helpers/host-system.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const GP = DEMO_USERS[0]!;

for (const kind of testDatabases) {
  describe(`server keys and host systems (${kind})`, () => {
    let ta: TestApp;
    let out = '';
    const icr = async (...args: string[]) => {
      out = '';
      process.exitCode = undefined;
      const program = new Command().exitOverride();
      registerSystemsCommand(
        program,
        async () => borrowed(ta.t.db),
        (s) => void (out += s),
      );
      await program.parseAsync(['node', 'icr', ...args]);
      const code = process.exitCode;
      process.exitCode = undefined;
      return { out, code };
    };
    before(async () => {
      ta = await openTestApp(kind);
    });
    after(async () => {
      await ta.close();
    });

    it('the JWKS is published without private parts and verifies the server’s tokens', async () => {
      const res = await ta.app.inject({ url: '/.well-known/jwks.json' });
      assert.equal(res.statusCode, 200);
      const jwks = res.json<{ keys: Array<Record<string, unknown>> }>();
      assert.equal(jwks.keys.length, 1);
      for (const k of jwks.keys) {
        assert.equal(k.d, undefined);
        assert.equal(k.kty, 'EC');
        assert.equal(k.alg, 'ES256');
      }
      const token = await ta.tokens.issue(GP);
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), { algorithms: ['ES256'] });
      assert.equal(payload.sub, GP.id);
    });

    it('`icr keys rotate` reaches the running server: old tokens still verify, the new key signs, retired keys expire', async () => {
      const oldToken = await ta.tokens.issue(GP);
      const oldKid = decodeProtectedHeader(oldToken).kid;
      const rotated = await icr('keys', 'rotate');
      assert.equal(rotated.code, undefined);
      const newKid = /new signing key (\S+); retired (\S+)/.exec(rotated.out);
      assert.ok(newKid, rotated.out);
      assert.equal(newKid[2], oldKid);

      // Another server process, started after the rotation, signs with the new key; this one accepts it
      // at once (it reloads its keys when a token names one it has not seen), and still accepts the old.
      const otherProcess = new TokenService({ keys: await DbKeyRing.open(ta.t.db) });
      const newToken = await otherProcess.issue(GP);
      assert.equal(decodeProtectedHeader(newToken).kid, newKid[1]);
      for (const token of [oldToken, newToken]) {
        const res = await ta.app.inject({
          url: '/fhir/Patient?_count=1',
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(res.statusCode, 200);
      }
      const jwks = (await ta.app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: Array<{ kid: string }> }>();
      assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [newKid[1], oldKid].sort());
      const listed = await icr('keys', 'list');
      assert.match(listed.out, new RegExp(`${newKid[1]}\\tES256\\t\\S+\\tactive`));
      assert.match(listed.out, new RegExp(`${oldKid}\\tES256\\t\\S+\\tretired, verifies until`));

      // Nine hours on (beyond the 8 h token cap and the grace period) the old key is gone.
      const later = new TokenService({
        keys: await DbKeyRing.open(ta.t.db, { now: () => new Date(Date.now() + 9 * 3600_000) }),
        now: () => new Date(Date.now() + 9 * 3600_000),
      });
      await assert.rejects(later.verify(oldToken), { code: 'ICR_UNAUTHENTICATED' });
    });

    it('`icr systems add` registers a host system from a JWKS file; a private key or bad ODS code is refused', async () => {
      const host = await makeHostSystem('rio-rns', 'RNS', ta.config.publicUrl);
      try {
        const added = await icr('systems', 'add', host.id, '--org', 'RNS', '--jwks', host.jwksFile);
        assert.equal(added.code, undefined);
        assert.match(added.out, /host system rio-rns registered for RNS/);
        await icr('systems', 'add', 'remote-epr', '--org', 'A81001', '--jwks', 'https://epr.example/jwks.json');
        const list = await icr('systems', 'list', '--json');
        const rows = JSON.parse(list.out) as Array<{ id: string; org: string; keys: string }>;
        assert.deepEqual(
          rows.map((r) => [r.id, r.org, r.keys]),
          [
            ['remote-epr', 'A81001', 'https://epr.example/jwks.json'],
            ['rio-rns', 'RNS', '1 key(s) held'],
          ],
        );

        const { writeFileSync } = await import('node:fs');
        const jwks = JSON.parse(host.jwksText) as { keys: Array<Record<string, unknown>> };
        const withPrivate = `${host.jwksFile}.private`;
        writeFileSync(withPrivate, JSON.stringify({ keys: [{ ...jwks.keys[0], d: 'secret' }] }));
        const errors: string[] = [];
        const write = process.stderr.write.bind(process.stderr);
        process.stderr.write = (s: string) => (errors.push(s), true);
        try {
          assert.equal((await icr('systems', 'add', 'leaky', '--org', 'RNS', '--jwks', withPrivate)).code, 2);
          assert.equal((await icr('systems', 'add', 'bad-org', '--org', 'not ods', '--jwks', host.jwksFile)).code, 2);
          assert.equal((await icr('systems', 'add', 'missing', '--org', 'RNS', '--jwks', '/no/such/file')).code, 2);
        } finally {
          process.stderr.write = write;
        }
        assert.match(errors.join(''), /holds a private key/);
        assert.match(errors.join(''), /not an ODS code/);
        assert.match(errors.join(''), /cannot read the JWKS file \/no\/such\/file/);
      } finally {
        host.close();
      }
    });

    it('`icr apps add/list` registers SMART apps; `--backend-role` allows backend services; bad input refused', async () => {
      const host = await makeHostSystem('tpp-backend', 'A81001', ta.config.publicUrl);
      const errors: string[] = [];
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = (s: string) => (errors.push(s), true);
      try {
        const pub = await icr(
          'apps',
          'add',
          'growth-chart',
          '--name',
          'Growth chart',
          '--redirect-uri',
          'https://apps.example/cb',
          '--redirect-uri',
          'http://127.0.0.1:9000/cb',
          '--launch-uri',
          'https://apps.example/launch',
        );
        assert.equal(pub.code, undefined, errors.join(''));
        assert.match(pub.out, /SMART app growth-chart registered \(public\)/);
        const conf = await icr(
          'apps',
          'add',
          'meds',
          '--name',
          'Meds',
          '--redirect-uri',
          'https://m.example/cb',
          '--jwks',
          host.jwksFile,
        );
        assert.match(conf.out, /\(confidential\)/);
        const list = await icr('apps', 'list');
        assert.match(
          list.out,
          /growth-chart\tGrowth chart\tpublic\thttps:\/\/apps.example\/cb http:\/\/127.0.0.1:9000\/cb\tlaunch https:\/\/apps.example\/launch/,
        );
        assert.match(list.out, /meds\tMeds\tconfidential/);
        for (const bad of ['http://apps.example/cb', 'https://apps.example/cb#frag', 'not a url']) {
          assert.equal((await icr('apps', 'add', 'x', '--name', 'X', '--redirect-uri', bad)).code, 2, bad);
        }
        assert.match(errors.join(''), /must be an absolute https URL/);

        await icr('systems', 'add', host.id, '--org', 'A81001', '--jwks', host.jwksFile, '--backend-role', 'R8003');
        let rows = JSON.parse((await icr('systems', 'list', '--json')).out) as Array<{
          id: string;
          backendRole: string | null;
        }>;
        assert.equal(rows.find((r) => r.id === host.id)?.backendRole, 'R8003');
        assert.equal(
          (await icr('systems', 'add', host.id, '--org', 'A81001', '--jwks', host.jwksFile, '--backend-role', 'R9999'))
            .code,
          2,
        );
        assert.match(errors.join(''), /Unknown role "R9999"/);
        rows = JSON.parse((await icr('systems', 'list', '--json')).out) as Array<{
          id: string;
          backendRole: string | null;
        }>;
        assert.equal(rows.find((r) => r.id === host.id)?.backendRole, 'R8003', 'a refused role changes nothing');
        await icr('systems', 'add', host.id, '--org', 'A81001', '--jwks', host.jwksFile, '--backend-role', 'none');
        rows = JSON.parse((await icr('systems', 'list', '--json')).out) as Array<{
          id: string;
          backendRole: string | null;
        }>;
        assert.equal(rows.find((r) => r.id === host.id)?.backendRole, null);
      } finally {
        process.stderr.write = write;
        host.close();
      }
    });
  });
}

/**
 * A feed's transaction Bundles over HTTP with the server's validation pool (worker threads), as `npm start`
 * runs it (ADR 0048): the set write validates the entries in a worker while the server's thread prepares
 * them, and the Bundle stays all or nothing — an invalid entry refuses the whole Bundle naming that entry
 * and stores nothing; an entry carrying a sensitive code is dropped and counted for the feed while the rest
 * is stored; a Synthea patient Bundle loads whole, stamped with the feed. PGlite and PostgreSQL when configured.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { checkType } from '../src/records/records-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const SHARED = path.resolve(import.meta.dirname, '../../shared/data');
const LISTS = path.join(SHARED, 'sensitive-codes');
const SYNTHEA = path.join(SHARED, 'synthea-r4');
const MISSING = `shared data not found at ${SHARED}; skipping`;
const SCT = 'http://snomed.info/sct';
const STI = '197967000'; // on the shared STI list

const PATIENT_URN = 'urn:uuid:6a1f0c52-1b7e-4f43-9c44-2d9a6b1e0a01';

/** A transaction Bundle of a Patient and `n` Observations about them; `change` may alter entry i's resource. */
function bundle(family: string, n: number, change: (i: number, r: Record<string, unknown>) => void = () => {}) {
  const entry: unknown[] = [
    {
      fullUrl: PATIENT_URN,
      resource: {
        resourceType: 'Patient',
        identifier: [{ system: 'urn:openicr:test:pas', value: `PAS-${family}` }],
        name: [{ family, given: ['Ada'] }],
        birthDate: '1970-01-01',
      },
      request: { method: 'POST', url: 'Patient' },
    },
  ];
  for (let i = 1; i <= n; i++) {
    const resource: Record<string, unknown> = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: PATIENT_URN },
      valueQuantity: { value: 60 + i, unit: '/min' },
    };
    change(i, resource);
    entry.push({ resource, request: { method: 'POST', url: 'Observation' } });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

for (const which of testDatabases) {
  describe(
    `FHIR feed Bundles through the validation pool (${which})`,
    { skip: existsSync(LISTS) ? false : MISSING },
    () => {
      let t: TestApp;
      let token: string;
      const post = (body: unknown) =>
        t.app.inject({
          method: 'POST',
          url: '/fhir',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
          payload: JSON.stringify(body),
        });
      const stored = async () =>
        Number(
          (await t.t.db.query<{ n: string }>(`select count(*) as n from resource where feed_id = 'pool-fhir'`)).rows[0]
            ?.n,
        );

      before(async () => {
        t = await openTestApp(
          which,
          // One worker thread; Bundles are validated there whatever their size (ICR_WORKER_BODY_BYTES=0).
          { ICR_SENSITIVE_CODES: LISTS, ICR_VALIDATION_THREADS: '1', ICR_WORKER_BODY_BYTES: '0' },
          { validationPool: true },
        );
        const feeds = new FeedService({ db: t.t.db });
        await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX9', name: 'Pool Acute', kind: 'acute' });
        await feeds.addFeed(SYSTEM_ACTOR, { id: 'pool-fhir', org: 'RX9', protocol: 'fhir' });
        await feeds.approve(SYSTEM_ACTOR, 'pool-fhir', 'test');
        token = await t.tokens.issueFeed({ id: 'pool-fhir', org: 'RX9' });
      });
      after(async () => {
        await t.close();
      });

      it('an invalid entry refuses the whole Bundle, naming the entry, and stores nothing', async () => {
        const before = await stored();
        const offloaded = t.pool?.offloaded ?? 0;
        const res = await post(
          bundle('Invalid', 40, (i, r) => {
            if (i === 17) r.status = 'not-a-status';
          }),
        );
        assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} ${res.body}`);
        const outcome = JSON.parse(res.body) as {
          resourceType: string;
          issue: Array<{ diagnostics?: string; expression?: string[] }>;
        };
        assert.equal(outcome.resourceType, 'OperationOutcome');
        assert.match(JSON.stringify(outcome.issue), /Bundle\.entry\[17\]/);
        assert.equal(await stored(), before);
        // The entries were validated in the worker (one share), not on the server's thread.
        assert.equal((t.pool?.offloaded ?? 0) - offloaded, 2, 'the body parse and the set validation');
      });

      it('an entry carrying a sensitive code is dropped and counted; the rest is stored', async () => {
        const before = await stored();
        const res = await post(
          bundle('Sensitive', 40, (i, r) => {
            if (i === 5) r.code = { coding: [{ system: SCT, code: STI }] };
          }),
        );
        assert.equal(res.statusCode, 200, res.body);
        const entries = (JSON.parse(res.body) as { entry: Array<{ response: { status: string; outcome?: unknown } }> })
          .entry;
        assert.equal(entries.length, 41);
        assert.match(JSON.stringify(entries[5]?.response.outcome), /sensitive code list/);
        assert.equal(entries.filter((e) => e.response.status.startsWith('201')).length, 40);
        assert.equal(await stored(), before + 40);
        const counted = await t.t.db.query<{ n: number }>(
          `select excluded_sensitive as n from feed where id = 'pool-fhir'`,
        );
        assert.equal(Number(counted.rows[0]?.n), 1);
        const leaked = await t.t.db.query(`select 1 from resource where content like '%${STI}%'`);
        assert.equal(leaked.rows.length, 0);
      });

      it('a Synthea patient Bundle loads whole, every entry created and stamped with the feed', async () => {
        const file = readdirSync(SYNTHEA)
          .filter((f) => f.endsWith('.json') && !/Information/.test(f))
          .map((f) => path.join(SYNTHEA, f))
          .sort((a, b) => readFileSync(a).length - readFileSync(b).length)[0];
        assert.ok(file);
        const body = JSON.parse(readFileSync(file, 'utf8')) as { entry: Array<{ resource: { resourceType: string } }> };
        body.entry = body.entry.filter((e) => {
          try {
            checkType(e.resource.resourceType);
            return true;
          } catch {
            return false;
          }
        });
        assert.ok(body.entry.length >= 32, 'large enough to go to the workers');
        const before = await stored();
        const res = await post(body);
        assert.equal(res.statusCode, 200, res.body.slice(0, 2000));
        const entries = (JSON.parse(res.body) as { entry: Array<{ response: { status: string } }> }).entry;
        assert.equal(entries.length, body.entry.length);
        assert.ok(entries.every((e) => e.response.status.startsWith('201')));
        assert.equal(await stored(), before + body.entry.length);
      });
    },
  );
}

/**
 * FHIR feeds writing with their credential (issue 11): an integration engineer issues a fhir feed's bearer
 * token; Bundles and creates with it are stamped with the feed's provenance; a testing feed's data is
 * stored but not shown until the feed is approved; a suspended feed is refused; the credential may only
 * write its own data (no reads, searches, admin calls, conditional writes, or updates of others' data).
 * Over HTTP (Fastify inject), PGlite and PostgreSQL when configured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const bundle = (family: string) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: 'urn:uuid:4f2b3a52-8e0c-4d7e-9a55-0c1a6f1b2c01',
      resource: {
        resourceType: 'Patient',
        identifier: [{ system: 'urn:openicr:test:gp', value: `GP-${family}` }],
        name: [{ family, given: ['Ada'] }],
        birthDate: '1970-01-01',
      },
      request: { method: 'POST', url: 'Patient' },
    },
    {
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: 'urn:uuid:4f2b3a52-8e0c-4d7e-9a55-0c1a6f1b2c01' },
        valueQuantity: { value: 72, unit: '/min' },
      },
      request: { method: 'POST', url: 'Observation' },
    },
  ],
});

for (const which of testDatabases) {
  describe(`FHIR feed credentials (${which})`, () => {
    let t: TestApp;
    let feeds: FeedService;
    let token: string;
    const asFeed = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, bearer = token) =>
      t.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/fhir+json' },
        ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
      });

    before(async () => {
      t = await openTestApp(which);
      feeds = new FeedService({ db: t.t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'A99001', name: 'Test Surgery', kind: 'gp' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'gp-fhir', org: 'A99001', protocol: 'fhir', system: 'GP system' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'gp-files', org: 'A99001', protocol: 'file' });
    });
    after(async () => {
      await t.close();
    });

    it('an integration engineer issues the credential of a fhir feed (not of a file feed; not to others)', async () => {
      const issue = async (feed: string, user: string) =>
        t.app.inject({
          method: 'POST',
          url: `/api/feeds/${feed}/credential`,
          headers: { authorization: await t.auth(user), 'content-type': 'application/json' },
          payload: '{}',
        });
      const res = await issue('gp-fhir', 'integration-engineer');
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      token = (JSON.parse(res.body) as { token: string }).token;
      assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      assert.equal((await issue('gp-files', 'integration-engineer')).statusCode, 400);
      assert.equal((await issue('gp-fhir', 'gp-a81001')).statusCode, 403);
    });

    it('a transaction Bundle with the credential is stored with the feed’s provenance, hidden while testing', async () => {
      const res = await asFeed('POST', '/fhir', bundle('TESTINGFEED'));
      assert.equal(res.statusCode, 200, res.body);
      const rows = await t.t.db.query<{ resource_type: string; id: string; feed_id: string; source_org: string }>(
        `select resource_type, id, feed_id, source_org from resource where feed_id = 'gp-fhir' order by resource_type`,
      );
      assert.deepEqual(
        rows.rows.map((r) => [r.resource_type, r.feed_id, r.source_org]),
        [
          ['Observation', 'gp-fhir', 'A99001'],
          ['Patient', 'gp-fhir', 'A99001'],
        ],
      );
      const patientId = rows.rows.find((r) => r.resource_type === 'Patient')?.id ?? '';
      const read = async () =>
        t.app.inject({ method: 'GET', url: `/fhir/Patient/${patientId}`, headers: { authorization: await t.auth() } });
      assert.equal((await read()).statusCode, 404, 'a testing feed’s data is not shown');
      await feeds.approve(SYSTEM_ACTOR, 'gp-fhir', 'ie-jones');
      assert.equal((await read()).statusCode, 200, 'shown once approved, with no reprocessing');
    });

    it('the credential only writes: no reads, searches, admin calls or conditional writes', async () => {
      for (const [method, url] of [
        ['GET', '/fhir/Patient'],
        ['POST', '/fhir/Patient/_search'],
        ['GET', '/api/feeds'],
        ['POST', '/api/feeds/gp-fhir/approve'],
      ] as const) {
        const res = await asFeed(method, url, method === 'POST' ? {} : undefined);
        assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
        assert.match(res.body, /A feed credential may only write/);
      }
      const conditional = bundle('CONDITIONAL');
      (conditional.entry[0] as { request: Record<string, string> }).request.ifNoneExist = 'family=TESTINGFEED';
      const res = await asFeed('POST', '/fhir', conditional);
      assert.equal(res.statusCode, 403, res.body);
      assert.match(res.body, /no reads, searches or conditional writes/);
    });

    it('a feed may not update data another source sent', async () => {
      const other = await t.records.create(SYSTEM_ACTOR, {
        resourceType: 'Patient',
        name: [{ family: 'OTHERSOURCE' }],
      });
      const id = other.resource.id;
      const res = await asFeed('PUT', `/fhir/Patient/${id}`, { resourceType: 'Patient', id, name: [{ family: 'X' }] });
      assert.equal(res.statusCode, 403, res.body);
      assert.match(res.body, /sent by another source/);
    });

    it('a suspended feed is refused with the reason; a token naming an unknown feed is refused', async () => {
      await feeds.suspend(SYSTEM_ACTOR, 'gp-fhir', 'duplicate records under investigation');
      const res = await asFeed('POST', '/fhir', bundle('SUSPENDED'));
      assert.equal(res.statusCode, 403);
      assert.match(res.body, /Feed gp-fhir is suspended: duplicate records under investigation/);
      const ghost = await t.tokens.issueFeed({ id: 'no-such-feed', org: 'A99001' });
      assert.equal((await asFeed('POST', '/fhir', bundle('GHOST'), ghost)).statusCode, 401);
      const stored = await t.t.db.query<{ n: number }>(
        `select count(*)::int as n from resource where content like '%SUSPENDED%' or content like '%GHOST%'`,
      );
      assert.equal(stored.rows[0]?.n, 0, 'nothing stored');
    });
  });
}

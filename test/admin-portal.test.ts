/**
 * The admin portal (`/admin`, docs/admin.md) through the real app with browser sessions: each area opens
 * only for its roles and a refusal is a page and an audit entry; every form needs the session's CSRF token;
 * feeds (approve, suspend, replay a failed message), the MPI review queue (link with a reason), audit
 * (search, the access review queue, a person's access report and its PDF) and users (add, disable).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { sessionCookie } from './helpers/host-system.ts';
import { patient } from './mpi-fixtures.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const NHS_ADA = '9990000018';

interface Browser {
  cookies: Record<string, string>;
  get(url: string): Promise<{ status: number; body: string; location?: string; type: string }>;
  /** Posts a form with the CSRF token of the last page fetched (unless `csrf: false`). */
  post(
    url: string,
    fields: Record<string, string>,
    csrf?: boolean,
  ): Promise<{ status: number; body: string; location?: string }>;
}

async function signIn(ta: TestApp, userId: string): Promise<Browser> {
  const page = await ta.app.inject({ url: '/signin' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const res = await ta.app.inject({
    method: 'POST',
    url: '/signin/demo',
    cookies: sessionCookie(page),
    headers: FORM,
    payload: `user=${userId}&_csrf=${encodeURIComponent(csrf)}`,
  });
  assert.equal(res.statusCode, 303, `sign in as ${userId}: ${res.body}`);
  const cookies = sessionCookie(res);
  let token = '';
  return {
    cookies,
    async get(url) {
      const r = await ta.app.inject({ url, cookies });
      token = /name="_csrf" value="([^"]+)"/.exec(r.body)?.[1] ?? token;
      return {
        status: r.statusCode,
        body: r.body,
        type: String(r.headers['content-type']),
        ...(r.headers.location ? { location: String(r.headers.location) } : {}),
      };
    },
    async post(url, fields, withCsrf = true) {
      const form = new URLSearchParams(fields);
      if (withCsrf) form.set('_csrf', token);
      const r = await ta.app.inject({ method: 'POST', url, cookies, headers: FORM, payload: form.toString() });
      return {
        status: r.statusCode,
        body: r.body,
        ...(r.headers.location ? { location: String(r.headers.location) } : {}),
      };
    },
  };
}

for (const kind of testDatabases) {
  describe(`admin portal (${kind})`, () => {
    let ta: TestApp;
    let feeds: FeedService;
    before(async () => {
      ta = await openTestApp(kind, { ICR_SIGNIN_RATE_LIMIT: '1000' }, { demo: true });
      feeds = new FeedService({ db: ta.t.db });
    });
    after(async () => {
      await ta.close();
    });

    it('needs a session: without one every page redirects to sign-in', async () => {
      for (const url of ['/admin', '/admin/feeds', '/admin/mpi', '/admin/audit', '/admin/users']) {
        const res = await ta.app.inject({ url });
        assert.equal(res.statusCode, 303, url);
        assert.equal(res.headers.location, '/signin');
      }
      const post = await ta.app.inject({ method: 'POST', url: '/admin/users', headers: FORM, payload: 'id=x' });
      assert.notEqual(post.statusCode, 200);
      assert.notEqual(post.statusCode, 303);
    });

    it('opens each area for its role only; a refusal is a page that says why, and is audited', async () => {
      const allowed: Array<[string, string]> = [
        ['integration-engineer', 'feeds'],
        ['data-steward', 'mpi'],
        ['privacy-officer', 'audit'],
        ['caldicott-guardian', 'audit'],
        ['system-admin', 'users'],
      ];
      const areas = ['feeds', 'mpi', 'audit', 'users'];
      for (const [user, area] of allowed) {
        const b = await signIn(ta, user);
        const home = await b.get('/admin');
        assert.equal(home.status, 200);
        assert.match(home.body, new RegExp(`href="/admin/${area}"`));
        for (const other of areas) {
          const res = await b.get(`/admin/${other}`);
          if (other === area) {
            assert.equal(res.status, 200, `${user} on ${other}: ${res.body.slice(0, 300)}`);
          } else {
            assert.equal(res.status, 403, `${user} on ${other}`);
            assert.match(res.type, /text\/html/);
            assert.match(res.body, /You cannot use this page/);
            assert.match(res.body, /This refusal has been recorded/);
          }
        }
      }
      const gp = await signIn(ta, 'gp-a81001');
      const home = await gp.get('/admin');
      assert.match(home.body, /has no part in the admin portal/);
      const refused = await gp.get('/admin/feeds');
      assert.equal(refused.status, 403);
      assert.match(refused.body, /Feeds is for integration engineers/);
      // A form from someone else is refused before its fields are even read (403, not 400).
      for (const url of [
        '/admin/users',
        '/admin/feeds/x/suspend',
        '/admin/mpi/x/decision',
        '/admin/audit/reviews/x/reviewed',
      ]) {
        const post = await gp.post(url, {});
        assert.equal(post.status, 403, url);
        assert.match(post.body, /You cannot use this page/);
      }

      // The privacy officer finds the GP's refusal in the audit trail (outcome and channel filters).
      const po = await signIn(ta, 'privacy-officer');
      const search = await po.get('/admin/audit?user=gp-a81001&outcome=refused&channel=viewer');
      assert.equal(search.status, 200);
      assert.match(search.body, /admin-open/);
      assert.match(search.body, /admin\/feeds/);
      assert.match(search.body, /ICR_ACCESS_DENIED/);
      const none = await po.get('/admin/audit?user=gp-a81001&outcome=refused&channel=mllp');
      assert.match(none.body, /0\s+entries/);
      const bad = await po.get('/admin/audit?channel=pigeon');
      assert.equal(bad.status, 400);
      assert.match(bad.body, /channel must be one of/);
    });

    it('feeds: status and counters, a failed message with its reason, replay, approve and suspend (CSRF on each)', async () => {
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RTEST', name: 'Test trust', kind: 'acute' });
      await feeds.addFeed(SYSTEM_ACTOR, {
        id: 'rtest-pas',
        org: 'RTEST',
        protocol: 'mllp',
        sendingApplication: 'PAS',
        sendingFacility: 'RTEST',
      });
      const [msg] = await feeds.receive([
        {
          feedId: 'rtest-pas',
          sendingApplication: 'PAS',
          sendingFacility: 'RTEST',
          controlId: 'CTRL-0001',
          messageType: 'ADT^A01',
          raw: 'MSH|^~\\&|PAS|RTEST|||20261206||ADT^A01|CTRL-0001|P|2.4',
          orderingKey: null,
        },
      ]);
      assert.ok(msg);
      await feeds.markFailed(msg.id, 'Mapping: PID-3 holds no identifier');

      const eng = await signIn(ta, 'integration-engineer');
      const list = await eng.get('/admin/feeds');
      assert.equal(list.status, 200);
      assert.match(list.body, /href="\/admin\/feeds\/rtest-pas"/);
      assert.match(list.body, /testing/);
      assert.match(list.body, /id="chart-backlog"/);
      assert.match(list.body, /data-uplot="\/assets\/uplot\/uPlot.esm.js/);
      assert.match(list.body, /src="\/assets\/viewer\/admin-charts.js/);
      const page = await eng.get('/admin/feeds/rtest-pas');
      assert.equal(page.status, 200);
      assert.match(page.body, /CTRL-0001/);
      assert.match(page.body, /Mapping: PID-3 holds no identifier/);
      assert.match(page.body, /id="chart-activity"/);
      const data = /<script type="application\/json" id="chart-activity-data">([^<]*)<\/script>/.exec(page.body)?.[1];
      const chart = JSON.parse(data ?? '{}') as { labels: string[]; series: Array<{ name: string; values: number[] }> };
      assert.equal(chart.labels.length, 24);
      assert.equal(
        chart.series.find((s) => s.name === 'Failed')?.values.reduce((a, b) => a + b, 0),
        1,
      );

      const noCsrf = await eng.post('/admin/feeds/rtest-pas/replay', { message: String(msg.id) }, false);
      assert.equal(noCsrf.status, 403);
      assert.equal((await feeds.message(msg.id))?.status, 'failed', 'nothing happened without the token');
      const bogus = await eng.post('/admin/feeds/rtest-pas/replay', { message: 'abc' });
      assert.equal(bogus.status, 400);
      assert.match(bogus.body, /Choose a message to replay/);
      const replay = await eng.post('/admin/feeds/rtest-pas/replay', { message: String(msg.id) });
      assert.equal(replay.status, 303);
      assert.equal(replay.location, '/admin/feeds/rtest-pas?done=replayed');
      assert.equal((await feeds.message(msg.id))?.status, 'received', 'back on the queue');
      const after = await eng.get(replay.location);
      assert.match(after.body, /back on the queue/);
      assert.match(after.body, /No message of this feed has failed/);

      const approve = await eng.post('/admin/feeds/rtest-pas/approve', {});
      assert.equal(approve.status, 303);
      assert.equal((await feeds.feed('rtest-pas')).status, 'live');
      assert.equal((await feeds.feed('rtest-pas')).approvedBy, 'integration-engineer');

      await eng.get('/admin/feeds/rtest-pas');
      const noReason = await eng.post('/admin/feeds/rtest-pas/suspend', { reason: '  ' });
      assert.equal(noReason.status, 400);
      assert.match(noReason.body, /Enter a reason for suspending the feed/);
      assert.equal((await feeds.feed('rtest-pas')).status, 'live');
      const suspend = await eng.post('/admin/feeds/rtest-pas/suspend', { reason: 'Sender sends <b>test</b> data' });
      assert.equal(suspend.status, 303);
      const suspended = await eng.get('/admin/feeds/rtest-pas');
      assert.match(suspended.body, /Sender sends &#60;b&#62;test&#60;\/b&#62; data/, 'escaped');

      const missing = await eng.get('/admin/feeds/no-such-feed');
      assert.equal(missing.status, 404);

      // Someone else cannot act on feeds through the forms either.
      const steward = await signIn(ta, 'data-steward');
      await steward.get('/admin/mpi');
      const refused = await steward.post('/admin/feeds/rtest-pas/approve', {});
      assert.equal(refused.status, 403);
      assert.equal((await feeds.feed('rtest-pas')).status, 'suspended');
    });

    it('MPI review: the pair side by side with weights and thresholds; link needs a reason', async () => {
      const q = { family: 'Quinn', birthDate: '1985-08-08', gender: 'female' as const, postcode: 'EX1 1AA' };
      for (const p of [
        patient({ id: 'adm-q1', given: 'Sarah', ...q }),
        patient({ id: 'adm-q2', given: 'Susan', ...q }),
      ]) {
        await ta.records.update(SYSTEM_ACTOR, p);
      }
      const steward = await signIn(ta, 'data-steward');
      const list = await steward.get('/admin/mpi');
      assert.equal(list.status, 200);
      const href = /href="(\/admin\/mpi\/[A-Za-z0-9-]+)"/.exec(list.body)?.[1];
      assert.ok(href, 'a review is listed');
      const review = await steward.get(href);
      assert.equal(review.status, 200);
      assert.match(review.body, /Record adm-q2|Record adm-q1/);
      assert.match(review.body, /SARAH|Sarah/i);
      assert.match(review.body, /app-compare--different/, 'the differing given name is highlighted');
      assert.match(review.body, /app-compare--same/);
      assert.match(review.body, /Thresholds \(rules/);
      assert.match(review.body, /Total score/);

      const noReason = await steward.post(`${href}/decision`, { decision: 'link', reason: '' });
      assert.equal(noReason.status, 400);
      assert.match(noReason.body, /Enter the reason for your decision/);
      const noChoice = await steward.post(`${href}/decision`, { reason: 'x' });
      assert.equal(noChoice.status, 400);
      const linked = await steward.post(`${href}/decision`, {
        decision: 'link',
        reason: 'Same address and date of birth; GP confirmed',
      });
      assert.equal(linked.status, 303);
      const shown = await steward.get(String(linked.location));
      assert.match(shown.body, /Linked: the two records are now one person/);
      assert.match(shown.body, /GP confirmed/);
      assert.doesNotMatch(shown.body, /Record decision/, 'no form once decided');
      const again = await steward.post(`${href}/decision`, { decision: 'not-same', reason: 'changed my mind' });
      assert.equal(again.status, 409);
    });

    it('audit: emergency access appears in the review queue and is marked reviewed; the access report and its PDF', async () => {
      const created = await ta.records.update(SYSTEM_ACTOR, {
        resourceType: 'Patient',
        id: 'adm-ada',
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS_ADA }],
        name: [{ family: 'Lovelace', given: ['Ada'] }],
        birthDate: '1945-07-14',
      });
      assert.ok(created.resource.id);
      const ed = await ta.auth('ed-doctor-rns');
      const grant = await ta.app.inject({
        method: 'POST',
        url: '/api/access/relationships',
        headers: { authorization: ed, 'content-type': 'application/json' },
        payload: { patient: 'adm-ada', kind: 'emergency', reason: 'patient-unconscious', text: 'Unconscious in ED' },
      });
      assert.equal(grant.statusCode, 201, grant.body);
      const read = await ta.app.inject({ url: '/fhir/Patient/adm-ada', headers: { authorization: ed } });
      assert.equal(read.statusCode, 200);

      const po = await signIn(ta, 'privacy-officer');
      const queue = await po.get('/admin/audit/reviews');
      assert.equal(queue.status, 200);
      assert.match(queue.body, /Unconscious in ED/);
      assert.match(queue.body, /Emergency/);
      const id = /action="\/admin\/audit\/reviews\/([A-Za-z0-9-]+)\/reviewed"/.exec(queue.body)?.[1];
      assert.ok(id);
      const done = await po.post(`/admin/audit/reviews/${id}/reviewed`, { note: 'Checked with the ED lead' });
      assert.equal(done.status, 303);
      const afterQueue = await po.get(String(done.location));
      assert.match(afterQueue.body, /Marked as reviewed/);
      assert.doesNotMatch(afterQueue.body, /Unconscious in ED/, 'no longer waiting');
      const all = await po.get('/admin/audit/reviews?show=all');
      assert.match(all.body, /Checked with the ED lead/);

      const report = await po.get(`/admin/audit/report?nhs-number=${NHS_ADA}`);
      assert.equal(report.status, 200);
      assert.match(report.body, /999 000 0018/);
      assert.match(report.body, /Dr Ben Demo-Okafor/);
      assert.match(report.body, /Emergency access/);
      const pdfHref = /href="(\/api\/audit\/report\?[^"]+)"/.exec(report.body)?.[1]?.replace(/&#38;/g, '&');
      assert.ok(pdfHref);
      const pdf = await ta.app.inject({ url: pdfHref, cookies: po.cookies });
      assert.equal(pdf.statusCode, 200);
      assert.equal(pdf.headers['content-type'], 'application/pdf');
      assert.equal(pdf.rawPayload.subarray(0, 5).toString(), '%PDF-');
      const badNhs = await po.get('/admin/audit/report?nhs-number=1234567890');
      assert.equal(badNhs.status, 400);
      assert.match(badNhs.body, /valid 10-digit NHS number/);

      const byPerson = await po.get(`/admin/audit?person=${NHS_ADA}`);
      assert.match(byPerson.body, /access-emergency/);
      assert.doesNotMatch(byPerson.body, /href="\/admin\/audit\?[^"]*9990000018/, 'the NHS number stays out of links');
      const signals = await po.get('/admin/audit/signals');
      assert.equal(signals.status, 200);
      assert.match(signals.body, /Emergency access/);
    });

    it('users: add a user with a role profile, refuse bad input, disable and enable', async () => {
      const admin = await signIn(ta, 'system-admin');
      const page = await admin.get('/admin/users');
      assert.equal(page.status, 200);
      assert.match(page.body, /gp-a81001/);
      const added = await admin.post('/admin/users', {
        id: 'new-nurse',
        name: 'Nia <Nurse>',
        org: 'rns',
        role: 'R8001',
      });
      assert.equal(added.status, 303);
      const user = await ta.records.users.get('new-nurse');
      assert.deepEqual(user.profiles, [{ org: 'RNS', role: 'R8001' }]);
      const list = await admin.get('/admin/users?done=added');
      assert.match(list.body, /Nia &#60;Nurse&#62;/);
      assert.match(list.body, /The user is saved/);

      const badRole = await admin.post('/admin/users', { id: 'x1', name: 'X', org: 'RNS', role: 'R9999' });
      assert.equal(badRole.status, 400);
      assert.match(badRole.body, /Unknown role/);
      const badOrg = await admin.post('/admin/users', { id: 'x1', name: 'X', org: 'not ods!', role: 'R8001' });
      assert.equal(badOrg.status, 400);
      const noName = await admin.post('/admin/users', { id: 'x1', name: '', org: 'RNS', role: 'R8001' });
      assert.match(noName.body, /Enter the user’s full name/);

      const disabled = await admin.post('/admin/users/new-nurse/disable', {});
      assert.equal(disabled.status, 303);
      assert.equal((await ta.records.users.get('new-nurse')).disabled, true);
      const self = await admin.post('/admin/users/system-admin/disable', {});
      assert.equal(self.status, 400);
      assert.equal((await ta.records.users.get('system-admin')).disabled, false);
      const enabled = await admin.post('/admin/users/new-nurse/enable', {});
      assert.equal(enabled.status, 303);
      assert.equal((await ta.records.users.get('new-nurse')).disabled, false);
      const unknown = await admin.post('/admin/users/nobody-here/disable', {});
      assert.equal(unknown.status, 404);
    });
  });
}

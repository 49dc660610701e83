/**
 * The admin portal in a real browser (Chromium, axe, screenshots at 1280×800 and 390×844): a clinician's
 * emergency access reaches the privacy officer's review queue and is marked reviewed; the person's access
 * report and its PDF download; a data steward links a candidate pair in the MPI review queue; an integration
 * engineer sees the feed charts, approves a testing feed and replays a failed message; a message rejected
 * at intake (the feed suspended) shows on the feed page, is replayed once the feed is approved again, and
 * appears in the record; a system administrator adds a user.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { hl7v2JobHandler } from '../../src/ingest/jobs/hl7v2-job.ts';
import { Hl7Intake } from '../../src/ingest/mllp/intake.ts';
import { Worker } from '../../src/queue/worker.ts';
import { FeedService } from '../../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../../src/shared/actor.ts';
import { HL7_QUEUE } from '../../src/store/feed-store.ts';
import { patient } from '../mpi-fixtures.ts';
import { browserDatabases, checkA11y, screenshot, startViewer, type ViewerHarness } from './harness.ts';

const NHS = '9990000026';

async function both(h: ViewerHarness, userId: string, url: string, name: string, check: (p: Page) => Promise<void>) {
  for (const viewport of ['desktop', 'mobile'] as const) {
    const page = await h.newPage(viewport);
    await h.signIn(page, userId);
    await page.goto(url);
    await check(page);
    await checkA11y(page);
    await screenshot(page, `admin-${name}-${viewport}`);
  }
}

for (const db of browserDatabases) {
  describe(`admin portal in the browser (${db})`, () => {
    let h: ViewerHarness;
    before(async () => {
      h = await startViewer({ db, env: { ICR_SIGNIN_RATE_LIMIT: '1000' } });
      await h.ta.records.update(SYSTEM_ACTOR, {
        resourceType: 'Patient',
        id: 'adm-b1',
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS }],
        name: [{ family: 'Okonjo', given: ['Grace'] }],
        birthDate: '1950-03-02',
      });
    });
    after(async () => {
      await h.close();
    });

    it('emergency access by a clinician appears in the privacy officer’s queue and is marked reviewed', async () => {
      const ed = await h.ta.auth('ed-doctor-rns');
      const grant = await h.ta.app.inject({
        method: 'POST',
        url: '/api/access/relationships',
        headers: { authorization: ed, 'content-type': 'application/json' },
        payload: { patient: 'adm-b1', kind: 'emergency', reason: 'patient-unconscious', text: 'Collapsed in resus' },
      });
      assert.equal(grant.statusCode, 201, grant.body);
      await h.ta.app.inject({ url: '/fhir/Patient/adm-b1', headers: { authorization: ed } });

      await both(h, 'privacy-officer', '/admin/audit/reviews', 'access-reviews', async (page) => {
        await page.getByText('Collapsed in resus').waitFor();
      });
      const page = await h.newPage();
      await h.signIn(page, 'privacy-officer');
      await page.goto('/admin');
      await page.getByRole('link', { name: 'Audit and access reviews' }).click();
      await page.getByRole('link', { name: 'Access review queue' }).first().click();
      const row = page.getByRole('row').filter({ hasText: 'Collapsed in resus' });
      await row.getByLabel('Note (optional)').fill('Checked with the ED consultant');
      await row.getByRole('button', { name: 'Mark reviewed' }).click();
      await page.getByText('Marked as reviewed.').waitFor();
      assert.equal(await page.getByText('Collapsed in resus').count(), 0, 'no longer waiting');
      await checkA11y(page);
      await screenshot(page, 'admin-access-reviewed-desktop');
    });

    it('the person’s access report, in the page and as a PDF download', async () => {
      await both(h, 'privacy-officer', `/admin/audit/report?nhs-number=${NHS}`, 'access-report', async (page) => {
        await page.getByRole('cell', { name: 'Dr Ben Demo-Okafor' }).first().waitFor();
      });
      const page = await h.newPage();
      await h.signIn(page, 'privacy-officer');
      await page.goto('/admin/audit/report');
      await page.getByLabel('NHS number').fill(NHS);
      await page.getByRole('button', { name: 'Show the report' }).click();
      await page.getByText('Emergency access').first().waitFor();
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download as PDF' }).click(),
      ]);
      const file = await download.path();
      assert.equal(readFileSync(file).subarray(0, 5).toString(), '%PDF-');
      assert.equal(download.suggestedFilename(), 'access-report.pdf');
    });

    it('a data steward links a candidate pair after comparing them side by side', async () => {
      const q = { family: 'Quayle', birthDate: '1979-04-04', gender: 'female' as const, postcode: 'EX2 2BB' };
      await h.ta.records.update(SYSTEM_ACTOR, patient({ id: 'adm-q1', given: 'Sarah', ...q }));
      await h.ta.records.update(SYSTEM_ACTOR, patient({ id: 'adm-q2', given: 'Susan', ...q }));
      const page = await h.newPage();
      await h.signIn(page, 'data-steward');
      await page.goto('/admin/mpi');
      await checkA11y(page);
      await screenshot(page, 'admin-mpi-queue-desktop');
      await page
        .getByRole('link', { name: /QUAYLE|Quayle/i })
        .first()
        .click();
      await page.getByRole('heading', { name: 'Are these the same person?' }).waitFor();
      await page.getByText('Total score (sum of the weights)').waitFor();
      await checkA11y(page);
      await screenshot(page, 'admin-mpi-review-desktop');
      const url = page.url();
      const mobile = await h.newPage('mobile');
      await h.signIn(mobile, 'data-steward');
      await mobile.goto(url);
      await checkA11y(mobile);
      await screenshot(mobile, 'admin-mpi-review-mobile');
      await page.getByLabel('Same person: link the records').check();
      await page.getByLabel('Reason').fill('Same date of birth and address; GP confirmed the given name');
      await page.getByRole('button', { name: 'Record decision' }).click();
      await page.getByText('Linked: the two records are now one person.').waitFor();
      await checkA11y(page);
    });

    it('an integration engineer sees the charts, approves a testing feed and replays a failed message', async () => {
      const feeds = new FeedService({ db: h.ta.t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RBROW', name: 'Browser trust', kind: 'acute' });
      await feeds.addFeed(SYSTEM_ACTOR, {
        id: 'rbrow-pas',
        org: 'RBROW',
        protocol: 'mllp',
        sendingApplication: 'PAS',
        sendingFacility: 'RBROW',
      });
      const [m] = await feeds.receive([
        {
          feedId: 'rbrow-pas',
          sendingApplication: 'PAS',
          sendingFacility: 'RBROW',
          controlId: 'BROW-1',
          messageType: 'ADT^A08',
          raw: 'MSH|^~\\&|PAS|RBROW|||20261206||ADT^A08|BROW-1|P|2.4',
          orderingKey: null,
        },
      ]);
      assert.ok(m);
      await feeds.markFailed(m.id, 'HL7 parse: PID segment missing');

      await both(h, 'integration-engineer', '/admin/feeds', 'feeds', async (page) => {
        await page.locator('figure.app-chart--drawn canvas').first().waitFor();
      });
      const page = await h.newPage();
      await h.signIn(page, 'integration-engineer');
      await page.goto('/admin/feeds');
      await page.getByRole('link', { name: 'rbrow-pas' }).click();
      await page.locator('#chart-activity canvas').first().waitFor();
      await page.getByText('HL7 parse: PID segment missing').waitFor();
      await checkA11y(page);
      await screenshot(page, 'admin-feed-desktop');
      await page.getByRole('button', { name: 'Approve feed rbrow-pas' }).click();
      await page.getByText('The feed is live.').waitFor();
      assert.equal((await feeds.feed('rbrow-pas')).status, 'live');
      await page.getByRole('button', { name: `Replay message ${m.id}` }).click();
      await page.getByText('The message is back on the queue').waitFor();
      await page.getByText('No message of this feed has failed.').waitFor();
      await checkA11y(page);
      await screenshot(page, 'admin-feed-replayed-desktop');
    });

    it('a message rejected while the feed was suspended is replayed from the feed page and appears in the record', async () => {
      const feeds = h.ta.feeds;
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RREJ', name: 'Rejected trust', kind: 'acute' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rrej-pas', org: 'RREJ', protocol: 'mllp', sendingFacility: 'RREJ' });
      await feeds.approve(SYSTEM_ACTOR, 'rrej-pas', 'integration-engineer');
      await feeds.suspend(SYSTEM_ACTOR, 'rrej-pas', 'Interface being reconfigured');
      const intake = new Hl7Intake(feeds);
      const nhs = '9990000409';
      const sent = await intake.handle({
        bytes: Buffer.from(
          [
            'MSH|^~\\&|PAS|RREJ|ICR|ICR|20261206090000||ADT^A01|REJ-1|P|2.4',
            'EVN|A01|20261206090000',
            `PID|1||R-555^^^RREJ^MR~${nhs}^^^NHS^NH||FAIRWEATHER^ROSA^^^MRS||19620514|F|||4 Quay Rd^^Exeter^^EX2 4AN`,
            'PV1|1|I|WARD 7^BED 2^^RREJ||||||||||||||||V-REJ-1^^^RREJ|||||||||||||||||||||||||20261206085500',
          ].join('\r'),
        ),
        remoteAddress: '192.0.2.10:4000',
        connectionId: 'browser',
      });
      assert.equal(sent.code, 'AR');

      const page = await h.newPage();
      await h.signIn(page, 'integration-engineer');
      await page.goto('/admin/feeds/rrej-pas');
      const row = page.locator('#rejected-messages').getByRole('row').filter({ hasText: 'REJ-1' });
      await row.getByText('Feed rrej-pas is suspended: Interface being reconfigured').waitFor();
      await checkA11y(page);
      await screenshot(page, 'admin-feed-rejected-desktop');
      // The cause is fixed: the feed is approved again.
      await page.getByRole('button', { name: 'Approve feed rrej-pas' }).click();
      await page.getByText('The feed is live.').waitFor();
      await page
        .locator('#rejected-messages')
        .getByRole('link', { name: /view rejected message/ })
        .first()
        .click();
      await page.getByRole('heading', { name: 'Message as received' }).waitFor();
      assert.match(await page.getByLabel('The message as received').innerText(), /\nPID\|1\|\|R-555\^\^\^RREJ\^MR/);
      await checkA11y(page);
      await screenshot(page, 'admin-rejected-message-desktop');
      await page.getByRole('button', { name: 'Replay as received' }).click();
      await page.getByText('The message was accepted (AA)').waitFor();
      await page
        .getByText(/accepted on replay \(message \d+\)/)
        .first()
        .waitFor();
      await checkA11y(page);
      await screenshot(page, 'admin-rejected-replayed-desktop');
      const mobile = await h.newPage('mobile');
      await h.signIn(mobile, 'integration-engineer');
      await mobile.goto(page.url());
      await checkA11y(mobile);
      await screenshot(mobile, 'admin-rejected-replayed-mobile');

      // The feed's worker applies it; a clinician with a relationship sees the person in the record.
      const worker = new Worker(h.ta.t.db, {
        queue: HL7_QUEUE,
        handler: hl7v2JobHandler({ records: h.ta.records, feeds }),
        backoffSeconds: () => 0,
      });
      try {
        // At least this message: an earlier journey in this file leaves its own replayed job in the queue.
        assert.ok((await worker.drain()) >= 1);
      } finally {
        await worker.close();
      }
      const id = await h.patientIdFor(nhs);
      await h.ta.relate(id, 'gp-a81001');
      const gp = await h.newPage();
      await h.signIn(gp, 'gp-a81001');
      await gp.goto(`/patient/${id}`);
      await gp.getByTestId('patient-banner').getByText('FAIRWEATHER').waitFor();
      assert.equal(await gp.getByTestId('nhs-number').innerText(), '999 000 0409');
      await screenshot(gp, 'admin-rejected-in-record-desktop');
    });

    it('a system administrator adds a user with a role profile', async () => {
      await both(h, 'system-admin', '/admin/users', 'users', async (page) => {
        await page.getByRole('cell', { name: 'gp-a81001', exact: true }).waitFor();
      });
      const page = await h.newPage();
      await h.signIn(page, 'system-admin');
      await page.goto('/admin/users');
      await page.getByLabel('User id').fill('browser-nurse');
      await page.getByLabel('Full name').fill('Bea Browser-Nurse');
      await page.getByLabel('Organisation (ODS code)').fill('RNS');
      await page.getByLabel('Role').selectOption('R8001');
      await page.getByRole('button', { name: 'Save user' }).click();
      await page.getByText('The user is saved.').waitFor();
      await page.getByRole('cell', { name: 'Bea Browser-Nurse' }).waitFor();
      await checkA11y(page);
      await screenshot(page, 'admin-user-added-desktop');
      assert.deepEqual((await h.ta.records.users.get('browser-nurse')).profiles, [{ org: 'RNS', role: 'R8001' }]);
    });

    it('a clinician opening an admin page gets a refusal page (axe passes)', async () => {
      const page = await h.newPage();
      await h.signIn(page, 'gp-a81001');
      const res = await page.goto('/admin/audit');
      assert.equal(res?.status(), 403);
      await page.getByText('This refusal has been recorded in the audit trail.').waitFor();
      await checkA11y(page);
      await screenshot(page, 'admin-refused-desktop');
    });
  });
}

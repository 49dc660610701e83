/**
 * Journey: a GP's own system launches the viewer with the person in context; the browser lands straight on
 * the person's summary: the CUI banner, the summary cards with each item's source, and the fixed notice.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { registerHostSystem } from '../../src/records/sign-in/host-systems.ts';
import { makeHostSystem, type TestHostSystem } from '../helpers/host-system.ts';
import { browserDatabases, checkA11y, screenshot, startViewer, type ViewerHarness } from './harness.ts';

for (const db of browserDatabases) {
  describe(`context launch → summary (${db})`, () => {
    let h: ViewerHarness;
    let host: TestHostSystem;
    before(async () => {
      h = await startViewer({ db });
      host = await makeHostSystem('emis-a81001', 'A81001', h.url);
      await registerHostSystem(h.ta.t.db, { id: host.id, org: host.org, jwks: host.jwksText });
    });
    after(async () => {
      host.close();
      await h.close();
    });

    it('lands on the person: banner per CUI, summary cards attributed to their sources', async () => {
      const page = await h.newPage();
      const token = await host.sign({ patient_nhs_number: '9990000018' });
      const started = Date.now();
      await page.goto(`/launch?token=${token}`);
      await page.getByTestId('patient-banner').waitFor();
      const elapsed = Date.now() - started;
      assert.match(new URL(page.url()).pathname, /^\/patient\/[A-Za-z0-9-]+$/);
      assert.equal(await page.getByTestId('patient-name').innerText(), 'TESTWELL, Alice Jane');
      assert.match(await page.getByTestId('born').innerText(), /^14-Mar-1948 \(\d+y\)$/);
      assert.equal(await page.getByTestId('nhs-number').innerText(), '999 000 0018');
      const meds = page.getByTestId('medicines');
      await meds.getByText('Amlodipine 10mg tablets').waitFor();
      assert.match(await meds.innerText(), /Demo acute trust · Demo hospital EPR · updated \d\d:\d\d/);
      assert.match(await meds.innerText(), /Demo GP practice A81001 · Demo GP system/);
      assert.match(await page.getByTestId('allergies').innerText(), /penicillin/i);
      await page.getByTestId('sensitive-notice').waitFor();
      assert.ok(elapsed < 5000, `launch to banner took ${String(elapsed)} ms`);
      await checkA11y(page);
      await screenshot(page, 'launch-summary-desktop');
      const mobile = await h.newPage('mobile');
      await mobile.goto(`/launch?token=${await host.sign({ patient_nhs_number: '9990000018' })}`);
      await mobile.getByTestId('patient-banner').waitFor();
      await checkA11y(mobile);
      await screenshot(mobile, 'launch-summary-mobile');
    });
  });
}

/**
 * Journeys: a results trend chart (uPlot, served by the server) with the reference range and abnormal flags,
 * and medicine reconciliation across the GP practice and the acute trust (the same medicine grouped, a
 * different dose and a medicine stopped in one source highlighted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserDatabases, checkA11y, screenshot, startViewer, type ViewerHarness } from './harness.ts';

for (const db of browserDatabases) {
  describe(`results trend and medicine reconciliation (${db})`, () => {
    let h: ViewerHarness;
    let id: string;
    before(async () => {
      h = await startViewer({ db });
      id = await h.patientIdFor('9990000018');
    });
    after(async () => {
      await h.close();
    });

    it('results: HbA1c from the GP and the hospital laboratory as one trend, high values flagged', async () => {
      const page = await h.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await h.signIn(page, 'gp-a81001');
      await page.goto(`/patient/${id}/results`);
      const series = page.getByTestId('result-series').filter({ hasText: 'HbA1c (IFCC)' });
      await series.waitFor();
      const chart = series.getByTestId('trend-chart');
      await chart.and(page.locator('[data-drawn="true"]')).waitFor();
      assert.equal(await chart.locator('canvas').count(), 1, 'uPlot drew on a canvas');
      // The sample's two results (2023, 2024), the GP's four and the hospital laboratory's one: one test.
      const rows = series.locator('table.nhsuk-table-responsive tbody tr');
      assert.equal(await rows.count(), 7);
      assert.match(await series.innerText(), /Reference range 20–42 mmol\/mol/);
      assert.match(await rows.first().innerText(), /62 mmol\/mol[\s\S]*High[\s\S]*Demo acute trust/);
      assert.match(await rows.nth(1).innerText(), /58 mmol\/mol[\s\S]*High[\s\S]*Demo GP practice A81001/);
      assert.match(await rows.last().innerText(), /10-Feb-2023[\s\S]*58 mmol\/mol[\s\S]*Synthea demo hospital/);
      assert.deepEqual(errors, []);
      await checkA11y(page);
      await screenshot(page, 'results-trend');
    });

    it('medicines: amlodipine from GP and hospital grouped with the dose difference; simvastatin stopped in one', async () => {
      const page = await h.newPage();
      await h.signIn(page, 'gp-a81001');
      await page.goto(`/patient/${id}/medicines`);
      const amlodipine = page.getByTestId('medicine-group').filter({ hasText: 'Amlodipine' });
      await amlodipine.waitFor();
      assert.equal(await amlodipine.count(), 1, 'one group for both sources');
      const text = await amlodipine.innerText();
      assert.match(text, /2 sources/);
      assert.match(text, /Dose differs between sources/);
      assert.match(text, /Amlodipine 5mg tablets/);
      assert.match(text, /Amlodipine 10mg tablets/);
      const simva = page.getByTestId('medicine-group').filter({ hasText: 'Simvastatin' });
      assert.match(await simva.innerText(), /Stopped in one source, active in another/);
      const ramipril = page.getByTestId('medicine-group').filter({ hasText: 'Ramipril' });
      assert.equal(
        await ramipril.getByTestId('medicine-differences').count(),
        0,
        'a single-source medicine is not flagged',
      );
      await checkA11y(page);
      await screenshot(page, 'medicines-reconciliation');
      const mobile = await h.newPage('mobile');
      await h.signIn(mobile, 'gp-a81001');
      await mobile.goto(`/patient/${id}/medicines`);
      await mobile.getByTestId('medicine-group').first().waitFor();
      await checkA11y(mobile);
      await screenshot(mobile, 'medicines-reconciliation-mobile');
    });

    it('timeline: filtered by organisation and type; documents shown in the page', async () => {
      const page = await h.newPage();
      await h.signIn(page, 'gp-a81001');
      await page.goto(`/patient/${id}/timeline`);
      const total = await page.getByTestId('timeline-count').innerText();
      await page.getByLabel('Organisation').selectOption({ label: 'Demo acute trust' });
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/source=/);
      const filtered = await page.getByTestId('timeline-count').innerText();
      assert.notEqual(filtered, total);
      assert.match(await page.locator('#timeline').innerText(), /Emergency admission: fall at home/);
      assert.doesNotMatch(await page.locator('#timeline').innerText(), /Synthea demo hospital/);
      await checkA11y(page);
      await page.goto(`/patient/${id}/documents`);
      const doc = page.getByTestId('document').filter({ hasText: 'Discharge summary' });
      assert.match(await doc.innerText(), /amlodipine increased to 10mg/);
      await checkA11y(page);
      await screenshot(page, 'documents');
    });
  });
}

/**
 * Journeys: recording an opt-out and seeing the record close to other organisations; and an admin and
 * clerical user, who sees demographics and appointments only (each empty card says why).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserDatabases, checkA11y, screenshot, startViewer, type ViewerHarness } from './harness.ts';

for (const db of browserDatabases) {
  describe(`opt-out, and the admin and clerical view (${db})`, () => {
    let h: ViewerHarness;
    let id: string;
    before(async () => {
      h = await startViewer({ db });
      id = await h.patientIdFor('9990000018');
    });
    after(async () => {
      await h.close();
    });

    it('an admin and clerical user sees the banner and appointments; clinical cards say the role does not see them', async () => {
      const page = await h.newPage();
      await h.signIn(page, 'admin-clerk');
      await page.goto(`/patient/${id}`);
      await page.getByTestId('patient-banner').waitFor();
      assert.equal(await page.getByTestId('nhs-number').innerText(), '999 000 0018');
      assert.match(
        await page.locator('#card-medicines').innerText(),
        /Your role \(Admin and clinical support\) does not see current medicines/,
      );
      assert.match(await page.locator('#card-allergies').innerText(), /does not see allergies/);
      assert.equal(await page.getByTestId('relationship-check').count(), 0, 'no relationship dialog for this role');
      await page.goto(`/patient/${id}/appointments`);
      assert.doesNotMatch(await page.locator('main').innerText(), /does not see appointments/);
      await checkA11y(page);
      await screenshot(page, 'admin-clerical');
    });

    it('recording an opt-out closes the record to other organisations: the hospital then sees only its own', async () => {
      const hospital = await h.newPage();
      await h.signIn(hospital, 'ed-doctor-rns');
      await hospital.goto(`/patient/${id}`);
      await hospital.getByTestId('medicines').waitFor();
      assert.match(
        await hospital.getByTestId('medicines').innerText(),
        /Demo GP practice A81001/,
        'before: GP medicines shared',
      );

      const gp = await h.newPage();
      await h.signIn(gp, 'gp-a81001');
      await gp.goto(`/patient/${id}`);
      await gp.getByText('Record an opt-out').click();
      await gp.getByRole('button', { name: 'Record opt-out' }).click();
      await gp.getByTestId('optout-recorded').waitFor();
      await gp.getByTestId('optout-notice').waitFor();
      await checkA11y(gp);
      await screenshot(gp, 'optout-recorded');

      await hospital.reload();
      await hospital.getByTestId('optout-notice').waitFor();
      const meds = await hospital.locator('#card-medicines').innerText();
      assert.match(meds, /Amlodipine 10mg tablets/, 'the hospital still sees its own record');
      assert.doesNotMatch(meds, /Demo GP practice A81001/, "the GP's medicines are no longer shared");
      assert.match(await hospital.locator('#card-allergies').innerText(), /opted out/, 'an empty card says why');
      await checkA11y(hospital);
      await screenshot(hospital, 'optout-other-organisation');

      // And back in: the GP records the opt-in, the hospital sees the shared record again.
      await gp.getByText('Record that the person opts back in').click();
      await gp.getByRole('button', { name: 'Record opt-in' }).click();
      await gp.getByTestId('optout-recorded').waitFor();
      await hospital.reload();
      await hospital.getByTestId('medicines').getByText('Amlodipine 5mg tablets').waitFor();
      assert.equal(await hospital.getByTestId('optout-notice').count(), 0);
    });
  });
}

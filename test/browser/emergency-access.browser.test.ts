/**
 * Journey: an emergency department doctor searches by NHS number for a person their organisation has no
 * relationship with; the viewer shows demographics only and the relationship check; emergency access needs a
 * reason and shows its time limit; the record opens under an emergency notice; the privacy officer's review
 * queue holds the grant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserDatabases, checkA11y, screenshot, startViewer, type ViewerHarness } from './harness.ts';

interface FormLike {
  setAttribute(name: string, value: string): void;
  querySelectorAll(selector: string): ArrayLike<{ removeAttribute(name: string): void }>;
}

// Robert Demoson (sample person): registered at the GP practice, no care event at the acute trust (RNS).
const NHS = '9990000026';

for (const db of browserDatabases) {
  describe(`search → no relationship → emergency access → record (${db})`, () => {
    let h: ViewerHarness;
    before(async () => {
      h = await startViewer({ db });
    });
    after(async () => {
      await h.close();
    });

    it('the NHS number box formats as typed and catches a wrong check digit before searching', async () => {
      const page = await h.newPage();
      await h.signIn(page, 'ed-doctor-rns');
      const box = page.getByLabel('NHS number');
      await box.pressSequentially('9990000027');
      assert.equal(await box.inputValue(), '999 000 0027');
      await page.getByText('This is not a valid NHS number').waitFor();
      await page.getByRole('button', { name: 'Search by NHS number' }).click();
      await page.locator('.nhsuk-error-summary').waitFor();
      assert.match(await page.locator('.nhsuk-error-summary').innerText(), /valid 10-digit NHS number/);
      await checkA11y(page);
    });

    it('search lands on demographics only; emergency access with a reason opens the record; it is queued for review', async () => {
      const page = await h.newPage();
      await h.signIn(page, 'ed-doctor-rns');
      await page.getByLabel('NHS number').fill(NHS);
      await page.getByRole('button', { name: 'Search by NHS number' }).click();
      await page.getByTestId('patient-banner').waitFor();
      assert.equal(await page.getByTestId('nhs-number').innerText(), '999 000 0026');
      const check = page.getByTestId('relationship-check');
      await check.waitFor();
      assert.match(await check.innerText(), /Lasts 12 hours \(until \d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d\)/);
      assert.match(
        await page.locator('#card-medicines').innerText(),
        /no recorded relationship with this person yet/,
        'an empty card says why',
      );
      await checkA11y(page);
      await screenshot(page, 'emergency-relationship-check');

      // A reason is required: the browser refuses an empty form (required fields), the server too.
      const form = page.getByTestId('emergency-form');
      await form.getByLabel('Emergency treatment').check();
      await form
        .getByLabel('Why you need access now (required)')
        .fill('Collapsed in the department, unable to give history');
      await form.getByRole('button', { name: 'Use emergency access' }).click();
      await page.getByTestId('grant-notice').waitFor();
      assert.match(
        await page.getByTestId('grant-notice').innerText(),
        /Access until \d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d/,
      );
      await page.getByTestId('emergency-notice').waitFor();
      assert.equal(await page.getByTestId('relationship-check').count(), 0);
      assert.ok((await page.getByTestId('medicines').locator('li').count()) > 0, 'medicines now shown');
      await checkA11y(page);
      await screenshot(page, 'emergency-access-record');

      const res = await h.ta.app.inject({
        url: '/api/access/reviews?pending=true',
        headers: { authorization: await h.ta.auth('privacy-officer') },
      });
      assert.equal(res.statusCode, 200);
      const items = res.json<{ items: Array<{ userId: string; kind: string; text: string }> }>().items;
      const mine = items.find((i) => i.userId === 'ed-doctor-rns' && i.kind === 'emergency');
      assert.ok(mine, 'the emergency access waits in the privacy officer review queue');
      assert.match(mine.text, /Collapsed in the department/);
    });

    it('the server refuses emergency access without text saying why', async () => {
      const page = await h.newPage();
      // The ward nurse (RNS too) has no grant of her own: grants are per user.
      await h.signIn(page, 'ward-nurse');
      const id = await h.patientIdFor(NHS);
      await page.goto(`/patient/${id}`);
      const form = page.getByTestId('emergency-form');
      // Bypass the browser's own check: the server must refuse too.
      await form.evaluate((f: FormLike) => {
        f.setAttribute('novalidate', '');
        for (const e of Array.from(f.querySelectorAll('[required]'))) e.removeAttribute('required');
      });
      await form.getByLabel('Emergency treatment').check();
      await form.getByRole('button', { name: 'Use emergency access' }).click();
      await page.getByTestId('grant-refused').waitFor();
      assert.match(await page.getByTestId('grant-refused').innerText(), /text saying why/);
      await page.getByTestId('relationship-check').waitFor();
    });
  });
}

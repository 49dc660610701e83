/**
 * Smoke test of the viewer in a real browser: sign-in lands on the NHS-styled viewer, the design system's
 * assets load from the server itself (no request leaves it), the page passes axe at both viewports, and a
 * page without a session redirects to sign-in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserDatabases, checkA11y, screenshot, startViewer, type ViewerHarness } from './harness.ts';

for (const db of browserDatabases) {
  describe(`viewer smoke (${db})`, () => {
    let h: ViewerHarness;
    before(async () => {
      h = await startViewer({ db });
    });
    after(async () => {
      await h.close();
    });

    it('without a session, the viewer redirects to sign-in', async () => {
      const page = await h.newPage();
      await page.goto('/');
      assert.equal(new URL(page.url()).pathname, '/signin');
    });

    it('a demo user signs in and sees the NHS header with their name, role and organisation; axe passes', async () => {
      const page = await h.newPage();
      const outside: string[] = [];
      const failed: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(h.url) && !r.url().startsWith('data:')) outside.push(r.url());
      });
      page.on('requestfailed', (r) => {
        if (r.url().startsWith(h.url)) failed.push(r.url());
      });
      await h.signIn(page, 'gp-a81001');
      await page.waitForLoadState('networkidle');
      const header = page.getByRole('banner');
      await header.getByText('OpenICR').waitFor();
      const account = await page.getByTestId('signed-in-user').innerText();
      assert.match(account, /Dr Asha Demo-Patel/);
      assert.match(account, /Clinical practitioner/);
      assert.match(account, /A81001/);
      // The design system's stylesheet is applied (its header is blue), served by the app itself.
      const bg = await header.evaluate((el) => el.ownerDocument.defaultView?.getComputedStyle(el).backgroundColor);
      assert.equal(bg, 'rgb(0, 94, 184)');
      // The design system's script ran (it marks initialised components).
      await page.waitForSelector('[data-nhsuk-header-init]', { state: 'attached' });
      assert.deepEqual(outside, [], 'no request leaves the server');
      assert.deepEqual(failed, []);
      const csp = (await page.request.get('/')).headers()['content-security-policy'] ?? '';
      assert.match(csp, /script-src 'self'/);
      await checkA11y(page);
      await screenshot(page, 'smoke-home-desktop');
    });

    it('works at 390×844 (mobile): skip link first, axe passes', async () => {
      const page = await h.newPage('mobile');
      await h.signIn(page, 'gp-a81001');
      await page.keyboard.press('Tab');
      const focused = await page.locator(':focus').innerText();
      assert.equal(focused.trim(), 'Skip to main content');
      // The focused skip link sits over the header (by design); axe checks the page at rest.
      await page.locator(':focus').blur();
      await checkA11y(page);
      await screenshot(page, 'smoke-home-mobile');
    });
  });
}

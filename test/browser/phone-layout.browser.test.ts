/**
 * Phone layout (375 px wide): every table of the viewer and the admin portal reflows to the NHS responsive
 * table pattern (`nhsuk-table-responsive`: each row stacked, each cell labelled with its heading), and no
 * page scrolls sideways.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { FeedService } from '../../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../../src/shared/actor.ts';
import { browserDatabases, checkA11y, screenshot, startViewer, type ViewerHarness } from './harness.ts';

/**
 * How far the page is wider than the viewport (0: no sideways scroll), and the data tables that do not
 * reflow.
 */
async function layout(page: Page): Promise<{ overflow: number; fixedTables: number; tables: number }> {
  return page.evaluate<{ overflow: number; fixedTables: number; tables: number }>(
    `(() => {
      const d = document.documentElement;
      // Charts' own tables (uPlot's legend; the numbers behind an admin chart, folded away) are not data tables.
      const tables = [...document.querySelectorAll('main table:not(.u-legend)')].filter((t) => !t.closest('.app-chart'));
      return {
        overflow: Math.max(d.scrollWidth, document.body.scrollWidth) - d.clientWidth,
        fixedTables: tables.filter((t) => !t.classList.contains('nhsuk-table-responsive')).length,
        tables: tables.length,
      };
    })()`,
  );
}

for (const db of browserDatabases) {
  describe(`phone layout at 375 px: tables reflow, no sideways scroll (${db})`, () => {
    let h: ViewerHarness;
    let id: string;
    before(async () => {
      h = await startViewer({ db });
      id = await h.patientIdFor('9990000018');
      // A feed with a failed message, for its feed page's table of failed messages.
      const feeds = new FeedService({ db: h.ta.t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RPHONE', name: 'Phone trust', kind: 'acute' });
      await feeds.addFeed(SYSTEM_ACTOR, {
        id: 'rphone-pas',
        org: 'RPHONE',
        protocol: 'mllp',
        sendingApplication: 'PAS',
        sendingFacility: 'RPHONE',
      });
      const [m] = await feeds.receive([
        {
          feedId: 'rphone-pas',
          sendingApplication: 'PAS',
          sendingFacility: 'RPHONE',
          controlId: 'PHONE-1',
          messageType: 'ADT^A08',
          raw: 'MSH|^~\\&|PAS|RPHONE|||20261206||ADT^A08|PHONE-1|P|2.4',
          orderingKey: null,
        },
      ]);
      assert.ok(m);
      await feeds.markFailed(m.id, 'HL7 parse: PID segment missing from a message long enough to wrap on a phone');
    });
    after(async () => {
      await h.close();
    });

    const pages: Array<{ user: string; urls: (id: string) => string[] }> = [
      {
        user: 'gp-a81001',
        urls: (p) => [
          `/patient/${p}`,
          `/patient/${p}/timeline`,
          `/patient/${p}/medicines`,
          `/patient/${p}/results`,
          `/patient/${p}/documents`,
          '/search?family=Fakename&dob=1945-07-14',
        ],
      },
      {
        user: 'privacy-officer',
        urls: (p) => ['/admin/audit', `/admin/audit/report?person=${p}`, '/admin/audit/reviews?show=all'],
      },
      { user: 'data-steward', urls: () => ['/admin/mpi'] },
      { user: 'integration-engineer', urls: () => ['/admin/feeds', '/admin/feeds/rphone-pas'] },
      { user: 'system-admin', urls: () => ['/admin/users'] },
    ];

    for (const { user, urls } of pages) {
      it(`${user}: every page fits 375 px and its tables stack`, async () => {
        const page = await h.newPage('phone');
        await h.signIn(page, user);
        let tables = 0;
        for (const url of urls(id)) {
          const res = await page.goto(url);
          assert.equal(res?.status(), 200, url);
          // Measured once the page has settled: the header's script fits its navigation to the width after
          // load, and on a loaded machine that can come a moment later. An overflow that stays fails.
          let l = await layout(page);
          for (let waited = 0; l.overflow > 0 && waited < 3000; waited += 250) {
            await page.waitForTimeout(250);
            l = await layout(page);
          }
          assert.equal(l.overflow, 0, `${url} scrolls sideways by ${String(l.overflow)} px`);
          assert.equal(l.fixedTables, 0, `${url}: a table that does not reflow`);
          tables += l.tables;
          if (l.tables > 0) {
            // Each cell carries its column heading, shown when the row stacks.
            const heading = page
              .locator('main table.nhsuk-table-responsive td .nhsuk-table-responsive__heading')
              .first();
            assert.equal(await heading.isVisible(), true, `${url}: the cell's heading is shown at phone width`);
          }
        }
        assert.ok(tables > 0, 'some of these pages have tables');
        await checkA11y(page);
        await screenshot(page, `phone-${user}`);
      });
    }
  });
}

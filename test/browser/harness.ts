/**
 * Browser tests of the viewer: the real app (records service, access, audit, sessions) over a test database
 * (PGlite, or a PostgreSQL schema with ICR_TEST_DATABASE_URL) with the built-in demo sample loaded, listening
 * on a free port, driven by Debian's Chromium through playwright-core. Helpers sign a demo user in, check a
 * page with axe (no serious or critical violation) and save screenshots to test-artifacts/screenshots/.
 *
 *   const h = await startViewer();            // per test file (a few seconds)
 *   const page = await h.newPage();           // 1280×800; h.newPage('mobile') for 390×844
 *   await h.signIn(page, 'gp-a81001');
 *   await checkA11y(page); await screenshot(page, 'summary');
 *   await h.close();
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type DemoLoadResult, loadDemoData } from '../../src/records/demo/demo-load.ts';
import { findDemoUser } from '../../src/auth/demo-users.ts';
import { SYSTEM_ACTOR } from '../../src/shared/actor.ts';
import { testDatabases } from '../helpers/db.ts';
import { openTestApp, type TestApp } from '../helpers/services.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  mobile: { width: 390, height: 844 },
  /** A small phone (iPhone SE, 375 px wide): tables reflow, the page never scrolls sideways. */
  phone: { width: 375, height: 667 },
} as const;
export type Viewport = keyof typeof VIEWPORTS;

const SCREENSHOTS = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

/** The databases browser tests run on: those of the other tests (test/helpers/db.ts, ICR_TEST_DATABASES). */
export const browserDatabases: Array<'pglite' | 'postgres'> = testDatabases;

export interface ViewerHarness {
  /** The server's base URL (http://127.0.0.1:<port>). */
  url: string;
  ta: TestApp;
  browser: Browser;
  demo: DemoLoadResult;
  /** A new page in a fresh browser context (own cookies) at a viewport. */
  newPage(viewport?: Viewport): Promise<Page>;
  /** The id of a Patient record with this NHS number (the person's record the viewer opens). */
  patientIdFor(nhsNumber: string): Promise<string>;
  /** Signs a demo user in through the demo sign-in page; the page ends on the viewer's home. */
  signIn(page: Page, userId?: string): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

export interface StartOptions {
  db?: 'pglite' | 'postgres';
  /** Extra ICR_* settings. */
  env?: Record<string, string>;
  /** Loads the demo sample (default true). */
  demoData?: boolean;
}

export async function startViewer(opts: StartOptions = {}): Promise<ViewerHarness> {
  // The public URL is the launch token's audience, so the port is chosen before the app is built.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const ta = await openTestApp(opts.db ?? 'pglite', { ICR_PUBLIC_URL: url, ...opts.env }, { demo: true });
  let demo: DemoLoadResult = { loaded: 'none' };
  try {
    if (opts.demoData !== false) {
      demo = await loadDemoData(ta.records, { sharedDataDir: '/nonexistent-shared-data', log: () => undefined });
    }
    await ta.app.listen({ port, host: '127.0.0.1' });
  } catch (err) {
    await ta.close();
    throw err;
  }
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  } catch (err) {
    await ta.close();
    throw err;
  }
  const contexts: BrowserContext[] = [];
  return {
    url,
    ta,
    browser,
    demo,
    async newPage(viewport: Viewport = 'desktop') {
      const context = await browser.newContext({ viewport: VIEWPORTS[viewport], baseURL: url, locale: 'en-GB' });
      context.setDefaultTimeout(15_000);
      contexts.push(context);
      return context.newPage();
    },
    async patientIdFor(nhsNumber: string) {
      const json = await ta.records.search(
        SYSTEM_ACTOR,
        'Patient',
        new URLSearchParams({ identifier: `https://fhir.nhs.uk/Id/nhs-number|${nhsNumber}`, _sort: '_id' }),
        { baseUrl: 'urn:test' },
      );
      const id = (JSON.parse(json) as { entry?: Array<{ resource: { id: string } }> }).entry?.[0]?.resource.id;
      if (!id) throw new Error(`no Patient with NHS number ${nhsNumber}`);
      return id;
    },
    async signIn(page: Page, userId = 'gp-a81001') {
      const user = findDemoUser(userId);
      if (!user) throw new Error(`no demo user ${userId}`);
      await page.goto('/signin');
      await page.getByRole('button', { name: user.name, exact: true }).click();
      await page.waitForURL(`${url}/`);
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close();
      await ta.close();
    },
  };
}

/** Runs axe on the page (WCAG 2.x A/AA and best practice) and fails on any serious or critical violation. */
export async function checkA11y(page: Page, opts: { exclude?: string[] } = {}): Promise<void> {
  let builder = new AxeBuilder({ page }).withTags([
    'wcag2a',
    'wcag2aa',
    'wcag21a',
    'wcag21aa',
    'wcag22aa',
    'best-practice',
  ]);
  for (const e of opts.exclude ?? []) builder = builder.exclude(e);
  const result = await builder.analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.impact ?? ''} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `axe: serious or critical violations on ${page.url()}`,
  );
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

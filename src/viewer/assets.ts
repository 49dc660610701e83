/**
 * The viewer's static files, served by the server itself (no CDN; the page works offline): the NHS design
 * system's prebuilt CSS, JS and images from the `nhsuk-frontend` package, the uPlot chart library, and the
 * viewer's own small scripts (`src/viewer/static/`). Long cache lifetimes: every URL the pages use carries
 * the package version (`?v=`), so an upgrade changes the URL. See docs/viewer.md and docs/adr/0040.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
const nhsukDist = path.join(path.dirname(require.resolve('nhsuk-frontend/package.json')), 'dist', 'nhsuk');
const uplotDist = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
const viewerStatic = fileURLToPath(new URL('./static/', import.meta.url));

export const NHSUK_VERSION = (require('nhsuk-frontend/package.json') as { version: string }).version;
const UPLOT_VERSION = (require('uplot/package.json') as { version: string }).version;
const VIEWER_VERSION = (require('../../package.json') as { version: string }).version;

/** URLs of the assets the layout and pages link to (versioned for long caching). */
export const ASSETS = {
  css: `/assets/nhsuk/nhsuk-frontend.min.css?v=${NHSUK_VERSION}`,
  js: `/assets/nhsuk/nhsuk-frontend.min.js?v=${NHSUK_VERSION}`,
  favicon: `/assets/images/favicon.svg?v=${NHSUK_VERSION}`,
  uplotJs: `/assets/uplot/uPlot.iife.min.js?v=${UPLOT_VERSION}`,
  uplotCss: `/assets/uplot/uPlot.min.css?v=${UPLOT_VERSION}`,
  /** A script of the viewer's own, by file name in src/viewer/static/. */
  viewer: (file: string) => `/assets/viewer/${file}?v=${VIEWER_VERSION}`,
} as const;

const ONE_YEAR_S = 365 * 24 * 3600;

/** The design system's stylesheet without @font-face rules that fetch fonts from another origin. */
export function localStylesheet(css: string): string {
  return css
    .replace(/@font-face\{[^}]*\}/g, (rule) => (/url\(\s*["']?https?:/i.test(rule) ? '' : rule))
    .replace(/\/\*# sourceMappingURL=[^*]*\*\//g, '');
}

export function registerViewerAssets(app: FastifyInstance): void {
  const common = {
    decorateReply: false,
    index: false as const,
    list: false,
    dotfiles: 'deny' as const,
    maxAge: ONE_YEAR_S * 1000,
    immutable: true,
  };
  // The package's CSS refers to its images as /assets/images/… (absolute), so they are served there.
  void app.register(fastifyStatic, {
    ...common,
    root: path.join(nhsukDist, 'assets', 'images'),
    prefix: '/assets/images/',
  });
  // The stylesheet, from memory: the package's CSS without its @font-face rules, which load the licensed
  // Frutiger font from assets.nhs.uk (a CDN; the viewer must work offline). Text falls back to Arial, the
  // design system's own fallback.
  const css = localStylesheet(readFileSync(path.join(nhsukDist, 'nhsuk-frontend.min.css'), 'utf8'));
  app.get('/assets/nhsuk/nhsuk-frontend.min.css', async (_req, reply) =>
    reply.header('cache-control', `public, max-age=${ONE_YEAR_S}, immutable`).type('text/css; charset=utf-8').send(css),
  );
  void app.register(fastifyStatic, {
    ...common,
    root: nhsukDist,
    prefix: '/assets/nhsuk/',
    allowedPath: (p: string) => /^\/nhsuk-frontend\.min\.js(\.map)?$/.test(p),
  });
  void app.register(fastifyStatic, {
    ...common,
    root: uplotDist,
    prefix: '/assets/uplot/',
    allowedPath: (p: string) => p === '/uPlot.iife.min.js' || p === '/uPlot.min.css',
  });
  void app.register(fastifyStatic, {
    ...common,
    root: viewerStatic,
    prefix: '/assets/viewer/',
    allowedPath: (p: string) => /^\/[a-z0-9-]+\.(js|css)$/.test(p),
  });
}

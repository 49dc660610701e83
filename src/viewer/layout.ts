/**
 * The page frame of every viewer and admin page, in the NHS design system (nhsuk-frontend): skip link,
 * header with the service name and the signed-in user (name, role, organisation, sign out), optional
 * navigation, main, footer, and the fixed notice that some sensitive information is never shared.
 * Every value is escaped (`html`); scripts are same-origin files only (`script-src 'self'`).
 */
import type { FastifyReply } from 'fastify';
import { isRole, ROLES } from '../access/roles.ts';
import { escapeHtml, html, type Html } from '../http/html-page.ts';
import type { UserActor } from '../shared/actor.ts';
import { ASSETS } from './assets.ts';

export { escapeHtml, html, type Html };

/** The navigation shown under the header. */
export type ViewerNav = 'patient' | 'admin';

export interface ViewerPageOptions {
  /** The page title (also the <title>, followed by " – OpenICR"). */
  title: string;
  /** The signed-in user (from the browser session). */
  user: UserActor;
  /** The page's main content (the caller writes its own <h1>). */
  body: Html;
  nav?: ViewerNav;
  /** HTTP status (default 200). */
  status?: number;
  /** Extra same-origin scripts (URLs from ASSETS), loaded as modules after nhsuk-frontend. */
  scripts?: string[];
  /** Extra same-origin stylesheets (URLs from ASSETS). */
  styles?: string[];
  /** Which navigation item is current (its href). */
  current?: string;
}

/** The CSP of viewer pages: the helmet policy of the server with same-origin scripts allowed. */
export const VIEWER_SCRIPT_SRC = "script-src 'self'";

const NAV: Record<ViewerNav, Array<{ href: string; label: string }>> = {
  patient: [{ href: '/', label: 'Find a person' }],
  admin: [
    { href: '/admin', label: 'Admin home' },
    { href: '/admin/feeds', label: 'Feeds' },
    { href: '/admin/mpi', label: 'MPI review' },
    { href: '/admin/audit', label: 'Audit' },
    { href: '/admin/users', label: 'Users' },
  ],
};

const NHS_LOGO = html`<svg
  class="nhsuk-header__logo"
  xmlns="http://www.w3.org/2000/svg"
  viewBox="0 0 200 80"
  height="40"
  width="100"
  focusable="false"
  role="img"
  aria-label="NHS"
>
  <title>NHS</title>
  <path
    fill="currentcolor"
    d="M200 0v80H0V0h200Zm-27.5 5.5c-14.5 0-29 5-29 22 0 10.2 7.7 13.5 14.7 16.3l.7.3c5.4 2 10.1 3.9 10.1 8.4 0 6.5-8.5 7.5-14 7.5s-12.5-1.5-16-3.5L135 70c5.5 2 13.5 3.5 20 3.5 15.5 0 32-4.5 32-22.5 0-19.5-25.5-16.5-25.5-25.5 0-5.5 5.5-6.5 12.5-6.5a35 35 0 0 1 14.5 3l4-13.5c-4.5-2-12-3-20-3Zm-131 2h-22l-14 65H22l9-45h.5l13.5 45h21.5l14-65H64l-9 45h-.5l-13-45Zm63 0h-18l-13 65h17l6-28H117l-5.5 28H129l13.5-65H125L119.5 32h-20l5-24.5Z"
  />
</svg>`;

function header(user: UserActor, csrf: string, nav: ViewerNav | undefined, current: string | undefined): Html {
  const items = nav ? NAV[nav] : [];
  const navigation =
    items.length === 0
      ? html``
      : html`<nav class="nhsuk-header__navigation" aria-label="Menu">
          <div class="nhsuk-header__navigation-container nhsuk-width-container">
            <ul class="nhsuk-header__navigation-list">
              ${items.map(
                (i) =>
                  html`<li class="nhsuk-header__navigation-item">
                    <a
                      class="nhsuk-header__navigation-link"
                      href="${i.href}"
                      ${i.href === current ? html`aria-current="page"` : html``}
                      >${i.label}</a
                    >
                  </li>`,
              )}
              <li class="nhsuk-header__menu" hidden>
                <button
                  class="nhsuk-header__menu-toggle nhsuk-header__navigation-link"
                  id="toggle-menu"
                  aria-expanded="false"
                >
                  <span class="nhsuk-u-visually-hidden">Browse </span>More
                </button>
              </li>
            </ul>
          </div>
        </nav>`;
  return html`<header class="nhsuk-header" data-module="nhsuk-header" role="banner">
    <div class="nhsuk-header__container nhsuk-width-container">
      <div class="nhsuk-header__service">
        <a class="nhsuk-header__service-logo" href="/" aria-label="OpenICR homepage">
          ${NHS_LOGO}
          <span class="nhsuk-header__service-name">OpenICR</span>
        </a>
      </div>
      <nav class="nhsuk-header__account" aria-label="Account">
        <ul class="nhsuk-header__account-list">
          <li class="nhsuk-header__account-item" data-testid="signed-in-user">
            ${user.displayName ?? user.userId}
            <span class="icr-header__role">· ${roleLabel(user.role)} · ${user.orgOds}</span>
          </li>
          <li class="nhsuk-header__account-item">
            <form class="nhsuk-header__account-form" action="/logout" method="post" novalidate>
              <input type="hidden" name="_csrf" value="${csrf}" />
              <button class="nhsuk-header__account-button">Sign out</button>
            </form>
          </li>
        </ul>
      </nav>
    </div>
    ${navigation}
  </header>`;
}

const FOOTER = html`<footer class="nhsuk-footer" role="contentinfo">
  <div class="nhsuk-width-container">
    <div class="nhsuk-footer__meta">
      <h2 class="nhsuk-u-visually-hidden">Support links</h2>
      <p class="nhsuk-body-s">
        Some sensitive information (for example sexual health, IVF and gender identity records) is never shared in this
        record. Every access is recorded.
      </p>
      <p class="nhsuk-body-s">OpenICR — open-source integrated care record. Synthetic demonstration data only.</p>
    </div>
  </div>
</footer>`;

/** The role's name from the catalogue (the code itself when unknown). */
export function roleLabel(code: string): string {
  return isRole(code) ? ROLES[code] : code;
}

/** Renders and sends a viewer page (no-store: pages carry patient data). */
export function viewerPage(reply: FastifyReply, opts: ViewerPageOptions): FastifyReply {
  const csrf = reply.generateCsrf();
  const page = html`<!doctype html>
    <html lang="en-GB">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${opts.title} – OpenICR</title>
        <link rel="icon" href="${ASSETS.favicon}" type="image/svg+xml" />
        <link rel="stylesheet" href="${ASSETS.css}" />
        ${(opts.styles ?? []).map((s) => html`<link rel="stylesheet" href="${s}" />`)}
        <link rel="stylesheet" href="${ASSETS.viewer('viewer.css')}" />
        <meta name="csrf-token" content="${csrf}" />
        <meta name="nhsuk-js" content="${ASSETS.js}" />
      </head>
      <body>
        <script type="module" src="${ASSETS.viewer('init.js')}"></script>
        <a class="nhsuk-skip-link" data-module="nhsuk-skip-link" href="#maincontent">Skip to main content</a>
        ${header(opts.user, csrf, opts.nav, opts.current)}
        <div class="nhsuk-width-container">
          <main class="nhsuk-main-wrapper" id="maincontent" role="main">${opts.body}</main>
        </div>
        ${FOOTER} ${(opts.scripts ?? []).map((s) => html`<script type="module" src="${s}"></script>`)}
      </body>
    </html>`;
  const policy = reply.getHeader('content-security-policy');
  if (typeof policy === 'string') reply.header('content-security-policy', withScriptSrcSelf(policy));
  return reply
    .code(opts.status ?? 200)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(page.html);
}

/** The server's CSP with `script-src 'self'` in place of whatever script-src it had. */
export function withScriptSrcSelf(policy: string): string {
  const kept = policy
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d !== '' && !/^script-src(\s|$)/.test(d));
  return [...kept, VIEWER_SCRIPT_SRC].join(';');
}

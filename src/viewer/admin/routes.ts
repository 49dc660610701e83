/**
 * The admin portal at `/admin` (docs/admin.md): a home page listing the areas the signed-in person may
 * use, then feeds, the MPI review queue, audit and users. Pages need a browser session; forms post
 * `application/x-www-form-urlencoded` with the session's CSRF token.
 */
import type { FastifyInstance } from 'fastify';
import { ADMIN_AREAS } from '../../records/admin/catalogue.ts';
import { html } from '../../http/html-page.ts';
import { csrfCheck } from '../../http/plugins/browser-session.ts';
import { registerFormParser } from '../../http/plugins/content-type.ts';
import { registerAuditPages } from './audit-pages.ts';
import { registerFeedPages } from './feeds-pages.ts';
import { registerMpiPages } from './mpi-pages.ts';
import { registerRejectedPages } from './rejected-pages.ts';
import type { ViewerDeps } from '../session.ts';
import { type AdminDeps, page } from './page.ts';
import { registerUserPages } from './users-pages.ts';

export type { AdminDeps } from './page.ts';

/** Registers the portal's pages (called by the viewer's routes); without the admin service there is none. */
export function registerAdminPages(app: FastifyInstance, viewer: ViewerDeps): void {
  if (!viewer.admin) return;
  const deps: AdminDeps = {
    config: viewer.config,
    records: viewer.records,
    admin: viewer.admin,
    ...(viewer.audit ? { audit: viewer.audit } : {}),
    ...(viewer.feeds ? { feeds: viewer.feeds } : {}),
  };
  app.get(
    '/admin',
    page(deps, undefined, async (_req, ctx) => {
      const areas = deps.admin.areas(ctx.actor);
      const body =
        areas.length === 0
          ? html`<p>
              Your role (${ctx.actor.role}) has no part in the admin portal.
              <a class="nhsuk-link" href="/">Go to the record</a>.
            </p>`
          : html`<ul class="nhsuk-grid-row nhsuk-card-group">
              ${areas.map(
                (a) =>
                  html`<li class="nhsuk-grid-column-one-half nhsuk-card-group__item">
                    <div class="nhsuk-card nhsuk-card--clickable">
                      <div class="nhsuk-card__content">
                        <h2 class="nhsuk-card__heading nhsuk-heading-m">
                          <a class="nhsuk-card__link" href="/admin/${a}">${ADMIN_AREAS[a].title}</a>
                        </h2>
                        <p class="nhsuk-card__description">For ${ADMIN_AREAS[a].audience}.</p>
                      </div>
                    </div>
                  </li>`,
              )}
            </ul>`;
      return { title: 'Admin', body };
    }),
  );
  void app.register(async (forms) => {
    registerFormParser(forms);
    const csrf = csrfCheck(app);
    registerFeedPages(app, forms, deps, csrf);
    registerRejectedPages(app, forms, deps, csrf);
    registerMpiPages(app, forms, deps, csrf);
    registerAuditPages(app, forms, deps, csrf);
    registerUserPages(app, forms, deps, csrf);
  });
}

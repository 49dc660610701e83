/**
 * The admin portal's pages (feeds, MPI review queue, audit, users), under `/admin`. Each page is a use case
 * of the records layer (access decided and audited there); this module only renders. See docs/viewer.md.
 */
import type { FastifyInstance } from 'fastify';
import { html } from '../../http/html-page.ts';
import { card } from '../components.ts';
import { viewerPage } from '../layout.ts';
import { requireViewerUser, type ViewerDeps } from '../session.ts';

export function registerAdminPages(app: FastifyInstance, deps: ViewerDeps): void {
  app.get('/admin', async (req, reply) => {
    const user = await requireViewerUser(req, reply, deps);
    if (!user) return reply;
    return viewerPage(reply, {
      title: 'Admin',
      user,
      nav: 'admin',
      current: '/admin',
      body: html`<h1>Admin</h1>
        <div class="nhsuk-grid-row nhsuk-card-group">
          ${[
            ['Feeds', 'Status, freshness, backlog and errors of each feed.'],
            ['MPI review', 'Possible duplicate people to link or keep apart.'],
            ['Audit', 'Search the audit trail; access reports; emergency access review.'],
            ['Users', 'Users and their roles.'],
          ].map(
            ([title, text]) =>
              html`<div class="nhsuk-grid-column-one-half nhsuk-card-group__item">
                ${card(title ?? '', html`<p class="nhsuk-card__description">${text ?? ''}</p>`, { level: 2 })}
              </div>`,
          )}
        </div>`,
    });
  });
}

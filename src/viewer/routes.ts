/**
 * The viewer's routes, registered by `buildApp` when browser sign-in is configured: static assets, the
 * professional's pages (`/`, `/patient/:id`) and the admin portal (`/admin…`, src/viewer/admin/). Every page
 * needs a browser session (else a redirect to `/signin`); every POST form carries the session's CSRF token
 * (`csrfCheck`). Clinical data comes only from the records service. See docs/viewer.md.
 */
import type { FastifyInstance } from 'fastify';
import { html } from '../http/html-page.ts';
import { registerFormParser } from '../http/plugins/content-type.ts';
import { IcrError } from '../shared/errors.ts';
import { registerAdminPages } from './admin/routes.ts';
import { registerViewerAssets } from './assets.ts';
import { insetText } from './components.ts';
import { viewerPage } from './layout.ts';
import { requireViewerUser, viewerActor, type ViewerDeps } from './session.ts';

export type { ViewerDeps } from './session.ts';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export function registerViewerRoutes(app: FastifyInstance, deps: ViewerDeps): void {
  registerViewerAssets(app);

  app.get('/', async (req, reply) => {
    const user = await requireViewerUser(req, reply, deps);
    if (!user) return reply;
    return viewerPage(reply, {
      title: 'Find a person',
      user,
      nav: 'patient',
      current: '/',
      body: html`<h1>Find a person</h1>
        <p>Open a record from your own system, or search by NHS number.</p>`,
    });
  });

  app.get<{ Params: { id?: string } }>('/patient/:id?', async (req, reply) => {
    const user = await requireViewerUser(req, reply, deps);
    if (!user) return reply;
    const id = req.params.id;
    if (id === undefined || id === '') {
      return viewerPage(reply, {
        title: 'No record',
        user,
        nav: 'patient',
        body: html`<h1>No record</h1>
          ${insetText(html`<p>The shared care record holds no record for the person your system opened.</p>`)}`,
      });
    }
    if (!ID.test(id)) throw new IcrError('ICR_NOT_FOUND', 'There is no such person');
    const stored = await deps.records.read(viewerActor(user, req), 'Patient', id);
    const patient = JSON.parse(stored.json ?? '{}') as {
      name?: Array<{ family?: string; given?: string[] }>;
      birthDate?: string;
      identifier?: Array<{ system?: string; value?: string }>;
    };
    const name = patient.name?.[0];
    const nhs = patient.identifier?.find((i) => i.system === 'https://fhir.nhs.uk/Id/nhs-number')?.value ?? '';
    return viewerPage(reply, {
      title: 'Patient',
      user,
      nav: 'patient',
      body: html`<h1><strong>${(name?.family ?? '').toUpperCase()}</strong>, ${(name?.given ?? []).join(' ')}</h1>
        <p>Born ${patient.birthDate ?? 'unknown'} · NHS No. ${nhs.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3')}</p>`,
    });
  });

  registerAdminPages(app, deps);

  // POST forms (access dialogs, opt-out): URL-encoded bodies, each checked for the session's CSRF token.
  void app.register(async (forms) => {
    registerFormParser(forms);
  });
}

/**
 * The viewer's routes, registered by `buildApp` when browser sign-in is configured: static assets, the
 * professional's pages (find a person, the person's summary and sections, the access forms), the summary
 * endpoint (`GET /api/patients/:id/summary`) and the admin portal (`/admin…`, src/viewer/admin/). Every page
 * needs a browser session (else a redirect to `/signin`); every POST form carries the session's CSRF token
 * (`csrfCheck`). Clinical data comes only through the records service (src/records/viewer/). See docs/viewer.md.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { html } from '../http/html-page.ts';
import { csrfCheck } from '../http/plugins/browser-session.ts';
import { actorOf } from '../http/plugins/auth.ts';
import { registerFormParser } from '../http/plugins/content-type.ts';
import { normaliseNhsNumber } from '../mpi/normalise/nhs-number.ts';
import { ViewerRecords } from '../records/viewer/viewer-records.ts';
import { NHS_NUMBER_SYSTEM } from '../records/viewer/patient-view.ts';
import type { UserActor } from '../shared/actor.ts';
import { IcrError, isIcrError } from '../shared/errors.ts';
import { registerAdminPages } from './admin/routes.ts';
import { ASSETS, registerViewerAssets } from './assets.ts';
import { insetText, notificationBanner } from './components.ts';
import { viewerPage } from './layout.ts';
import { SECTIONS } from './pages/patient-parts.ts';
import { sectionBody, summaryBody, type TimelineFilter } from './pages/patient-pages.ts';
import { type FoundPerson, searchBody, type SearchForm } from './pages/search-page.ts';
import { cuiDateTime } from './rules/cui-format.ts';
import { requireViewerUser, viewerActor, type ViewerDeps } from './session.ts';

export type { ViewerDeps } from './session.ts';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
/** An attachment's URL to a Binary of this server (a relative reference, `Binary/<id>`). */
const BASE = 'urn:openicr:viewer';

export function registerViewerRoutes(app: FastifyInstance, deps: ViewerDeps): void {
  registerViewerAssets(app);
  const viewer = new ViewerRecords({ records: deps.records, ...(deps.feeds ? { feeds: deps.feeds } : {}) });
  const grantHours = deps.config.accessGrantHours;

  const notFound = (reply: FastifyReply, user: UserActor) =>
    viewerPage(reply, {
      title: 'No record',
      user,
      nav: 'patient',
      status: 404,
      body: html`<h1>No record</h1>
        ${insetText(
          html`<p>The shared care record holds no record for this person, or none that you may see.</p>
            <p><a href="/">Find a person</a></p>`,
        )}`,
    });

  app.get('/', async (req, reply) => {
    const user = await requireViewerUser(req, reply, deps);
    if (!user) return reply;
    return viewerPage(reply, {
      title: 'Find a person',
      user,
      nav: 'patient',
      current: '/',
      body: searchBody({}, []),
      scripts: [ASSETS.viewer('nhs-number.js')],
    });
  });

  app.get<{ Querystring: SearchForm }>('/search', async (req, reply) => {
    const user = await requireViewerUser(req, reply, deps);
    if (!user) return reply;
    const q = req.query;
    const form: SearchForm = {};
    for (const k of ['nhs', 'family', 'dob', 'postcode'] as const) {
      const v = q[k];
      if (typeof v === 'string' && v.trim() !== '') form[k] = v.trim().slice(0, 100);
    }
    const errors: Array<{ field: string; text: string }> = [];
    const params = new URLSearchParams({ _count: '20' });
    if (form.nhs !== undefined) {
      const nhs = normaliseNhsNumber(form.nhs);
      if (!nhs) errors.push({ field: 'nhs', text: 'Enter a valid 10-digit NHS number (the check digit is wrong)' });
      else params.set('identifier', `${NHS_NUMBER_SYSTEM}|${nhs}`);
    } else {
      if (!form.family) errors.push({ field: 'family', text: 'Enter a family name, or search by NHS number' });
      if (!form.dob || !/^\d{4}-\d{2}-\d{2}$/.test(form.dob)) {
        errors.push({ field: 'dob', text: 'Enter a date of birth, for example 1945-07-14' });
      }
      if (form.family) params.set('family', form.family);
      if (form.dob) params.set('birthdate', form.dob);
      if (form.postcode) params.set('address-postalcode', form.postcode);
    }
    const page = (found?: FoundPerson[], status = 200) =>
      viewerPage(reply, {
        title: errors.length > 0 ? 'Error: Find a person' : 'Find a person',
        user,
        nav: 'patient',
        status,
        body: searchBody(form, errors, found),
        scripts: [ASSETS.viewer('nhs-number.js')],
      });
    if (errors.length > 0) return page(undefined, 400);
    const json = await deps.records.search(viewerActor(user, req), 'Patient', params, { baseUrl: BASE });
    const found = foundPeople(json);
    if (form.nhs !== undefined && found.length === 1 && found[0]) {
      return reply.redirect(`/patient/${encodeURIComponent(found[0].id)}`, 303);
    }
    return page(found);
  });

  app.get<{ Params: { id?: string } }>('/patient', async (req, reply) => {
    const user = await requireViewerUser(req, reply, deps);
    if (!user) return reply;
    return viewerPage(reply, {
      title: 'No record',
      user,
      nav: 'patient',
      body: html`<h1>No record</h1>
        ${insetText(html`<p>The shared care record holds no record for the person your system opened.</p>`)}`,
    });
  });

  const personPage = async (
    req: FastifyRequest<{ Params: { id: string; section?: string }; Querystring: Record<string, string | undefined> }>,
    reply: FastifyReply,
  ) => {
    const user = await requireViewerUser(req, reply, deps);
    if (!user) return reply;
    const { id } = req.params;
    const slug = req.params.section ?? '';
    const section = SECTIONS.find((s) => s.slug === slug);
    if (!ID.test(id) || !section) return notFound(reply, user);
    const actor = viewerActor(user, req);
    const now = new Date();
    const csrf = reply.generateCsrf();
    const notice = noticeOf(req.query);
    try {
      if (slug === '') {
        const s = await viewer.summary(actor, id);
        return await viewerPage(reply, {
          title: `${s.banner.family.toUpperCase()} – Summary`,
          user,
          nav: 'patient',
          body: summaryBody(s, user, csrf, grantHours, now, notice),
        });
      }
      const v = await viewer.view(actor, id);
      const filter: TimelineFilter = {};
      for (const k of ['from', 'to', 'source', 'type'] as const) {
        const val = req.query[k];
        if (typeof val === 'string' && val !== '') filter[k] = val.slice(0, 100);
      }
      return await viewerPage(reply, {
        title: `${v.banner.family.toUpperCase()} – ${section.label}`,
        user,
        nav: 'patient',
        body: sectionBody(v, slug, user, csrf, grantHours, now, filter),
        ...(slug === 'results'
          ? {
              classicScripts: [ASSETS.uplotJs],
              styles: [ASSETS.uplotCss],
              scripts: [ASSETS.viewer('trend-chart.js')],
            }
          : {}),
      });
    } catch (err) {
      if (isIcrError(err) && (err.code === 'ICR_NOT_FOUND' || err.code === 'ICR_GONE')) return notFound(reply, user);
      throw err;
    }
  };
  app.get('/patient/:id', personPage);
  app.get('/patient/:id/:section', personPage);

  app.get<{ Params: { id: string; doc: string } }>('/patient/:id/documents/:doc/pdf', async (req, reply) => {
    const user = await requireViewerUser(req, reply, deps);
    if (!user) return reply;
    if (!ID.test(req.params.doc)) throw new IcrError('ICR_NOT_FOUND', 'There is no such document');
    if (!ID.test(req.params.id)) throw new IcrError('ICR_NOT_FOUND', 'There is no such document');
    const pdf = await viewer.documentPdf(viewerActor(user, req), req.params.id, req.params.doc);
    return reply
      .header('cache-control', 'no-store')
      .header('content-disposition', 'inline')
      .type('application/pdf')
      .send(pdf);
  });

  // The summary endpoint: one request for the summary cards (session or bearer token; access and audit in
  // the records service).
  app.get<{ Params: { id: string } }>('/api/patients/:id/summary', async (req, reply) => {
    const actor = actorOf(req);
    if (actor.kind !== 'user') throw new IcrError('ICR_ACCESS_DENIED', 'The summary is for users');
    if (!ID.test(req.params.id)) throw new IcrError('ICR_NOT_FOUND', 'There is no such person');
    return reply.header('cache-control', 'no-store').send(await viewer.summary(actor, req.params.id));
  });

  registerAdminPages(app, deps);

  // POST forms (access dialogs, opt-out): URL-encoded bodies, each checked for the session's CSRF token.
  void app.register(async (forms) => {
    registerFormParser(forms);
    forms.post<{ Params: { id: string } }>(
      '/patient/:id/access',
      { preHandler: csrfCheck(app) },
      async (req, reply) => {
        const user = await requireViewerUser(req, reply, deps);
        if (!user) return reply;
        const id = req.params.id;
        if (!ID.test(id)) return notFound(reply, user);
        const body = new URLSearchParams(typeof req.body === 'string' ? req.body : '');
        const kind = body.get('kind') === 'emergency' ? 'emergency' : 'declared';
        try {
          const grant = await deps.records.access.declare(viewerActor(user, req), {
            patient: id,
            kind,
            reason: body.get('reason') ?? '',
            text: (body.get('text') ?? '').slice(0, 500),
          });
          const until = (grant as { expiresAt?: string }).expiresAt ?? '';
          return await reply.redirect(
            `/patient/${encodeURIComponent(id)}?granted=${kind}&until=${encodeURIComponent(until)}`,
            303,
          );
        } catch (err) {
          if (!isIcrError(err) || (err.code !== 'ICR_BAD_REQUEST' && err.code !== 'ICR_ACCESS_DENIED')) throw err;
          return reply.redirect(
            `/patient/${encodeURIComponent(id)}?refused=${encodeURIComponent(err.message.slice(0, 200))}`,
            303,
          );
        }
      },
    );
    forms.post<{ Params: { id: string } }>(
      '/patient/:id/optout',
      { preHandler: csrfCheck(app) },
      async (req, reply) => {
        const user = await requireViewerUser(req, reply, deps);
        if (!user) return reply;
        const id = req.params.id;
        if (!ID.test(id)) return notFound(reply, user);
        const body = new URLSearchParams(typeof req.body === 'string' ? req.body : '');
        const optIn = body.get('in') === 'true';
        await deps.records.access.optOut(viewerActor(user, req), { patientId: id }, optIn);
        return reply.redirect(`/patient/${encodeURIComponent(id)}?recorded=${optIn ? 'optin' : 'optout'}`, 303);
      },
    );
  });
}

function noticeOf(q: Record<string, string | undefined>) {
  if (q.granted === 'emergency' || q.granted === 'declared') {
    const until = q.until ? cuiDateTime(q.until) : '';
    return notificationBanner(
      q.granted === 'emergency' ? 'Emergency access recorded' : 'Relationship declared',
      html`<p data-testid="grant-notice">Access until ${until}. Your access is recorded.</p>`,
      { success: true },
    );
  }
  if (q.recorded === 'optout' || q.recorded === 'optin') {
    return notificationBanner(
      q.recorded === 'optout' ? 'Opt-out recorded' : 'Opt-in recorded',
      html`<p data-testid="optout-recorded">
        ${
          q.recorded === 'optout'
            ? 'Other organisations now see only this person’s demographics and their own records.'
            : 'The record is shared again with the organisations caring for this person.'
        }
      </p>`,
      { success: true },
    );
  }
  if (typeof q.refused === 'string') {
    return notificationBanner('Not recorded', html`<p data-testid="grant-refused">${q.refused}</p>`);
  }
  return undefined;
}

function foundPeople(json: string): FoundPerson[] {
  const b = JSON.parse(json) as {
    entry?: Array<{
      resource?: {
        resourceType?: string;
        id?: string;
        name?: Array<{ family?: string; given?: string[] }>;
        birthDate?: string;
        identifier?: Array<{ system?: string; value?: string }>;
        address?: Array<{ postalCode?: string }>;
      };
    }>;
  };
  const out: FoundPerson[] = [];
  for (const e of b.entry ?? []) {
    const r = e.resource;
    if (r?.resourceType !== 'Patient' || !r.id) continue;
    const p: FoundPerson = { id: r.id, family: r.name?.[0]?.family ?? '', given: r.name?.[0]?.given ?? [] };
    if (r.birthDate) p.birthDate = r.birthDate;
    const nhs = r.identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM)?.value;
    if (nhs) p.nhsNumber = nhs;
    const pc = r.address?.[0]?.postalCode;
    if (pc) p.postcode = pc;
    out.push(p);
  }
  return out;
}

/**
 * What every admin portal page shares: who is signed in (the browser session, re-checked by the records
 * service on every request), the portal's layout and navigation, the CSRF field of every form, and how a
 * refusal or an error is shown as a page. Which area a person may open is decided by the records layer
 * (AdminService.open, audited), never here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminArea } from '../../records/admin/catalogue.ts';
import type { Config } from '../../config/config.ts';
import { html, type Html, sendPage } from '../../http/html-page.ts';
import { sessionUser } from '../../http/plugins/browser-session.ts';
import type { AdminService } from '../../records/admin/admin-service.ts';
import type { AuditService } from '../../records/audit/audit-service.ts';
import type { RecordsService } from '../../records/records-service.ts';
import type { FeedService } from '../../records/feeds/feed-service.ts';
import type { UserActor } from '../../shared/actor.ts';
import { IcrError, isIcrError } from '../../shared/errors.ts';
import { ASSETS } from '../assets.ts';
import { notificationBanner } from '../components.ts';
import { viewerPage } from '../layout.ts';

export interface AdminDeps {
  config: Readonly<Config>;
  records: RecordsService;
  admin: AdminService;
  audit?: AuditService;
  feeds?: FeedService;
}

/** A signed-in request on an admin page: the actor and a CSRF token for the page's forms. */
export interface AdminContext {
  actor: UserActor;
  csrf: string;
  reply: FastifyReply;
}

/** Raised inside a page handler when there is no usable session: the page redirects to sign-in. */
class NotSignedIn extends Error {}

/** The session's user, re-checked (configured, enabled, holding the profile) by the records service. */
export async function adminActor(req: FastifyRequest, deps: AdminDeps): Promise<UserActor> {
  const user = await sessionUser(req, deps.config);
  if (!user) throw new NotSignedIn();
  const actor: UserActor = { ...user, via: { channel: 'viewer', requestId: req.id } };
  try {
    await deps.records.users.checkActor(actor);
  } catch (err) {
    if (isIcrError(err) && (err.code === 'ICR_UNAUTHENTICATED' || err.code === 'ICR_ACCESS_DENIED')) {
      await req.session.destroy();
      throw new NotSignedIn();
    }
    throw err;
  }
  return actor;
}

export interface Layout {
  title: string;
  /** The area the page belongs to (highlighted in the navigation). */
  area?: AdminArea;
  /** A success message (the result of the form just sent). */
  done?: string | undefined;
  /** The page has charts (barChart): load Chart.js and the script that draws them. */
  charts?: boolean;
  body: Html;
}

const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: 'There is a problem',
  403: 'You cannot use this page',
  404: 'Page not found',
  409: 'That has already changed',
};

/** The admin navigation's item for an area (the viewer's layout lists them). */
const NAV_HREF: Readonly<Record<AdminArea, string>> = {
  feeds: '/admin/feeds',
  mpi: '/admin/mpi',
  audit: '/admin/audit',
  users: '/admin/users',
};

/** Sends an admin page in the viewer's NHS layout (src/viewer/layout.ts), with the admin navigation. */
export function sendAdminPage(
  reply: FastifyReply,
  status: number,
  ctx: AdminContext | null,
  page: Layout,
): FastifyReply {
  const done = page.done ? notificationBanner('Success', html`<p>${page.done}</p>`, { success: true }) : html``;
  const body = html`<h1>${page.title}</h1>
    ${done} ${page.body}`;
  if (!ctx) return sendPage(reply, status, page.title, page.body);
  return viewerPage(reply, {
    title: `${page.title} – Admin`,
    user: ctx.actor,
    nav: 'admin',
    current: page.area ? NAV_HREF[page.area] : '/admin',
    status,
    body,
    styles: [ASSETS.viewer('admin.css'), ...(page.charts ? [ASSETS.uplotCss] : [])],
    scripts: page.charts ? [ASSETS.viewer('admin-charts.js')] : [],
  });
}

/** An error as a page: a refusal says so and that it was recorded; bad input says what was wrong. */
export function sendErrorPage(
  reply: FastifyReply,
  ctx: AdminContext | null,
  err: IcrError,
  area?: AdminArea,
): FastifyReply {
  const status = err.status >= 400 && err.status < 500 ? err.status : 500;
  const title = STATUS_TITLES[status] ?? 'Something went wrong';
  const recorded = status === 403 ? html`<p>This refusal has been recorded in the audit trail.</p>` : html``;
  const body = html`<div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert">
      <h2 class="nhsuk-error-summary__title" id="error-summary-title">${title}</h2>
      <div class="nhsuk-error-summary__body">
        <p>${err.message}</p>
        ${recorded}
      </div>
    </div>
    <p><a class="nhsuk-link" href="${area ? `/admin/${area}` : '/admin'}">Go back</a></p>`;
  return sendAdminPage(reply, status, ctx, { title, ...(area ? { area } : {}), body });
}

export type PageHandler<P> = (req: FastifyRequest<{ Params: P }>, ctx: AdminContext) => Promise<FastifyReply | Layout>;

/**
 * An admin page (GET) or form (POST): resolves the signed-in actor, runs the handler, and turns its
 * errors into pages (`Layout` results are sent with 200). No session: redirect to sign-in.
 */
export function page<P = Record<string, never>>(deps: AdminDeps, area: AdminArea | undefined, handler: PageHandler<P>) {
  return async (req: FastifyRequest<{ Params: P }>, reply: FastifyReply): Promise<FastifyReply> => {
    let ctx: AdminContext | null = null;
    let out: FastifyReply | Layout;
    try {
      const actor = await adminActor(req, deps);
      ctx = { actor, csrf: reply.generateCsrf(), reply };
      out = await handler(req, ctx);
    } catch (err) {
      if (err instanceof NotSignedIn) return reply.redirect('/signin', 303);
      if (isIcrError(err) && err.status < 500) return sendErrorPage(reply, ctx, err, area);
      throw err;
    }
    return isLayout(out) ? sendAdminPage(reply, 200, ctx, out) : out;
  };
}

function isLayout(out: FastifyReply | Layout): out is Layout {
  return 'title' in out && 'body' in out;
}

export function formOf(req: FastifyRequest): URLSearchParams {
  return new URLSearchParams(typeof req.body === 'string' ? req.body : '');
}

/** A required text field of a form, trimmed; ICR_BAD_REQUEST naming it when empty or too long. */
export function field(form: URLSearchParams, name: string, label: string, max = 500): string {
  const v = (form.get(name) ?? '').trim();
  if (v === '') throw new IcrError('ICR_BAD_REQUEST', `Enter ${label}`);
  if (v.length > max)
    throw new IcrError(
      'ICR_BAD_REQUEST',
      `${label[0]?.toUpperCase()}${label.slice(1)} must be ${max} characters or fewer`,
    );
  return v;
}

/** The hidden CSRF field every form carries. */
export function csrfField(ctx: AdminContext): Html {
  return html`<input type="hidden" name="_csrf" value="${ctx.csrf}" />`;
}

/** Redirect after a successful form (post/redirect/get) with a fixed message code. */
export function doneRedirect(reply: FastifyReply, to: string, done: string): FastifyReply {
  return reply.redirect(`${to}${to.includes('?') ? '&' : '?'}done=${encodeURIComponent(done)}`, 303);
}

/** The message for a `done` code (fixed texts only: the query string is never echoed). */
export function doneText(req: FastifyRequest, texts: Readonly<Record<string, string>>): string | undefined {
  const code = (req.query as { done?: unknown } | undefined)?.done;
  return typeof code === 'string' && Object.hasOwn(texts, code) ? texts[code] : undefined;
}

export type { FastifyInstance };

/**
 * Audit, for privacy officers and Caldicott guardians: search the trail (person, user, dates, outcome,
 * channel), a person's access report (in the page, and as a PDF download), the review queue of declared
 * and emergency access with its "reviewed" action, and the signals. Every read goes through the audit and
 * access use cases, which refuse anyone else and audit both the reading and the refusal.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CHANNELS } from '../../records/admin/catalogue.ts';
import { html, type Html } from '../../http/html-page.ts';
import type { AuditService } from '../../records/audit/audit-service.ts';
import { IcrError } from '../../shared/errors.ts';
import { table } from '../components.ts';
import { dateTime, nhsNumber } from './format.ts';
import { type AdminContext, type AdminDeps, csrfField, doneRedirect, doneText, formOf, page } from './page.ts';

const SIGNAL_WORDS: Readonly<Record<string, string>> = {
  'emergency-access': 'Emergency access',
  'declared-access': 'Declared relationship',
  'out-of-hours': 'Out of hours',
  'same-surname': 'Same surname as the person',
  'unusual-volume': 'Unusual volume',
};

const GRANT_ID = /^[A-Za-z0-9-]{1,64}$/;
const PAGE_SIZE = 50;

function auditService(deps: AdminDeps): AuditService {
  if (!deps.audit) throw new IcrError('ICR_NOT_IMPLEMENTED', 'The audit trail is not configured');
  return deps.audit;
}

function q(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v.trim().slice(0, 200);
  }
  return out;
}

function subNav(current: string): Html {
  const links: Array<[string, string]> = [
    ['/admin/audit', 'Search the audit trail'],
    ['/admin/audit/report', 'A person’s access report'],
    ['/admin/audit/reviews', 'Access review queue'],
    ['/admin/audit/signals', 'Signals'],
  ];
  return html`<ul class="nhsuk-list app-admin-subnav">
    ${links.map(
      ([href, text]) =>
        html`<li>
          <a class="nhsuk-link" href="${href}" ${href === current ? html` aria-current="page"` : html``}>${text}</a>
        </li>`,
    )}
  </ul>`;
}

function input(
  id: string,
  label: string,
  value: string | undefined,
  opts: { type?: string; hint?: string; width?: string } = {},
): Html {
  return html`<div class="nhsuk-form-group app-inline-field">
    <label class="nhsuk-label" for="${id}">${label}</label>
    ${opts.hint ? html`<div class="nhsuk-hint" id="${id}-hint">${opts.hint}</div>` : html``}
    <input
      class="nhsuk-input ${opts.width ?? 'nhsuk-input--width-20'}"
      id="${id}"
      name="${id}"
      type="${opts.type ?? 'text'}"
      value="${value ?? ''}"
      ${opts.hint ? html` aria-describedby="${id}-hint"` : html``}
    />
  </div>`;
}

function select(id: string, label: string, value: string | undefined, options: Array<[string, string]>): Html {
  return html`<div class="nhsuk-form-group app-inline-field">
    <label class="nhsuk-label" for="${id}">${label}</label>
    <select class="nhsuk-select" id="${id}" name="${id}">
      ${options.map(([v, t]) => html`<option value="${v}" ${v === (value ?? '') ? html` selected` : html``}>${t}</option>`)}
    </select>
  </div>`;
}

export function registerAuditPages(app: FastifyInstance, forms: FastifyInstance, deps: AdminDeps, csrf: unknown): void {
  app.get(
    '/admin/audit',
    page(deps, 'audit', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'audit');
      const f = q(req);
      const params = new URLSearchParams();
      const person = (f.person ?? '').replace(/\s+/g, '');
      if (person !== '') params.set(/^\d{10}$/.test(person) ? 'nhs-number' : 'patient', person);
      if (f.user) params.set('agent', f.user);
      if (f.from) params.append('date', `ge${f.from}`);
      if (f.to) params.append('date', `le${f.to}`);
      if (f.outcome === 'allowed' || f.outcome === 'refused')
        params.set('outcome', f.outcome === 'allowed' ? '0' : '4');
      if (f.channel) params.set('channel', f.channel);
      const offset = /^\d{1,6}$/.test(f.offset ?? '') ? Number(f.offset) : 0;
      params.set('_count', String(PAGE_SIZE));
      params.set('_offset', String(offset));
      const { entries, total } = await auditService(deps).searchEntries(ctx.actor, params);
      const rows = entries.map((e) => [
        dateTime(e.recordedAt),
        html`${e.actorName ?? e.actorId}<br /><span class="nhsuk-body-s"
            >${e.actorId}${e.role ? ` · ${e.role}` : ''}${e.orgOds ? ` · ${e.orgOds}` : ''}</span
          >`,
        e.action,
        e.outcome === 'refused'
          ? html`<strong class="nhsuk-tag nhsuk-tag--red">Refused</strong> ${e.errorCode ?? ''}`
          : html`<strong class="nhsuk-tag nhsuk-tag--green">Allowed</strong>`,
        e.channel ?? '',
        html`${e.what}${e.reason ? html`<br />Reason: ${e.reason}` : html``}`,
      ]);
      const keep = new URLSearchParams(Object.entries(f).filter(([k]) => k !== 'offset'));
      const more: Html[] = [];
      if (offset > 0) {
        keep.set('offset', String(Math.max(0, offset - PAGE_SIZE)));
        more.push(html`<a class="nhsuk-link" href="/admin/audit?${keep.toString()}">Newer entries</a> `);
      }
      if (offset + PAGE_SIZE < total) {
        keep.set('offset', String(offset + PAGE_SIZE));
        more.push(html`<a class="nhsuk-link" href="/admin/audit?${keep.toString()}">Older entries</a>`);
      }
      const body = html`${subNav('/admin/audit')}
        <form method="get" action="/admin/audit" class="app-admin-filters">
          ${input('person', 'Person', f.person, { hint: 'NHS number or record (Patient) id' })}
          ${input('user', 'User id', f.user)}
          ${input('from', 'From', f.from, { type: 'date', width: 'nhsuk-input--width-10' })}
          ${input('to', 'To', f.to, { type: 'date', width: 'nhsuk-input--width-10' })}
          ${select('outcome', 'Outcome', f.outcome, [
            ['', 'Any'],
            ['allowed', 'Allowed'],
            ['refused', 'Refused'],
          ])}
          ${select('channel', 'Channel', f.channel, [['', 'Any'], ...CHANNELS.map((c): [string, string] => [c, c])])}
          <button class="nhsuk-button" type="submit">Search</button>
        </form>
        ${table(['When', 'Who', 'Action', 'Outcome', 'Channel', 'What'], rows, {
          caption: `${String(total)} ${total === 1 ? 'entry' : 'entries'}${total > 0 ? `, ${String(offset + 1)} to ${String(offset + entries.length)} shown, newest first` : ''}`,
          responsive: true,
          className: 'app-admin-table',
          columnClasses: [undefined, undefined, undefined, undefined, undefined, 'app-admin-reason'],
        })}
        <p>${more}</p>`;
      return { title: 'Audit trail', area: 'audit', body };
    }),
  );

  app.get(
    '/admin/audit/report',
    page(deps, 'audit', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'audit');
      const f = q(req);
      const form = html`<form method="get" action="/admin/audit/report" class="app-admin-filters">
        ${input('nhs-number', 'NHS number', f['nhs-number'], { width: 'nhsuk-input--width-10' })}
        ${input('from', 'From', f.from, { type: 'date', width: 'nhsuk-input--width-10' })}
        ${input('to', 'To', f.to, { type: 'date', width: 'nhsuk-input--width-10' })}
        <button class="nhsuk-button" type="submit">Show the report</button>
      </form>`;
      if (!f['nhs-number']) {
        return {
          title: 'A person’s access report',
          area: 'audit',
          body: html`${subNav('/admin/audit/report')}
            <p>Who has viewed a person’s record, when, in which role and organisation, and the reason given.</p>
            ${form}`,
        };
      }
      const query = { nhsNumber: f['nhs-number'], ...(f.from ? { from: f.from } : {}), ...(f.to ? { to: f.to } : {}) };
      const { report } = await auditService(deps).accessReport(ctx.actor, query, 'html');
      const pdf = new URLSearchParams({ 'nhs-number': report.nhsNumber, format: 'pdf' });
      if (f.from) pdf.set('from', f.from);
      if (f.to) pdf.set('to', f.to);
      const rows = report.rows.map((r) => [r.at, r.user, r.role, r.organisation, r.what, r.reason]);
      const body = html`${subNav('/admin/audit/report')} ${form}
        <h2>
          Who has viewed the record of ${report.personName ?? 'this person'}, NHS No. ${nhsNumber(report.nhsNumber)}
        </h2>
        <p>Times are ${report.timeZone} time. Produced ${report.generatedAt}.</p>
        <p>
          <a
            class="nhsuk-button nhsuk-button--secondary"
            href="/api/audit/report?${pdf.toString()}"
            download="access-report.pdf"
            >Download as PDF</a
          >
        </p>
        ${table(['Date and time', 'Who', 'Role', 'Organisation', 'What was viewed', 'Reason given'], rows, {
          caption: `${String(report.rows.length)} ${report.rows.length === 1 ? 'access' : 'accesses'}`,
          responsive: true,
          className: 'app-admin-table',
          empty: 'Nobody has viewed the record in this period.',
        })}`;
      return { title: 'A person’s access report', area: 'audit', body };
    }),
  );

  app.get(
    '/admin/audit/reviews',
    page(deps, 'audit', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'audit');
      const pending = q(req).show !== 'all';
      const grants = await deps.records.access.reviews(ctx.actor, { pending, limit: 100, offset: 0 });
      const rows = grants.map((g) => [
        dateTime(g.createdAt),
        g.kind === 'emergency'
          ? html`<strong class="nhsuk-tag nhsuk-tag--red">Emergency</strong>`
          : html`<strong class="nhsuk-tag nhsuk-tag--blue">Declared</strong>`,
        html`${g.userId}<br /><span class="nhsuk-body-s">${g.role} at ${g.org}</span>`,
        g.patientId,
        `${g.reason}${g.text ? `: ${g.text}` : ''}`,
        dateTime(g.expiresAt),
        g.reviewedAt
          ? html`Reviewed by ${g.reviewedBy ?? ''},
            ${dateTime(g.reviewedAt)}${g.reviewNote ? html`<br />${g.reviewNote}` : html``}`
          : reviewForm(g.id, ctx),
      ]);
      const body = html`${subNav('/admin/audit/reviews')}
        <p>
          Every declared relationship and every use of emergency access is reviewed after the event. Check the reason
          against what was viewed (<a class="nhsuk-link" href="/admin/audit">the audit trail</a>), then mark it
          reviewed.
        </p>
        <p>
          ${
            pending
              ? html`<a class="nhsuk-link" href="/admin/audit/reviews?show=all">Show reviewed ones too</a>`
              : html`<a class="nhsuk-link" href="/admin/audit/reviews">Show only those waiting for review</a>`
          }
        </p>
        ${
          grants.length === 0
            ? html`<p>Nothing is waiting for review.</p>`
            : table(['When', 'Kind', 'Who', 'Record', 'Reason given', 'Expires', 'Review'], rows, {
                caption: pending
                  ? `${String(grants.length)} waiting for review`
                  : `${String(grants.length)} declared or emergency accesses`,
                responsive: true,
                className: 'app-admin-table',
                columnClasses: [undefined, undefined, undefined, undefined, 'app-admin-reason'],
              })
        }`;
      return {
        title: 'Access review queue',
        area: 'audit',
        done: doneText(req, { reviewed: 'Marked as reviewed.' }),
        body,
      };
    }),
  );

  forms.post(
    '/admin/audit/reviews/:id/reviewed',
    { preHandler: csrf as never },
    page<{ id: string }>(deps, 'audit', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'audit');
      const note = (formOf(req).get('note') ?? '').trim();
      if (note.length > 1000) throw new IcrError('ICR_BAD_REQUEST', 'The note must be 1000 characters or fewer');
      if (!GRANT_ID.test(req.params.id)) throw new IcrError('ICR_NOT_FOUND', 'There is no such access to review');
      await deps.records.access.markReviewed(ctx.actor, req.params.id, note === '' ? null : note);
      return doneRedirect(ctx.reply, '/admin/audit/reviews', 'reviewed');
    }),
  );

  app.get(
    '/admin/audit/signals',
    page(deps, 'audit', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'audit');
      const f = q(req);
      const out = await auditService(deps).signals(ctx.actor, {
        ...(f.from ? { from: f.from } : {}),
        ...(f.to ? { to: f.to } : {}),
      });
      const rows = out.signals.map((s) => [
        SIGNAL_WORDS[s.kind] ?? s.kind,
        s.userId,
        /^\d{4}-\d{2}-\d{2}$/.test(s.at) ? s.at : dateTime(s.at),
        s.patientId ?? '',
        s.detail,
      ]);
      const body = html`${subNav('/admin/audit/signals')}
        <form method="get" action="/admin/audit/signals" class="app-admin-filters">
          ${input('from', 'From', f.from, { type: 'date', width: 'nhsuk-input--width-10' })}
          ${input('to', 'To', f.to, { type: 'date', width: 'nhsuk-input--width-10' })}
          <button class="nhsuk-button" type="submit">Show signals</button>
        </form>
        <p>Accesses worth a look from ${dateTime(out.from)} to ${dateTime(out.to)}. A signal is not a finding.</p>
        ${
          out.signals.length === 0
            ? html`<p>No signals in this period.</p>`
            : table(['Signal', 'User', 'When', 'Record', 'Detail'], rows, {
                caption: `${String(out.signals.length)} signals`,
                responsive: true,
                className: 'app-admin-table',
                columnClasses: [undefined, undefined, undefined, undefined, 'app-admin-reason'],
              })
        }`;
      return { title: 'Signals', area: 'audit', body };
    }),
  );
}

function reviewForm(id: string, ctx: AdminContext): Html {
  return html`<form method="post" action="/admin/audit/reviews/${id}/reviewed">
    ${csrfField(ctx)}
    <label class="nhsuk-label" for="note-${id}">Note (optional)</label>
    <input class="nhsuk-input" id="note-${id}" name="note" type="text" maxlength="1000" />
    <button class="nhsuk-button nhsuk-button--secondary app-button--small" type="submit">Mark reviewed</button>
  </form>`;
}

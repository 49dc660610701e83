/**
 * The person pages: the summary (banner, access notices, summary cards, sources) and one page per section
 * (timeline, medicines with reconciliation, results with trends, documents, appointments, referrals, care
 * plans, social care). Each page is one records-service read (access decided and audited there), rendered on
 * the server; the banner and summary never wait for a section.
 */
import { GRANT_REASONS } from '../../access/grants.ts';
import type { Item, PatientView, SourceInfo } from '../../records/viewer/patient-view.ts';
import type { PatientSummary, SummaryCard } from '../../records/viewer/viewer-records.ts';
import type { UserActor } from '../../shared/actor.ts';
import { html, type Html } from '../../http/html-page.ts';
import { card, csrfField, insetText, table, tag, warningCallout } from '../components.ts';
import { reconcileMedicines, type Difference } from '../rules/medicine-reconciliation.ts';
import { flagText, groupResults } from '../rules/results.ts';
import { cuiDate, cuiDateTime } from '../rules/cui-format.ts';
import {
  accessNotice,
  emptyReason,
  FIXED_NOTICE,
  itemLine,
  patientBanner,
  SECTIONS,
  sectionNav,
  sourceLine,
  sourcesPanel,
} from './patient-parts.ts';

type Sources = ReadonlyMap<string, SourceInfo>;

function list(items: readonly Item[], sources: Sources, now: Date, testid: string): Html {
  return html`<ul class="nhsuk-list icr-items" data-testid="${testid}">
    ${items.map((i) => itemLine(i, sources, now))}
  </ul>`;
}

/** Where a card's "and M more" leads: the section that lists them all (cards without one say so). */
const MORE_IN: Partial<Record<SummaryCard, { slug: string; label: string }>> = {
  medicines: { slug: 'medicines', label: 'all medicines' },
  encounters: { slug: 'timeline', label: 'the timeline' },
  appointments: { slug: 'appointments', label: 'all appointments' },
};

function cardOf(
  title: string,
  items: readonly Item[],
  s: PatientSummary,
  user: UserActor,
  categories: string[],
  now: Date,
  testid: string,
  cardName: SummaryCard,
): Html {
  const sources = new Map(s.sources.map((x) => [x.key, x]));
  const more = s.more[cardName];
  const to = MORE_IN[cardName];
  const moreLine =
    more > 0
      ? html`<p class="nhsuk-body-s" data-testid="more-${testid}">
          and ${String(more)}
          more${
            to
              ? html` – <a href="/patient/${s.banner.patientId}/${to.slug}">see ${to.label}</a>`
              : html` (not shown in the summary)`
          }
        </p>`
      : html``;
  const body =
    items.length > 0
      ? html`${list(items, sources, now, testid)}${moreLine}`
      : emptyReason(s.access, user, categories, title, s.sources);
  return html`<div class="nhsuk-grid-column-one-half nhsuk-card-group__item">
    ${card(title, body, { id: `card-${testid}` })}
  </div>`;
}

/** The relationship check: when the user's role sees clinical data but no relationship is recorded. */
export function accessDialogs(
  patientId: string,
  access: PatientSummary['access'],
  user: UserActor,
  csrf: string,
  grantHours: number,
  now: Date,
): Html {
  if (access.basis !== 'not-clinical') return html``;
  const clinicalRole = !['R8008', 'R0001', 'R5105', 'icr-data-steward'].includes(user.role);
  if (!clinicalRole) return html``;
  const until = new Date(now.getTime() + grantHours * 3600_000);
  const reasons = Object.entries(GRANT_REASONS);
  const radios = (name: string, kind: string) =>
    reasons
      .filter(([code]) =>
        kind === 'emergency'
          ? ['emergency-treatment', 'patient-unconscious', 'safeguarding'].includes(code)
          : !['emergency-treatment', 'patient-unconscious'].includes(code),
      )
      .map(
        ([code, text], i) =>
          html`<div class="nhsuk-radios__item">
            <input
              class="nhsuk-radios__input"
              id="${name}-${code}"
              name="reason"
              type="radio"
              value="${code}"
              ${i === 0 ? html`required` : html``}
            />
            <label class="nhsuk-label nhsuk-radios__label" for="${name}-${code}">${text}</label>
          </div>`,
      );
  return html`<section class="icr-access" data-testid="relationship-check" aria-labelledby="relationship-heading">
    ${warningCallout(
      'No relationship recorded',
      html`<p id="relationship-heading">
        You (${user.orgOds}) have no recorded care relationship with this person, so only their demographics are shown.
        If you are caring for them, declare a relationship; in an emergency, use emergency access.
      </p>`,
    )}
    <div class="nhsuk-grid-row">
      <div class="nhsuk-grid-column-one-half">
        <form method="post" action="/patient/${patientId}/access" novalidate data-testid="declare-form">
          ${csrfField(csrf)}<input type="hidden" name="kind" value="declared" />
          <fieldset class="nhsuk-fieldset">
            <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">Declare a relationship</legend>
            <div class="nhsuk-hint">
              Access lasts ${String(grantHours)} hours (until ${cuiDateTime(until.toISOString())}) and is recorded.
            </div>
            <div class="nhsuk-radios">${radios('declared', 'declared')}</div>
          </fieldset>
          <div class="nhsuk-form-group">
            <label class="nhsuk-label" for="declared-text">Details (optional)</label>
            <textarea class="nhsuk-textarea" id="declared-text" name="text" rows="2" maxlength="500"></textarea>
          </div>
          <button class="nhsuk-button nhsuk-button--secondary" type="submit">Declare relationship</button>
        </form>
      </div>
      <div class="nhsuk-grid-column-one-half">
        <form method="post" action="/patient/${patientId}/access" novalidate data-testid="emergency-form">
          ${csrfField(csrf)}<input type="hidden" name="kind" value="emergency" />
          <fieldset class="nhsuk-fieldset">
            <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">Emergency access</legend>
            <div class="nhsuk-hint">
              Lasts ${String(grantHours)} hours (until ${cuiDateTime(until.toISOString())}). A privacy officer reviews
              every emergency access.
            </div>
            <div class="nhsuk-radios">${radios('emergency', 'emergency')}</div>
          </fieldset>
          <div class="nhsuk-form-group">
            <label class="nhsuk-label" for="emergency-text">Why you need access now (required)</label>
            <textarea
              class="nhsuk-textarea"
              id="emergency-text"
              name="text"
              rows="2"
              maxlength="500"
              required
            ></textarea>
          </div>
          <button class="nhsuk-button nhsuk-button--warning" type="submit">Use emergency access</button>
        </form>
      </div>
    </div>
  </section>`;
}

/** The opt-out form (record an opt-out, or opt back in). */
export function optOutForm(patientId: string, optedOut: boolean, csrf: string, user: UserActor): Html {
  if (['R0001', 'R5105', 'icr-data-steward'].includes(user.role)) return html``;
  return html`<details class="nhsuk-details" data-testid="optout-details">
    <summary class="nhsuk-details__summary">
      <span class="nhsuk-details__summary-text"
        >${optedOut ? 'Record that the person opts back in' : 'Record an opt-out'}</span
      >
    </summary>
    <div class="nhsuk-details__text">
      <p>
        ${
          optedOut
            ? 'The person has asked for their record to be shared again with the organisations caring for them.'
            : 'The person has asked that their records are not shared: other organisations will then see only their demographics and their own records.'
        }
      </p>
      <form method="post" action="/patient/${patientId}/optout" novalidate>
        ${csrfField(csrf)}<input type="hidden" name="in" value="${optedOut ? 'true' : 'false'}" />
        <button class="nhsuk-button nhsuk-button--secondary" type="submit">
          ${optedOut ? 'Record opt-in' : 'Record opt-out'}
        </button>
      </form>
    </div>
  </details>`;
}

export function summaryBody(
  s: PatientSummary,
  user: UserActor,
  csrf: string,
  grantHours: number,
  now: Date,
  notice?: Html,
): Html {
  const id = s.banner.patientId;
  return html`${patientBanner(s.banner, now)} ${notice ?? html``} ${accessNotice(s.access, user)}
    ${accessDialogs(id, s.access, user, csrf, grantHours, now)} ${sectionNav(id, '')}
    <h2 class="nhsuk-u-visually-hidden">Summary</h2>
    <div class="nhsuk-grid-row nhsuk-card-group" data-testid="summary">
      ${cardOf('Allergies', s.allergies, s, user, ['allergies'], now, 'allergies', 'allergies')}
      ${cardOf('Current medicines', s.medicines, s, user, ['medications'], now, 'medicines', 'medicines')}
      ${cardOf('Problems', s.problems, s, user, ['problems'], now, 'problems', 'problems')}
      ${cardOf('Alerts and hazards', s.alerts, s, user, ['alerts'], now, 'alerts', 'alerts')}
      ${cardOf('Recent encounters', s.encounters, s, user, ['encounters'], now, 'encounters', 'encounters')}
      ${cardOf('Upcoming appointments', s.appointments, s, user, ['appointments'], now, 'appointments', 'appointments')}
      ${cardOf('Care network', s.careNetwork, s, user, ['care-network'], now, 'care-network', 'careNetwork')}
    </div>
    ${sourcesPanel(s.sources, now)} ${optOutForm(id, s.access.ownOrgOnly, csrf, user)} ${FIXED_NOTICE}`;
}

const DIFFERENCE_TEXT: Record<Difference, string> = {
  'dose-differs': 'Dose differs between sources',
  'stopped-in-one-source': 'Stopped in one source, active in another',
  'one-source-only': 'Recorded by one source only',
};

function medicinesSection(v: PatientView, sources: Sources, now: Date): Html {
  const groups = reconcileMedicines(v.medicines);
  return html`${groups.map((g) => {
    const flagged = g.differences.filter((d) => d !== 'one-source-only');
    return html`<div class="nhsuk-card${flagged.length > 0 ? ' icr-card--attention' : ''}" data-testid="medicine-group">
      <div class="nhsuk-card__content">
        <h2 class="nhsuk-card__heading nhsuk-heading-s">
          ${g.name} ${g.active ? tag('Active', 'green') : tag('Not active', 'grey')}
          ${g.bySource.length > 1 ? tag(`${String(g.bySource.length)} sources`, 'blue') : html``}
        </h2>
        ${
          flagged.length > 0
            ? html`<ul class="icr-differences" data-testid="medicine-differences">
                ${flagged.map((d) => html`<li>${tag(DIFFERENCE_TEXT[d], 'orange')}</li>`)}
              </ul>`
            : html``
        }
        ${table(
          ['Source', 'Medicine', 'Dose', 'Status', 'Date'],
          g.bySource.map((m) => [
            sourceLine(m.source, sources, now),
            m.text,
            m.dose ?? 'Not recorded',
            m.status ?? '',
            cuiDate(m.date),
          ]),
          { caption: `${g.name}: what each source records`, captionHidden: true, responsive: true },
        )}
      </div>
    </div>`;
  })}`;
}

function resultsSection(v: PatientView, sources: Sources, now: Date): Html {
  const series = groupResults(v.results);
  return html`${series.map((s, n) => {
    const range =
      s.low !== undefined || s.high !== undefined
        ? `Reference range ${s.low === undefined ? '' : String(s.low)}–${s.high === undefined ? '' : String(s.high)}${s.unit ? ` ${s.unit}` : ''}`
        : 'No reference range';
    const chartData = JSON.stringify({
      name: s.name,
      unit: s.unit ?? '',
      low: s.low ?? null,
      high: s.high ?? null,
      points: s.points.filter((p) => p.value !== undefined && p.date).map((p) => [Date.parse(p.date ?? ''), p.value]),
    });
    return html`<div class="nhsuk-card" data-testid="result-series">
      <div class="nhsuk-card__content">
        <h2 class="nhsuk-card__heading nhsuk-heading-s">
          ${s.name} ${s.abnormal ? tag(flagText(s.latest.flag) ?? 'Abnormal', 'red') : html``}
        </h2>
        <p class="nhsuk-body-s">${range}</p>
        ${
          s.trend
            ? html`<div
                class="icr-chart"
                id="chart-${String(n)}"
                data-testid="trend-chart"
                data-series="${chartData}"
                role="img"
                aria-label="Trend of ${s.name}: ${String(s.points.length)} results; values are in the table below"
              ></div>`
            : html``
        }
        ${table(
          ['Date', 'Value', 'Flag', 'Source'],
          [...s.points]
            .reverse()
            .map((p) => [
              cuiDateTime(p.date),
              p.value !== undefined ? `${String(p.value)}${p.unit ? ` ${p.unit}` : ''}` : (p.valueText ?? ''),
              flagText(p.flag) ? tag(flagText(p.flag) ?? '', 'red') : '',
              sourceLine(p.source, sources, now),
            ]),
          { caption: `${s.name} results`, captionHidden: true, responsive: true },
        )}
      </div>
    </div>`;
  })}`;
}

export interface TimelineFilter {
  from?: string;
  to?: string;
  source?: string;
  type?: string;
}

const TIMELINE_TYPES: Record<string, string> = {
  Encounter: 'Admissions, attendances and visits',
  Appointment: 'Appointments',
  Immunization: 'Immunisations',
};

function timelineSection(v: PatientView, sources: Sources, now: Date, f: TimelineFilter, patientId: string): Html {
  const all = [...v.encounters, ...v.appointments, ...v.immunisations].sort((a, b) =>
    (b.date ?? '').localeCompare(a.date ?? ''),
  );
  const shown = all.filter(
    (i) =>
      (!f.from || (i.date ?? '') >= f.from) &&
      (!f.to || (i.date ?? '').slice(0, 10) <= f.to) &&
      (!f.source || i.source === f.source) &&
      (!f.type || i.type === f.type),
  );
  const opt = (value: string, label: string, current: string | undefined) =>
    html`<option value="${value}" ${value === (current ?? '') ? html`selected` : html``}>${label}</option>`;
  return html`<form
      method="get"
      action="/patient/${patientId}/timeline"
      class="icr-filter"
      data-testid="timeline-filter"
    >
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="tl-from">From</label>
        <input class="nhsuk-input nhsuk-input--width-10" id="tl-from" name="from" type="date" value="${f.from ?? ''}" />
      </div>
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="tl-to">To</label>
        <input class="nhsuk-input nhsuk-input--width-10" id="tl-to" name="to" type="date" value="${f.to ?? ''}" />
      </div>
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="tl-source">Organisation</label>
        <select class="nhsuk-select" id="tl-source" name="source">
          ${opt('', 'All', f.source)} ${v.sources.map((s) => opt(s.key, s.orgName, f.source))}
        </select>
      </div>
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="tl-type">Type</label>
        <select class="nhsuk-select" id="tl-type" name="type">
          ${opt('', 'All', f.type)} ${Object.entries(TIMELINE_TYPES).map(([k, l]) => opt(k, l, f.type))}
        </select>
      </div>
      <button class="nhsuk-button nhsuk-button--secondary" type="submit">Filter</button>
    </form>
    <p class="nhsuk-body-s" data-testid="timeline-count">${String(shown.length)} of ${String(all.length)} events</p>
    ${
      shown.length > 0
        ? table(
            ['Date', 'Event', 'Detail', 'Source'],
            shown.map((i) => [cuiDateTime(i.date), i.text, i.detail ?? '', sourceLine(i.source, sources, now)]),
            { caption: 'Timeline', captionHidden: true, responsive: true, id: 'timeline' },
          )
        : all.length > 0
          ? insetText(html`<p data-testid="empty-reason">No events match the filter.</p>`)
          : html``
    }`;
}

function documentsSection(v: PatientView, sources: Sources, now: Date, patientId: string): Html {
  return html`${v.documents.map(
    (d) =>
      html`<div class="nhsuk-card" data-testid="document">
        <div class="nhsuk-card__content">
          <h2 class="nhsuk-card__heading nhsuk-heading-s">${d.text}</h2>
          <p class="nhsuk-body-s">${cuiDateTime(d.date)} ${d.detail ? html`· ${d.detail}` : html``}</p>
          ${d.body ? html`<div class="icr-document-text">${d.body}</div>` : html``}
          ${
            d.hasPdf
              ? html`<iframe
                  class="icr-document-pdf"
                  title="${d.text} (PDF)"
                  src="/patient/${patientId}/documents/${d.id}/pdf"
                ></iframe>`
              : html``
          }
          <p>${sourceLine(d.source, sources, now)}</p>
        </div>
      </div>`,
  )}`;
}

export function sectionBody(
  v: PatientView,
  slug: string,
  user: UserActor,
  csrf: string,
  grantHours: number,
  now: Date,
  filter: TimelineFilter = {},
): Html {
  const section = SECTIONS.find((s) => s.slug === slug) ?? SECTIONS[0];
  if (!section) return html``;
  const sources: Sources = new Map(v.sources.map((x) => [x.key, x]));
  const id = v.banner.patientId;
  const items: Record<string, readonly unknown[]> = {
    timeline: [...v.encounters, ...v.appointments, ...v.immunisations],
    medicines: v.medicines,
    results: v.results,
    documents: v.documents,
    appointments: v.appointments,
    referrals: v.referrals,
    'care-plans': v.carePlans,
    'social-care': v.socialCare,
  };
  const has = (items[slug] ?? []).length > 0;
  let content: Html;
  if (!has) content = emptyReason(v.access, user, section.categories, section.label, v.sources);
  else if (slug === 'medicines') content = medicinesSection(v, sources, now);
  else if (slug === 'results') content = resultsSection(v, sources, now);
  else if (slug === 'documents') content = documentsSection(v, sources, now, id);
  else if (slug === 'appointments') content = list(v.appointments, sources, now, 'appointments');
  else if (slug === 'referrals') content = list(v.referrals, sources, now, 'referrals');
  else if (slug === 'care-plans') content = list(v.carePlans, sources, now, 'care-plans');
  else if (slug === 'social-care') content = list(v.socialCare, sources, now, 'social-care');
  else content = html``;
  if (slug === 'timeline' && has) content = timelineSection(v, sources, now, filter, id);
  return html`${patientBanner(v.banner, now)} ${accessNotice(v.access, user)}
    ${accessDialogs(id, v.access, user, csrf, grantHours, now)} ${sectionNav(id, slug)}
    <h2 class="nhsuk-heading-m">${section.label}</h2>
    ${content} ${sourcesPanel(v.sources, now)} ${FIXED_NOTICE}`;
}

/**
 * Parts of the person pages: the patient banner (NHS CUI), the access notices, the source line of each item,
 * the sources panel, the section navigation and the "why is this empty" messages. Pure rendering.
 */
import type { AccessInfo, Banner, Item, SourceInfo } from '../../records/viewer/patient-view.ts';
import { ROLES, isRole } from '../../access/roles.ts';
import { html, type Html } from '../../http/html-page.ts';
import { insetText, tag, warningCallout } from '../components.ts';
import { cuiAge, cuiDate, cuiFreshness, cuiGender, cuiName, cuiNhsNumber } from '../rules/cui-format.ts';
import type { UserActor } from '../../shared/actor.ts';

export interface Section {
  slug: string;
  label: string;
  /** The access categories the section shows. */
  categories: string[];
}

export const SECTIONS: readonly Section[] = [
  { slug: '', label: 'Summary', categories: [] },
  { slug: 'timeline', label: 'Timeline', categories: ['encounters', 'appointments', 'immunisations'] },
  { slug: 'medicines', label: 'Medicines', categories: ['medications'] },
  { slug: 'results', label: 'Results', categories: ['results'] },
  { slug: 'documents', label: 'Documents', categories: ['documents'] },
  { slug: 'appointments', label: 'Appointments', categories: ['appointments'] },
  { slug: 'referrals', label: 'Referrals', categories: ['referrals'] },
  { slug: 'care-plans', label: 'Care plans', categories: ['care-plans'] },
  { slug: 'social-care', label: 'Social care', categories: ['social-care', 'care-plans', 'care-network'] },
];

export function patientBanner(b: Banner, now: Date): Html {
  const age = cuiAge(b.birthDate, now, typeof b.deceased === 'string' ? b.deceased : undefined);
  const safeguarding = b.flags.filter((f) => f.safeguarding);
  const other = b.flags.filter((f) => !f.safeguarding);
  const address =
    b.address === null
      ? html`<span data-testid="address-withheld">Address and contact details withheld (restricted record)</span>`
      : b.address
        ? html`${b.address}${b.phone ? html` · ${b.phone}` : html``}`
        : html`No address recorded`;
  return html`<section class="icr-banner" aria-label="Patient banner" data-testid="patient-banner">
      <h1 class="icr-banner__name nhsuk-heading-l" data-testid="patient-name">
        ${cuiName(b.family, b.given, b.prefix)}
      </h1>
      <dl class="icr-banner__facts">
        <div>
          <dt>Born</dt>
          <dd data-testid="born">${cuiDate(b.birthDate) || 'Not recorded'}${age ? ` (${age})` : ''}</dd>
        </div>
        <div>
          <dt>Gender</dt>
          <dd>${cuiGender(b.gender)}</dd>
        </div>
        <div>
          <dt>NHS No.</dt>
          <dd data-testid="nhs-number">${b.nhsNumber ? cuiNhsNumber(b.nhsNumber) : 'Not recorded'}</dd>
        </div>
        ${
          b.deceased !== undefined
            ? html`<div>
                <dt>Died</dt>
                <dd>${typeof b.deceased === 'string' ? cuiDate(b.deceased) : 'Yes'}</dd>
              </div>`
            : html``
        }
        <div class="icr-banner__address">
          <dt>Address</dt>
          <dd>${address}</dd>
        </div>
      </dl>
      ${
        safeguarding.length + other.length > 0
          ? html`<ul class="icr-banner__flags" aria-label="Alerts" data-testid="banner-flags">
              ${safeguarding.map((f) => html`<li>${tag('Safeguarding', 'red')} ${f.text}</li>`)}
              ${other.map((f) => html`<li>${tag('Alert', 'orange')} ${f.text}</li>`)}
            </ul>`
          : html``
      }
    </section>
    ${
      b.identityConflicts.length > 0
        ? warningCallout(
            'Linked records disagree about identity',
            html`<p>
                Check the person's identity before acting on this record. The master patient index linked records that
                differ:
              </p>
              <ul data-testid="identity-conflicts">
                ${b.identityConflicts.map((c) => html`<li>${c}</li>`)}
              </ul>`,
          )
        : html``
    }`;
}

export function roleLabel(role: string): string {
  return isRole(role) ? ROLES[role] : role;
}

/** The notice of why the user sees what they see (opted out, emergency access, declared relationship). */
export function accessNotice(a: AccessInfo, user: UserActor): Html {
  if (a.ownOrgOnly) {
    return warningCallout(
      'This person has opted out of sharing',
      html`<p data-testid="optout-notice">
        Only records from your own organisation (${user.orgOds}) are shown. Other organisations' records are not shared.
      </p>`,
    );
  }
  if (a.basis === 'emergency') {
    return warningCallout(
      'Emergency access',
      html`<p data-testid="emergency-notice">
        You are viewing this record under emergency access${a.reason ? html` (${a.reason})` : html``}. Your access is
        recorded and will be reviewed by the privacy officer.
      </p>`,
    );
  }
  if (a.basis === 'declared') {
    return insetText(
      html`<p>
        You declared a relationship with this person${a.reason ? html` (${a.reason})` : html``}. Access is time-limited
        and recorded.
      </p>`,
    );
  }
  return html``;
}

/** Why a section (of `categories`) is empty, for this user and record. */
export function emptyReason(
  a: AccessInfo,
  user: UserActor,
  categories: readonly string[],
  label: string,
  sources: readonly SourceInfo[],
): Html {
  const seen = categories.filter((c) => a.categories.includes(c));
  if (categories.length > 0 && seen.length === 0) {
    if (a.basis === 'not-clinical' && a.categories.length <= 2 && !isAdminRole(user.role)) {
      return insetText(
        html`<p data-testid="empty-reason">
          No ${label.toLowerCase()} shown: you have no recorded relationship with this person yet.
        </p>`,
      );
    }
    return insetText(
      html`<p data-testid="empty-reason">Your role (${roleLabel(user.role)}) does not see ${label.toLowerCase()}.</p>`,
    );
  }
  if (a.restricted) {
    return insetText(
      html`<p data-testid="empty-reason">This is a restricted record: only limited information is shared.</p>`,
    );
  }
  if (a.ownOrgOnly) {
    return insetText(
      html`<p data-testid="empty-reason">
        Nothing from your organisation: this person has opted out, so other organisations' ${label.toLowerCase()} are
        not shared.
      </p>`,
    );
  }
  const notLive = sources.filter((s) => s.status !== null && s.status !== 'live');
  return insetText(
    html`<p data-testid="empty-reason">
      Nothing received: no source has sent ${label.toLowerCase()} for this person.
      ${
        notLive.length > 0
          ? html`Not live yet: ${notLive.map((s) => `${s.orgName} (${s.status ?? ''})`).join(', ')}.`
          : html``
      }
    </p>`,
  );
}

function isAdminRole(role: string): boolean {
  return role === 'R8008';
}

/** "Kettering General Hospital · Demo PAS · updated 10:32" for one item. */
export function sourceLine(key: string, sources: ReadonlyMap<string, SourceInfo>, now: Date): Html {
  const s = sources.get(key);
  if (!s) return html`<span class="icr-source">Source not known</span>`;
  return html`<span class="icr-source" data-testid="source">
    ${s.orgName}${s.system ? ` · ${s.system}` : ''} · updated ${cuiFreshness(s.updatedAt, now)}
  </span>`;
}

export function sourcesPanel(sources: readonly SourceInfo[], now: Date): Html {
  if (sources.length === 0) return html``;
  return html`<details class="nhsuk-details" data-testid="sources">
    <summary class="nhsuk-details__summary">
      <span class="nhsuk-details__summary-text">Where this record comes from (${sources.length} sources)</span>
    </summary>
    <div class="nhsuk-details__text">
      <ul class="nhsuk-list">
        ${sources.map(
          (s) =>
            html`<li>
              <strong>${s.orgName}</strong>${s.system ? ` · ${s.system}` : ''} · updated
              ${cuiFreshness(s.updatedAt, now)} · ${String(s.items)} items
              ${s.status && s.status !== 'live' ? tag(`${s.status} — not live yet`, 'grey') : html``}
            </li>`,
        )}
      </ul>
    </div>
  </details>`;
}

export function sectionNav(patientId: string, current: string): Html {
  return html`<nav class="icr-sections" aria-label="Record sections">
    <ul>
      ${SECTIONS.map((s) => {
        const href = `/patient/${patientId}${s.slug ? `/${s.slug}` : ''}`;
        return html`<li>
          <a href="${href}" ${s.slug === current ? html`aria-current="page"` : html``}>${s.label}</a>
        </li>`;
      })}
    </ul>
  </nav>`;
}

/** Statuses not worth a tag (the usual state of a shown item). */
const ROUTINE_STATUS = new Set(['active', 'final', 'finished', 'completed', 'current', 'booked']);

/** One item as a list entry: text, date, detail, status and source. */
export function itemLine(i: Item, sources: ReadonlyMap<string, SourceInfo>, now: Date): Html {
  return html`<li class="icr-item">
    <span class="icr-item__text">${i.text}</span>
    ${i.date ? html`<span class="icr-item__date">${cuiDate(i.date)}</span>` : html``}
    ${i.detail ? html`<span class="icr-item__detail">${i.detail}</span>` : html``}
    ${i.status && !ROUTINE_STATUS.has(i.status) ? tag(i.status, 'grey') : html``}
    <br />${sourceLine(i.source, sources, now)}
  </li>`;
}

export const FIXED_NOTICE = html`<p class="icr-fixed-notice nhsuk-body-s" data-testid="sensitive-notice">
  Some sensitive information is never shared in this record (for example sexual health, IVF and gender identity
  records). Ask the person or their GP if it matters for their care.
</p>`;

/**
 * Small NHS design system components as escaped HTML fragments (markup of nhsuk-frontend 10): summary list,
 * table, card, tag, warning callout, inset text, notification banner. Pages compose these; none does I/O.
 */
import { html, type Html } from '../http/html-page.ts';

export type Content = string | Html;

const asHtml = (c: Content): Html => (typeof c === 'string' ? html`${c}` : c);

/** `<dl class="nhsuk-summary-list">`: key/value rows. */
export function summaryList(rows: Array<{ key: Content; value: Content }>, opts: { noBorder?: boolean } = {}): Html {
  return html`<dl class="nhsuk-summary-list${opts.noBorder ? ' nhsuk-summary-list--no-border' : ''}">
    ${rows.map(
      (r) =>
        html`<div class="nhsuk-summary-list__row">
          <dt class="nhsuk-summary-list__key">${asHtml(r.key)}</dt>
          <dd class="nhsuk-summary-list__value">${asHtml(r.value)}</dd>
        </div>`,
    )}
  </dl>`;
}

export interface TableOptions {
  caption?: string;
  /** Visually hidden caption (still read by screen readers). */
  captionHidden?: boolean;
  /**
   * Responsive table (nhsuk-table-responsive): on narrow screens each row stacks, each cell labelled with its
   * heading, so the page never scrolls sideways.
   */
  responsive?: boolean;
  id?: string;
  /** Extra classes of the table element. */
  className?: string;
  /** Per column, an extra class of its cells (e.g. `app-num`, `app-admin-reason`). */
  columnClasses?: ReadonlyArray<string | undefined>;
  /** Shown in one full-width row when there are no rows. */
  empty?: Content;
}

/** `<table class="nhsuk-table">` with a header row; each row is one array of cells. */
export function table(head: Content[], rows: Content[][], opts: TableOptions = {}): Html {
  const caption =
    opts.caption === undefined
      ? html``
      : html`<caption class="nhsuk-table__caption${opts.captionHidden ? ' nhsuk-u-visually-hidden' : ''}">
          ${opts.caption}
        </caption>`;
  const id = opts.id === undefined ? html`` : html` id="${opts.id}"`;
  const extra = opts.className ? ` ${opts.className}` : '';
  const cls = (i: number) => {
    const c = opts.columnClasses?.[i];
    return c ? ` ${c}` : '';
  };
  const emptyRow =
    rows.length === 0 && opts.empty !== undefined
      ? html`<tr class="nhsuk-table__row">
          <td class="nhsuk-table__cell" colspan="${String(head.length)}">${asHtml(opts.empty)}</td>
        </tr>`
      : html``;
  if (opts.responsive) {
    return html`<table class="nhsuk-table-responsive${extra}" ${id}>
      ${caption}
      <thead class="nhsuk-table__head" role="rowgroup">
        <tr role="row">
          ${head.map((h, i) => {
            const c = opts.columnClasses?.[i];
            return html`<th role="columnheader" scope="col" ${c ? html`class="${c}"` : html``}>${asHtml(h)}</th>`;
          })}
        </tr>
      </thead>
      <tbody class="nhsuk-table__body">
        ${rows.map(
          (r) =>
            html`<tr role="row" class="nhsuk-table__row">
              ${r.map(
                (c, i) =>
                  html`<td role="cell" class="nhsuk-table__cell${cls(i)}">
                    <span class="nhsuk-table-responsive__heading" aria-hidden="true">${asHtml(head[i] ?? '')} </span
                    >${asHtml(c)}
                  </td>`,
              )}
            </tr>`,
        )}
        ${emptyRow}
      </tbody>
    </table>`;
  }
  return html`<table class="nhsuk-table${extra}" ${id}>
    ${caption}
    <thead class="nhsuk-table__head">
      <tr class="nhsuk-table__row">
        ${head.map((h, i) => html`<th scope="col" class="nhsuk-table__header${cls(i)}">${asHtml(h)}</th>`)}
      </tr>
    </thead>
    <tbody class="nhsuk-table__body">
      ${rows.map(
        (r) =>
          html`<tr class="nhsuk-table__row">
            ${r.map((c, i) => html`<td class="nhsuk-table__cell${cls(i)}">${asHtml(c)}</td>`)}
          </tr>`,
      )}
      ${emptyRow}
    </tbody>
  </table>`;
}

/** `nhsuk-card`: a heading (level 2 by default) and content; `feature` for a card with a coloured heading. */
export function card(
  heading: string,
  content: Content,
  opts: { level?: 2 | 3; id?: string; feature?: boolean } = {},
): Html {
  const h = opts.level === 3 ? 'h3' : 'h2';
  const id = opts.id === undefined ? html`` : html` id="${opts.id}"`;
  return html`<div class="nhsuk-card${opts.feature ? ' nhsuk-card--feature' : ''}" ${id}>
    <div class="nhsuk-card__content${opts.feature ? ' nhsuk-card__content--feature' : ''}">
      ${{ html: `<${h} class="nhsuk-card__heading nhsuk-heading-m${opts.feature ? ' nhsuk-card__heading--feature' : ''}">` }}${heading}${{
        html: `</${h}>`,
      }}
      ${asHtml(content)}
    </div>
  </div>`;
}

export type TagColour =
  'white' | 'grey' | 'green' | 'aqua-green' | 'blue' | 'purple' | 'pink' | 'red' | 'orange' | 'yellow';

/** `nhsuk-tag`, optionally coloured. */
export function tag(text: string, colour?: TagColour): Html {
  return html`<strong class="nhsuk-tag${colour ? ` nhsuk-tag--${colour}` : ''}">${text}</strong>`;
}

/** `nhsuk-warning-callout`: a heading and content that the reader must not miss. */
export function warningCallout(heading: string, content: Content, opts: { id?: string } = {}): Html {
  const id = opts.id === undefined ? html`` : html` id="${opts.id}"`;
  return html`<div class="nhsuk-warning-callout" ${id}>
    <h3 class="nhsuk-warning-callout__label">
      <span role="text"><span class="nhsuk-u-visually-hidden">Important: </span>${heading}</span>
    </h3>
    ${asHtml(content)}
  </div>`;
}

/** `nhsuk-inset-text`: context the reader should notice. */
export function insetText(content: Content): Html {
  return html`<div class="nhsuk-inset-text">
    <span class="nhsuk-u-visually-hidden">Information: </span>
    ${asHtml(content)}
  </div>`;
}

/** `nhsuk-notification-banner` (success turns green and takes the alert role). */
export function notificationBanner(title: string, content: Content, opts: { success?: boolean } = {}): Html {
  return html`<div
    class="nhsuk-notification-banner${opts.success ? ' nhsuk-notification-banner--success' : ''}"
    role="${opts.success ? 'alert' : 'region'}"
    aria-labelledby="nhsuk-notification-banner-title"
    data-module="nhsuk-notification-banner"
  >
    <div class="nhsuk-notification-banner__header">
      <h2 class="nhsuk-notification-banner__title" id="nhsuk-notification-banner-title">${title}</h2>
    </div>
    <div class="nhsuk-notification-banner__content">${asHtml(content)}</div>
  </div>`;
}

/** A hidden CSRF field for a POST form (the value from `reply.generateCsrf()`). */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}" />`;
}

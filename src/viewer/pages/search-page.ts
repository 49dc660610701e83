/**
 * Finding a person: one NHS number box (formatted 3 3 4 as typed, Modulus 11 checked in the page by a small
 * script and again on the server), or family name + date of birth + postcode. Pure rendering.
 */
import { html, type Html } from '../../http/html-page.ts';
import { cuiDate, cuiName, cuiNhsNumber } from '../rules/cui-format.ts';
import { table } from '../components.ts';

export interface SearchForm {
  nhs?: string;
  family?: string;
  dob?: string;
  postcode?: string;
}

export interface FoundPerson {
  id: string;
  family: string;
  given: string[];
  birthDate?: string;
  nhsNumber?: string;
  postcode?: string;
}

export function searchBody(
  form: SearchForm,
  errors: Array<{ field: string; text: string }>,
  found?: FoundPerson[],
): Html {
  const err = (field: string) => errors.find((e) => e.field === field);
  const group = (field: string, inner: Html) =>
    html`<div class="nhsuk-form-group${err(field) ? ' nhsuk-form-group--error' : ''}">${inner}</div>`;
  const message = (field: string) => {
    const e = err(field);
    return e
      ? html`<span class="nhsuk-error-message" id="${field}-error"
          ><span class="nhsuk-u-visually-hidden">Error:</span> ${e.text}</span
        >`
      : html``;
  };
  const summary =
    errors.length > 0
      ? html`<div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1">
          <h2 class="nhsuk-error-summary__title" id="error-summary-title">There is a problem</h2>
          <div class="nhsuk-error-summary__body">
            <ul class="nhsuk-list nhsuk-error-summary__list">
              ${errors.map((e) => html`<li><a href="#${e.field}">${e.text}</a></li>`)}
            </ul>
          </div>
        </div>`
      : html``;
  return html`<h1>Find a person</h1>
    ${summary}
    <div class="nhsuk-grid-row">
      <div class="nhsuk-grid-column-one-half">
        <form method="get" action="/search" novalidate data-testid="nhs-search">
          ${group(
            'nhs',
            html`<label class="nhsuk-label nhsuk-label--s" for="nhs">NHS number</label>
              <div class="nhsuk-hint" id="nhs-hint">10 digits, for example 943 476 5919</div>
              ${message('nhs')}
              <input
                class="nhsuk-input nhsuk-input--width-10${err('nhs') ? ' nhsuk-input--error' : ''}"
                id="nhs"
                name="nhs"
                type="text"
                inputmode="numeric"
                autocomplete="off"
                spellcheck="false"
                maxlength="12"
                aria-describedby="nhs-hint${err('nhs') ? ' nhs-error' : ''}"
                data-nhs-number
                value="${form.nhs ?? ''}"
              />`,
          )}
          <button class="nhsuk-button" type="submit">Search by NHS number</button>
        </form>
      </div>
      <div class="nhsuk-grid-column-one-half">
        <form method="get" action="/search" novalidate data-testid="demographic-search">
          <fieldset class="nhsuk-fieldset">
            <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s">
              Or by name, date of birth and postcode
            </legend>
            ${group(
              'family',
              html`<label class="nhsuk-label" for="family">Family name</label>${message('family')}
                <input
                  class="nhsuk-input"
                  id="family"
                  name="family"
                  type="text"
                  autocomplete="off"
                  value="${form.family ?? ''}"
                />`,
            )}
            ${group(
              'dob',
              html`<label class="nhsuk-label" for="dob">Date of birth</label>
                <div class="nhsuk-hint" id="dob-hint">For example 1945-07-14</div>
                ${message('dob')}
                <input
                  class="nhsuk-input nhsuk-input--width-10"
                  id="dob"
                  name="dob"
                  type="date"
                  aria-describedby="dob-hint"
                  value="${form.dob ?? ''}"
                />`,
            )}
            ${group(
              'postcode',
              html`<label class="nhsuk-label" for="postcode">Postcode (optional)</label>
                <input
                  class="nhsuk-input nhsuk-input--width-10"
                  id="postcode"
                  name="postcode"
                  type="text"
                  autocomplete="off"
                  value="${form.postcode ?? ''}"
                />`,
            )}
          </fieldset>
          <button class="nhsuk-button nhsuk-button--secondary" type="submit">Search by details</button>
        </form>
      </div>
    </div>
    ${
      found === undefined
        ? html``
        : found.length === 0
          ? html`<div class="nhsuk-inset-text" data-testid="no-results">
              <p>No person matches. Check the details, or search by NHS number.</p>
            </div>`
          : table(
              ['Name', 'Born', 'NHS No.', 'Postcode'],
              found.map((p) => [
                html`<a href="/patient/${p.id}">${cuiName(p.family, p.given)}</a>`,
                cuiDate(p.birthDate),
                p.nhsNumber ? cuiNhsNumber(p.nhsNumber) : '',
                p.postcode ?? '',
              ]),
              { caption: `${String(found.length)} people found`, id: 'search-results', responsive: true },
            )
    }`;
}

/**
 * The MPI review queue, for data stewards: the pairs the matcher was unsure about, each shown side by side
 * with every compared field aligned, the differences highlighted, the comparison vector's per-field
 * weights and the total against the thresholds; link them, or record that they are not the same person,
 * with a reason. The records service decides (data steward role) and audits every step.
 */
import type { FastifyInstance } from 'fastify';
import { html, type Html } from '../../http/html-page.ts';
import type { ReviewItem } from '../../records/mpi/mpi-service.ts';
import { IcrError } from '../../shared/errors.ts';
import { table } from '../components.ts';
import { dateTime, signed } from './format.ts';
import { compareRows, scoreBand, weightSum } from './mpi-compare.ts';
import { type AdminDeps, doneRedirect, doneText, field, formOf, page } from './page.ts';

const DONE = {
  link: 'Linked: the two records are now one person.',
  'not-same': 'Recorded as not the same person: the matcher will not suggest this pair again.',
} as const;

const REVIEW_ID = /^[A-Za-z0-9-]{1,64}$/;

function reviewId(id: string): string {
  if (!REVIEW_ID.test(id)) throw new IcrError('ICR_NOT_FOUND', 'There is no such review');
  return id;
}

function nameOf(item: ReviewItem['left']): string {
  const r = item.record;
  if (!r) return item.patientId;
  return [r.family, r.given].filter(Boolean).join(', ') || item.patientId;
}

const BAND_TEXT = {
  link: 'at or above the link threshold (held back for review by a safety rule)',
  review: 'between the review and link thresholds',
  below: 'below the review threshold',
} as const;

export function registerMpiPages(app: FastifyInstance, forms: FastifyInstance, deps: AdminDeps, csrf: unknown): void {
  app.get(
    '/admin/mpi',
    page(deps, 'mpi', async (_req, ctx) => {
      await deps.admin.open(ctx.actor, 'mpi');
      const items = await deps.records.mpiReviews(ctx.actor, { status: 'open', limit: 100, offset: 0 });
      const rows = items.map((i) => [
        html`<a class="nhsuk-link" href="/admin/mpi/${i.review.id}">${nameOf(i.left)}</a>`,
        nameOf(i.right),
        signed(i.review.score),
        i.review.reasons.join(', '),
        dateTime(i.review.createdAt),
      ]);
      const body =
        items.length === 0
          ? html`<p>No pair is waiting for review.</p>`
          : html`<p>
                The matcher found these pairs of records alike but not alike enough to link on its own. Open one to
                compare the records field by field.
              </p>
              ${table(['Record', 'Possible same person', 'Score', 'Why it needs review', 'Found'], rows, {
                caption: `${String(items.length)} waiting for review`,
                responsive: true,
                className: 'app-admin-table',
                columnClasses: [undefined, undefined, 'app-num'],
              })}`;
      return { title: 'Possible duplicate people', area: 'mpi', body };
    }),
  );

  app.get(
    '/admin/mpi/:id',
    page<{ id: string }>(deps, 'mpi', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'mpi');
      const item = await deps.records.mpiReview(ctx.actor, reviewId(req.params.id));
      return {
        title: 'Are these the same person?',
        area: 'mpi',
        done: doneText(req, DONE),
        body: reviewBody(item, ctx.csrf),
      };
    }),
  );

  forms.post(
    '/admin/mpi/:id/decision',
    { preHandler: csrf as never },
    page<{ id: string }>(deps, 'mpi', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'mpi');
      const form = formOf(req);
      const decision = form.get('decision');
      if (decision !== 'link' && decision !== 'not-same') {
        throw new IcrError('ICR_BAD_REQUEST', 'Choose whether the records are the same person or not');
      }
      const reason = field(form, 'reason', 'the reason for your decision');
      const id = reviewId(req.params.id);
      await deps.records.mpiDecide(ctx.actor, id, decision, reason);
      return doneRedirect(ctx.reply, `/admin/mpi/${encodeURIComponent(id)}`, decision);
    }),
  );
}

function reviewBody(item: ReviewItem, csrf: string): Html {
  const { review, left, right, rules } = item;
  const rows = compareRows(left.record, right.record, review.vector);
  const band = scoreBand(review.score, rules);
  const tableRows = rows.map(
    (r) =>
      html`<tr class="nhsuk-table__row app-compare--${r.agreement}">
        <th scope="row" class="nhsuk-table__cell">${r.label}</th>
        <td class="nhsuk-table__cell">${r.left || html`<span class="app-missing">not recorded</span>`}</td>
        <td class="nhsuk-table__cell">${r.right || html`<span class="app-missing">not recorded</span>`}</td>
        <td class="nhsuk-table__cell">
          ${
            r.agreement === 'different'
              ? html`<strong class="nhsuk-tag nhsuk-tag--orange">Different</strong>`
              : r.agreement === 'same'
                ? html`<strong class="nhsuk-tag nhsuk-tag--green">Same</strong>`
                : html`<strong class="nhsuk-tag nhsuk-tag--grey">Missing</strong>`
          }
        </td>
        <td class="nhsuk-table__cell">${r.level ?? '–'}</td>
        <td class="nhsuk-table__cell app-num">${r.weight === null ? '–' : signed(r.weight)}</td>
      </tr>`,
  );
  const decided =
    review.status === 'open'
      ? html`<form method="post" action="/admin/mpi/${review.id}/decision" class="app-admin-form">
          <input type="hidden" name="_csrf" value="${csrf}" />
          <fieldset class="nhsuk-fieldset">
            <legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--m">Your decision</legend>
            <div class="nhsuk-radios">
              <div class="nhsuk-radios__item">
                <input
                  class="nhsuk-radios__input"
                  id="decision-link"
                  name="decision"
                  type="radio"
                  value="link"
                  required
                />
                <label class="nhsuk-label nhsuk-radios__label" for="decision-link">Same person: link the records</label>
              </div>
              <div class="nhsuk-radios__item">
                <input
                  class="nhsuk-radios__input"
                  id="decision-not-same"
                  name="decision"
                  type="radio"
                  value="not-same"
                />
                <label class="nhsuk-label nhsuk-radios__label" for="decision-not-same">Not the same person</label>
              </div>
            </div>
          </fieldset>
          <div class="nhsuk-form-group">
            <label class="nhsuk-label" for="decision-reason">Reason</label>
            <div class="nhsuk-hint" id="decision-reason-hint">
              Kept with the decision in the MPI’s history and the audit trail.
            </div>
            <textarea
              class="nhsuk-textarea"
              id="decision-reason"
              name="reason"
              rows="3"
              maxlength="500"
              required
              aria-describedby="decision-reason-hint"
            ></textarea>
          </div>
          <button class="nhsuk-button" type="submit">Record decision</button>
        </form>`
      : html`<div class="nhsuk-inset-text">
          <p>
            Decided: <strong>${review.status === 'linked' ? 'same person (linked)' : review.status}</strong>
            ${review.decidedBy ? html` by ${review.decidedBy}` : html``}${review.decidedAt ? html`, ${dateTime(review.decidedAt)}` : html``}.
            ${review.reason ? html`Reason: ${review.reason}` : html``}
          </p>
        </div>`;
  return html` <p>
      Found ${dateTime(review.createdAt)} by rules ${review.ruleVersion}. Why it needs review:
      ${review.reasons.join(', ') || 'score between the thresholds'}.
    </p>
    <div class="app-table-scroll" role="region" aria-label="Table, scrolls sideways on small screens" tabindex="0">
      <table class="nhsuk-table app-admin-table app-compare">
        <caption class="nhsuk-table__caption">
          The two records, field by field
        </caption>
        <thead class="nhsuk-table__head">
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Record ${left.patientId}</th>
            <th scope="col">Record ${right.patientId}</th>
            <th scope="col">Agreement</th>
            <th scope="col">Comparison</th>
            <th scope="col" class="app-num">Weight</th>
          </tr>
        </thead>
        <tbody class="nhsuk-table__body">
          ${tableRows}
        </tbody>
        <tfoot>
          <tr>
            <th scope="row" colspan="5">Total score (sum of the weights)</th>
            <td class="app-num"><strong>${signed(review.score)}</strong></td>
          </tr>
        </tfoot>
      </table>
    </div>
    <dl class="nhsuk-summary-list">
      <div class="nhsuk-summary-list__row">
        <dt class="nhsuk-summary-list__key">Score</dt>
        <dd class="nhsuk-summary-list__value">${signed(review.score)}: ${BAND_TEXT[band]}</dd>
      </div>
      <div class="nhsuk-summary-list__row">
        <dt class="nhsuk-summary-list__key">Thresholds (rules ${rules.version})</dt>
        <dd class="nhsuk-summary-list__value">
          link at ${signed(rules.link)} or more; review at ${signed(rules.review)} or more
        </dd>
      </div>
      ${
        Math.abs(weightSum(rows) - review.score) > 0.05
          ? html`<div class="nhsuk-summary-list__row">
              <dt class="nhsuk-summary-list__key">Note</dt>
              <dd class="nhsuk-summary-list__value">
                The weights shown add up to ${signed(weightSum(rows))}; the rest of the score comes from fields not
                shown.
              </dd>
            </div>`
          : html``
      }
    </dl>
    ${decided}`;
}

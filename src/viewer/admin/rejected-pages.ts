/**
 * Messages rejected at intake (AR/AE; ADR 0046), for integration engineers: a table of them with the
 * reason (on a feed's page, and for senders no feed matched on the feeds page), one message as received
 * (audited by the feed use case, as it may hold patient data), and replay as received or corrected (a
 * CSRF-protected form calling the same use case as `POST /api/rejected/:rid/replay`).
 */
import type { FastifyInstance } from 'fastify';
import { html, type Html } from '../../http/html-page.ts';
import { rejectedText } from '../../records/feeds/rejected-text.ts';
import { IcrError } from '../../shared/errors.ts';
import type { RejectedSummary } from '../../store/feed-rejected-store.ts';
import { dateTime } from './format.ts';
import { type AdminContext, type AdminDeps, csrfField, doneRedirect, doneText, formOf, page } from './page.ts';

const DONE = {
  accepted: 'The message was accepted (AA): it is in the inbox and will be applied to the record once.',
  refused: 'The message was refused again: the new reason is below.',
  already: 'The message had already been accepted by an earlier replay: it was not sent again.',
} as const;

function feedService(deps: AdminDeps) {
  if (!deps.feeds) throw new IcrError('ICR_NOT_IMPLEMENTED', 'The feed registry is not configured');
  return deps.feeds;
}

function rejectedId(raw: string): number {
  if (!/^[1-9]\d{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new IcrError('ICR_NOT_FOUND', 'No such rejected message');
  }
  return Number(raw);
}

/** What a replay came to, in words. */
function replayOutcome(m: RejectedSummary): string {
  if (m.replayAck === null) return 'not replayed';
  if (m.inboxMessageId !== null) return `accepted on replay (message ${m.inboxMessageId})`;
  return `refused again on replay (${m.replayAck})`;
}

/** The rejected messages as a table (identifiers, reason, replay outcome; never the message itself). */
export function rejectedTable(list: readonly RejectedSummary[], caption: string, withFeed = false): Html {
  const rows = list.map(
    (m) =>
      html`<tr class="nhsuk-table__row">
        <td class="nhsuk-table__cell">
          <a class="nhsuk-link" href="/admin/rejected/${String(m.id)}"
            >${String(m.id)}<span class="nhsuk-u-visually-hidden"> – view rejected message</span></a
          >
        </td>
        ${withFeed ? html`<td class="nhsuk-table__cell">${m.sendingApplication} / ${m.sendingFacility}</td>` : html``}
        <td class="nhsuk-table__cell">${m.messageType || '–'}</td>
        <td class="nhsuk-table__cell">${m.controlId || '–'}</td>
        <td class="nhsuk-table__cell">${dateTime(m.receivedAt)}</td>
        <td class="nhsuk-table__cell">${m.ackCode}</td>
        <td class="nhsuk-table__cell app-admin-reason">${m.reason}</td>
        <td class="nhsuk-table__cell">${replayOutcome(m)}</td>
      </tr>`,
  );
  return html`<div
    class="app-table-scroll"
    role="region"
    aria-label="Table, scrolls sideways on small screens"
    tabindex="0"
  >
    <table class="nhsuk-table app-admin-table" id="rejected-messages">
      <caption class="nhsuk-table__caption">
        ${caption}
      </caption>
      <thead class="nhsuk-table__head">
        <tr>
          <th scope="col">Rejected</th>
          ${withFeed ? html`<th scope="col">Sender (MSH-3 / MSH-4)</th>` : html``}
          <th scope="col">Type</th>
          <th scope="col">Control id (MSH-10)</th>
          <th scope="col">Received</th>
          <th scope="col">ACK</th>
          <th scope="col">Reason</th>
          <th scope="col">Replay</th>
        </tr>
      </thead>
      <tbody class="nhsuk-table__body">
        ${rows}
      </tbody>
    </table>
  </div>`;
}

function summary(key: string, value: string | Html): Html {
  return html`<div class="nhsuk-summary-list__row">
    <dt class="nhsuk-summary-list__key">${key}</dt>
    <dd class="nhsuk-summary-list__value">${value}</dd>
  </div>`;
}

function replayForms(ctx: AdminContext, id: number, text: string): Html {
  return html`<h2>Replay</h2>
    <p>
      A replay goes through the same checks as a message from the sender (sender, feed status, parsing). When it is
      accepted it joins the inbox and is applied once; a message with the same control id already received is not
      applied again.
    </p>
    <form method="post" action="/admin/rejected/${String(id)}/replay" class="app-admin-form">
      ${csrfField(ctx)}
      <p>Replay the message as it was received, once its cause is fixed (the feed approved, the sender registered).</p>
      <button class="nhsuk-button" type="submit">Replay as received</button>
    </form>
    <form method="post" action="/admin/rejected/${String(id)}/replay" class="app-admin-form">
      ${csrfField(ctx)}
      <div class="nhsuk-form-group">
        <label class="nhsuk-label" for="edited-message">Corrected message</label>
        <div class="nhsuk-hint" id="edited-message-hint">
          One segment a line. The corrected text is kept with this rejected message.
        </div>
        <textarea
          class="nhsuk-textarea app-hl7-text"
          id="edited-message"
          name="edited"
          rows="10"
          spellcheck="false"
          aria-describedby="edited-message-hint"
          required
        >
${text}</textarea>
      </div>
      <button class="nhsuk-button nhsuk-button--secondary" type="submit">Replay corrected message</button>
    </form>`;
}

export function registerRejectedPages(
  app: FastifyInstance,
  forms: FastifyInstance,
  deps: AdminDeps,
  csrf: unknown,
): void {
  app.get(
    '/admin/rejected/:rid',
    page<{ rid: string }>(deps, 'feeds', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'feeds');
      const id = rejectedId(req.params.rid);
      const m = await feedService(deps).rejectedMessage(ctx.actor, id);
      const shown = rejectedText(m.raw);
      const back = m.feedId
        ? html`<a class="nhsuk-link" href="/admin/feeds/${m.feedId}">Back to feed ${m.feedId}</a>`
        : html`<a class="nhsuk-link" href="/admin/feeds">Back to feeds</a>`;
      const body = html`<p>${back}</p>
        <p>
          Held for integration engineers only: a rejected message never enters the shared record or its search index.
          Viewing it is recorded in the audit trail.
        </p>
        <dl class="nhsuk-summary-list">
          ${summary('Feed', m.feedId ?? 'none: no registered feed matched the sender')}
          ${summary('Sender (MSH-3 / MSH-4)', `${m.sendingApplication || '–'} / ${m.sendingFacility || '–'}`)}
          ${summary('Control id (MSH-10)', m.controlId || '–')} ${summary('Type', m.messageType || '–')}
          ${summary('Received', `${dateTime(m.receivedAt)} from ${m.remoteAddress ?? 'unknown'}`)}
          ${summary('ACK', m.ackCode)}
          ${summary(
            'Reason',
            `${m.reason}${m.errorLocation ? ` (at ${m.errorLocation})` : ''}${m.errorCode ? ` [${m.errorCode}]` : ''}`,
          )}
          ${summary(
            'Replay',
            m.replayAck === null
              ? 'not replayed'
              : `${replayOutcome(m)}, ${dateTime(m.replayedAt)} by ${m.replayedBy ?? ''}${m.replayedRaw ? ' (corrected)' : ''}${
                  m.replayReason ? `: ${m.replayReason}` : ''
                }`,
          )}
        </dl>
        <h2>Message as received</h2>
        <p>${String(m.bytes)} bytes${shown.encoding === 'latin1' ? ', not valid UTF-8: shown as Latin-1' : ''}.</p>
        <pre class="app-hl7-text" tabindex="0" aria-label="The message as received">${shown.text}</pre>
        ${m.inboxMessageId === null ? replayForms(ctx, id, shown.text) : html``}`;
      return { title: `Rejected message ${id}`, area: 'feeds', done: doneText(req, DONE), body };
    }),
  );

  forms.post(
    '/admin/rejected/:rid/replay',
    { preHandler: csrf as never },
    page<{ rid: string }>(deps, 'feeds', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'feeds');
      const id = rejectedId(req.params.rid);
      const form = formOf(req);
      const edited = form.get('edited');
      const r = await feedService(deps).replayRejected(ctx.actor, id, edited === null ? undefined : edited);
      const done = r.alreadyAccepted ? 'already' : r.ack === 'AA' ? 'accepted' : 'refused';
      return doneRedirect(ctx.reply, `/admin/rejected/${String(id)}`, done);
    }),
  );
}

/**
 * Feeds, for integration engineers: every feed's status, freshness, backlog and errors; one feed's failed
 * messages with their reason, the messages rejected at intake (rejected-pages.ts), its messages per hour,
 * and approve, suspend and replay. Each action calls
 * the same feed use cases as `/api/feeds` (which refuse anyone else and audit).
 */
import type { FastifyInstance } from 'fastify';
import { html, type Html } from '../../http/html-page.ts';
import type { FeedWithCounters } from '../../store/feed-store.ts';
import { IcrError } from '../../shared/errors.ts';
import { barChart } from './charts.ts';
import { rejectedTable } from './rejected-pages.ts';
import { ago, dateTime, duration } from './format.ts';
import { table } from '../components.ts';
import { type AdminDeps, csrfField, doneRedirect, doneText, field, formOf, page } from './page.ts';

const DONE = {
  approved: 'The feed is live.',
  suspended: 'The feed is suspended: its sender’s messages are refused until it is approved again.',
  replayed: 'The message is back on the queue and will be processed again.',
  'replayed-all': 'Every failed message of the feed is back on the queue.',
} as const;

const STATUS_TAG: Readonly<Record<string, string>> = {
  live: 'nhsuk-tag--green',
  testing: 'nhsuk-tag--blue',
  suspended: 'nhsuk-tag--red',
};

function statusTag(status: string): Html {
  return html`<strong class="nhsuk-tag ${STATUS_TAG[status] ?? 'nhsuk-tag--grey'}">${status}</strong>`;
}

function feedService(deps: AdminDeps) {
  if (!deps.feeds) throw new IcrError('ICR_NOT_IMPLEMENTED', 'The feed registry is not configured');
  return deps.feeds;
}

export function registerFeedPages(app: FastifyInstance, forms: FastifyInstance, deps: AdminDeps, csrf: unknown): void {
  app.get(
    '/admin/feeds',
    page(deps, 'feeds', async (_req, ctx) => {
      const feeds = await deps.admin.feeds(ctx.actor);
      const unknown = deps.feeds ? await deps.feeds.rejected(ctx.actor, { unknownSender: true }, 20) : [];
      const unknownSenders =
        unknown.length === 0
          ? html``
          : html`<h2>Messages from unknown senders</h2>
              <p>
                Refused (AR) because no registered feed matched their MSH-3 / MSH-4. Register the feed, then replay
                them.
              </p>
              ${rejectedTable(unknown, `The newest ${String(unknown.length)} from unknown senders`, true)}`;
      const now = new Date();
      const rows = feeds.map((f) => feedRow(f, now));
      const body =
        feeds.length === 0
          ? html`<p>No feed is registered yet. Register one with <code>npx icr feeds add</code>.</p>`
          : html`<p>
                Freshness is the time since the feed’s last message; lag is how long its oldest unprocessed message has
                waited.
              </p>
              <div class="app-admin-charts">
                ${barChart({
                  id: 'chart-backlog',
                  title: 'Backlog: messages waiting to be processed',
                  unit: 'messages',
                  labelHeading: 'Feed',
                  labels: feeds.map((f) => f.id),
                  series: [{ name: 'Waiting', values: feeds.map((f) => f.counters.backlog) }],
                })}
                ${barChart({
                  id: 'chart-freshness',
                  title: 'Freshness: minutes since the last message',
                  unit: 'minutes',
                  labelHeading: 'Feed',
                  labels: feeds.map((f) => f.id),
                  series: [
                    {
                      name: 'Minutes since last message',
                      values: feeds.map((f) =>
                        f.counters.lastReceivedAt
                          ? Math.round((now.getTime() - Date.parse(f.counters.lastReceivedAt)) / 6000) / 10
                          : 0,
                      ),
                    },
                  ],
                })}
              </div>
              ${table(
                ['Feed', 'Organisation', 'Status', 'Last message', 'Lag', 'Backlog', 'Failed', 'Rejected', 'Processed'],
                rows,
                {
                  caption: 'Registered feeds',
                  responsive: true,
                  className: 'app-admin-table',
                  columnClasses: [...Array<undefined>(5), 'app-num', 'app-num', 'app-num', 'app-num'],
                },
              )}`;
      return { title: 'Feeds', area: 'feeds', charts: feeds.length > 0, body: html`${body} ${unknownSenders}` };
    }),
  );

  app.get(
    '/admin/feeds/:id',
    page<{ id: string }>(deps, 'feeds', async (req, ctx) => {
      const { feed: f, failed, activity } = await deps.admin.feed(ctx.actor, req.params.id);
      const rejected = await feedService(deps).rejected(ctx.actor, { feedId: f.id }, 50);
      const c = f.counters;
      const now = new Date();
      const actions: Html[] = [];
      if (f.status !== 'live') {
        actions.push(
          html`<form method="post" action="/admin/feeds/${f.id}/approve" class="app-admin-form">
            ${csrfField(ctx)}
            <p>
              ${
                f.status === 'testing'
                  ? 'Approving makes the feed live: its data is shown to everyone the access rules allow, not only its testers.'
                  : 'Approving lifts the suspension: the sender’s messages are accepted again.'
              }
            </p>
            <button class="nhsuk-button" type="submit">Approve feed ${f.id}</button>
          </form>`,
        );
      }
      if (f.status !== 'suspended') {
        actions.push(
          html`<form method="post" action="/admin/feeds/${f.id}/suspend" class="app-admin-form">
            ${csrfField(ctx)}
            <div class="nhsuk-form-group">
              <label class="nhsuk-label" for="suspend-reason">Reason for suspending</label>
              <div class="nhsuk-hint" id="suspend-reason-hint">
                Shown to the sender in every refusal (AR) until approved again.
              </div>
              <input
                class="nhsuk-input"
                id="suspend-reason"
                name="reason"
                type="text"
                maxlength="500"
                required
                aria-describedby="suspend-reason-hint"
              />
            </div>
            <button class="nhsuk-button nhsuk-button--warning" type="submit">Suspend feed ${f.id}</button>
          </form>`,
        );
      }
      const failedRows = failed.map((m) => [
        String(m.id),
        m.messageType,
        m.controlId,
        dateTime(m.receivedAt),
        m.error ?? 'no reason recorded',
        html`<form method="post" action="/admin/feeds/${f.id}/replay">
          ${csrfField(ctx)}<input type="hidden" name="message" value="${String(m.id)}" />
          <button class="nhsuk-button nhsuk-button--secondary app-button--small" type="submit">
            Replay<span class="nhsuk-u-visually-hidden"> message ${String(m.id)}</span>
          </button>
        </form>`,
      ]);
      const body = html` <p>${statusTag(f.status)}</p>
        <dl class="nhsuk-summary-list">
          ${summary('Organisation', f.orgOds)} ${summary('System', f.systemName ?? 'not recorded')}
          ${summary('Protocol', f.protocol)}
          ${summary('Sender (MSH-3 / MSH-4)', `${f.sendingApplication ?? '–'} / ${f.sendingFacility ?? '–'}`)}
          ${summary('Approved', f.approvedBy ? `by ${f.approvedBy}, ${dateTime(f.approvedAt)}` : 'not yet')}
          ${f.status === 'suspended' ? summary('Suspended', `${dateTime(f.suspendedAt)}: ${f.suspendedReason ?? ''}`) : html``}
          ${summary('Last message', c.lastReceivedAt ? `${dateTime(c.lastReceivedAt)} (${ago(c.lastReceivedAt, now)})` : 'never')}
          ${summary('Lag (oldest unprocessed message)', c.backlog > 0 ? duration(c.lagSeconds) : 'none waiting')}
          ${summary('Backlog', String(c.backlog))} ${summary('Processed', String(c.processed))}
          ${summary('Ignored (no mapping for the message type yet)', String(c.ignored))}
          ${summary('Rejected at intake (AR/AE)', String(c.rejected))}
          ${summary('Items dropped for a sensitive code', String(c.excludedSensitive))}
        </dl>
        ${barChart({
          id: 'chart-activity',
          title: 'Messages received per hour, last 24 hours (UTC)',
          unit: 'messages',
          labelHeading: 'Hour (UTC)',
          labels: activity.map((a) => a.hour.slice(11, 16)),
          series: [
            { name: 'Processed or ignored', values: activity.map((a) => a.received - a.failed - a.waiting) },
            { name: 'Failed', values: activity.map((a) => a.failed) },
            { name: 'Waiting', values: activity.map((a) => a.waiting) },
          ],
          stacked: true,
        })}
        <h2>Rejected at intake</h2>
        <p>
          Messages answered AR or AE (${String(c.rejected)} in all) are kept as received, with the reason the ACK gave,
          for a limited time. Open one to read it and replay it, as received or corrected, once the cause is fixed.
        </p>
        ${
          rejected.length === 0
            ? html`<p>No rejected message of this feed is held.</p>`
            : rejectedTable(rejected, `The newest ${String(rejected.length)} rejected`)
        }
        <h2>Failed messages</h2>
        <p>
          A message that was accepted but could not be applied is kept with its reason; after the cause is fixed, replay
          it.
        </p>
        ${
          failed.length === 0
            ? html`<p>No message of this feed has failed.</p>`
            : html`${table(
                  [
                    'Message',
                    'Type',
                    'Control id (MSH-10)',
                    'Received',
                    'Reason',
                    html`<span class="nhsuk-u-visually-hidden">Action</span>`,
                  ],
                  failedRows,
                  {
                    caption: `${String(failed.length)} failed`,
                    responsive: true,
                    className: 'app-admin-table',
                    columnClasses: [undefined, undefined, undefined, undefined, 'app-admin-reason'],
                  },
                )}
                <form method="post" action="/admin/feeds/${f.id}/replay">
                  ${csrfField(ctx)}<input type="hidden" name="all" value="failed" />
                  <button class="nhsuk-button nhsuk-button--secondary" type="submit">Replay all failed messages</button>
                </form>`
        }
        <h2>Approve or suspend</h2>
        ${actions}`;
      return { title: `Feed ${f.id}`, area: 'feeds', charts: true, done: doneText(req, DONE), body };
    }),
  );

  forms.post(
    '/admin/feeds/:id/approve',
    { preHandler: csrf as never },
    page<{ id: string }>(deps, 'feeds', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'feeds');
      await feedService(deps).approve(ctx.actor, req.params.id, ctx.actor.userId);
      return doneRedirect(ctx.reply, `/admin/feeds/${encodeURIComponent(req.params.id)}`, 'approved');
    }),
  );

  forms.post(
    '/admin/feeds/:id/suspend',
    { preHandler: csrf as never },
    page<{ id: string }>(deps, 'feeds', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'feeds');
      const reason = field(formOf(req), 'reason', 'a reason for suspending the feed');
      await feedService(deps).suspend(ctx.actor, req.params.id, reason);
      return doneRedirect(ctx.reply, `/admin/feeds/${encodeURIComponent(req.params.id)}`, 'suspended');
    }),
  );

  forms.post(
    '/admin/feeds/:id/replay',
    { preHandler: csrf as never },
    page<{ id: string }>(deps, 'feeds', async (req, ctx) => {
      const form = formOf(req);
      await deps.admin.open(ctx.actor, 'feeds');
      const to = `/admin/feeds/${encodeURIComponent(req.params.id)}`;
      if (form.get('all') === 'failed') {
        await feedService(deps).replay(ctx.actor, req.params.id, { allFailed: true });
        return doneRedirect(ctx.reply, to, 'replayed-all');
      }
      const raw = form.get('message') ?? '';
      if (!/^[1-9]\d{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
        throw new IcrError('ICR_BAD_REQUEST', 'Choose a message to replay');
      }
      await feedService(deps).replay(ctx.actor, req.params.id, { messageId: Number(raw) });
      return doneRedirect(ctx.reply, to, 'replayed');
    }),
  );
}

function summary(key: string, value: string): Html {
  return html`<div class="nhsuk-summary-list__row">
    <dt class="nhsuk-summary-list__key">${key}</dt>
    <dd class="nhsuk-summary-list__value">${value}</dd>
  </div>`;
}

function feedRow(f: FeedWithCounters, now: Date): Array<string | Html> {
  const c = f.counters;
  return [
    html`<a class="nhsuk-link" href="/admin/feeds/${f.id}">${f.id}</a>`,
    f.orgOds,
    statusTag(f.status),
    ago(c.lastReceivedAt, now),
    c.backlog > 0 ? duration(c.lagSeconds) : 'none',
    String(c.backlog),
    c.failed > 0 ? html`<strong>${String(c.failed)}</strong>` : '0',
    String(c.rejected),
    String(c.processed),
  ];
}

/**
 * Users and roles, for system administrators: every configured user with their role profiles; add a user
 * (or a profile to an existing one); disable and enable. Each action is the users use case behind
 * `/api/admin/users`, which refuses anyone else and audits.
 */
import type { FastifyInstance } from 'fastify';
import { ROLE_CODES, ROLES } from '../../records/admin/catalogue.ts';
import { html } from '../../http/html-page.ts';
import { IcrError } from '../../shared/errors.ts';
import { table } from '../components.ts';
import { type AdminDeps, csrfField, doneRedirect, doneText, field, formOf, page } from './page.ts';

const DONE = {
  added: 'The user is saved. They can sign in with the role profile now.',
  disabled: 'The user is disabled: their sessions and tokens are refused from now on.',
  enabled: 'The user is enabled again.',
} as const;

export function registerUserPages(app: FastifyInstance, forms: FastifyInstance, deps: AdminDeps, csrf: unknown): void {
  app.get(
    '/admin/users',
    page(deps, 'users', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'users');
      const users = await deps.records.users.list(ctx.actor);
      const rows = users.map((u) => [
        u.id,
        u.name,
        html`<ul class="nhsuk-list">
          ${u.profiles.map((p) => html`<li>${(ROLES as Record<string, string>)[p.role] ?? p.role} (${p.role}) at ${p.org}</li>`)}
        </ul>`,
        u.disabled
          ? html`<strong class="nhsuk-tag nhsuk-tag--grey">Disabled</strong>`
          : html`<strong class="nhsuk-tag nhsuk-tag--green">Active</strong>`,
        html`<form method="post" action="/admin/users/${u.id}/${u.disabled ? 'enable' : 'disable'}">
          ${csrfField(ctx)}
          <button class="nhsuk-button nhsuk-button--secondary app-button--small" type="submit">
            ${u.disabled ? 'Enable' : 'Disable'}<span class="nhsuk-u-visually-hidden"> ${u.id}</span>
          </button>
        </form>`,
      ]);
      const body = html`${table(
          ['User id', 'Name', 'Role profiles', 'Status', html`<span class="nhsuk-u-visually-hidden">Action</span>`],
          rows,
          { caption: `${String(users.length)} users`, responsive: true, className: 'app-admin-table' },
        )}
        <h2 id="add-user">Add a user or a role profile</h2>
        <p>Giving an existing user id adds the profile to that user (and updates the name).</p>
        <form method="post" action="/admin/users" class="app-admin-form">
          ${csrfField(ctx)}
          <div class="nhsuk-form-group">
            <label class="nhsuk-label" for="user-id">User id</label>
            <div class="nhsuk-hint" id="user-id-hint">
              As in their NHS identity (CIS2 UUID) or your directory: letters, digits and . _ : @ -
            </div>
            <input
              class="nhsuk-input nhsuk-input--width-20"
              id="user-id"
              name="id"
              type="text"
              required
              maxlength="128"
              aria-describedby="user-id-hint"
              autocomplete="off"
            />
          </div>
          <div class="nhsuk-form-group">
            <label class="nhsuk-label" for="user-name">Full name</label>
            <input
              class="nhsuk-input nhsuk-input--width-30"
              id="user-name"
              name="name"
              type="text"
              required
              maxlength="200"
              autocomplete="off"
            />
          </div>
          <div class="nhsuk-form-group">
            <label class="nhsuk-label" for="user-org">Organisation (ODS code)</label>
            <input
              class="nhsuk-input nhsuk-input--width-10"
              id="user-org"
              name="org"
              type="text"
              required
              maxlength="10"
              autocomplete="off"
            />
          </div>
          <div class="nhsuk-form-group">
            <label class="nhsuk-label" for="user-role">Role</label>
            <select class="nhsuk-select" id="user-role" name="role">
              ${ROLE_CODES.map((r) => html`<option value="${r}">${ROLES[r]} (${r})</option>`)}
            </select>
          </div>
          <button class="nhsuk-button" type="submit">Save user</button>
        </form>`;
      return { title: 'Users and roles', area: 'users', done: doneText(req, DONE), body };
    }),
  );

  forms.post(
    '/admin/users',
    { preHandler: csrf as never },
    page(deps, 'users', async (req, ctx) => {
      await deps.admin.open(ctx.actor, 'users');
      const form = formOf(req);
      const user = {
        id: field(form, 'id', 'a user id', 128),
        name: field(form, 'name', 'the user’s full name', 200),
        profiles: [
          { org: field(form, 'org', 'an ODS code', 10).toUpperCase(), role: field(form, 'role', 'a role', 64) },
        ],
      };
      await deps.records.users.add(ctx.actor, user);
      return doneRedirect(ctx.reply, '/admin/users', 'added');
    }),
  );

  for (const action of ['disable', 'enable'] as const) {
    forms.post(
      `/admin/users/:id/${action}`,
      { preHandler: csrf as never },
      page<{ id: string }>(deps, 'users', async (req, ctx) => {
        await deps.admin.open(ctx.actor, 'users');
        if (action === 'disable' && req.params.id === ctx.actor.userId) {
          throw new IcrError('ICR_BAD_REQUEST', 'You cannot disable yourself: ask another system administrator');
        }
        await deps.records.users.disable(ctx.actor, req.params.id, action === 'disable');
        return doneRedirect(ctx.reply, '/admin/users', action === 'disable' ? 'disabled' : 'enabled');
      }),
    );
  }
}

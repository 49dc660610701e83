/**
 * What every viewer and admin route needs: its dependencies, the signed-in browser user (re-checked on
 * every request: still configured, enabled and holding the session's profile), and that user as the actor
 * of a records-service call through the `viewer` channel (so the audit trail names the channel).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.ts';
import { sessionUser } from '../http/plugins/browser-session.ts';
import type { AuditService } from '../records/audit/audit-service.ts';
import type { FeedService } from '../records/feeds/feed-service.ts';
import type { RecordsService } from '../records/records-service.ts';
import type { SignInService } from '../records/sign-in/sign-in-service.ts';
import type { UserActor } from '../shared/actor.ts';

export interface ViewerDeps {
  config: Readonly<Config>;
  records: RecordsService;
  signIn: SignInService;
  /** The audit trail's reads for privacy officers (admin pages); absent in API-only setups. */
  audit?: AuditService;
  /** The feed registry (admin pages, per-source freshness); absent when not configured. */
  feeds?: FeedService;
}

/** The session's user while still configured, enabled and holding the session's role profile. */
export async function viewerUser(
  req: FastifyRequest,
  deps: Pick<ViewerDeps, 'config' | 'signIn'>,
): Promise<UserActor | undefined> {
  const user = await sessionUser(req, deps.config);
  if (!user) return undefined;
  if (await deps.signIn.stillHolds(user)) return user;
  await req.session.destroy();
  return undefined;
}

/**
 * The signed-in user, or undefined after sending a redirect to `/signin` (the route then returns `reply`):
 *   const user = await requireViewerUser(req, reply, deps); if (!user) return reply;
 */
export async function requireViewerUser(
  req: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<ViewerDeps, 'config' | 'signIn'>,
): Promise<UserActor | undefined> {
  const user = await viewerUser(req, deps);
  if (!user) await reply.redirect('/signin', 303);
  return user;
}

/** The user as the actor of a records-service call from the viewer (audited with channel `viewer`). */
export function viewerActor(user: UserActor, req: FastifyRequest): UserActor {
  return { ...user, via: { channel: 'viewer', requestId: req.id } };
}

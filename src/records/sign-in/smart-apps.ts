/**
 * Registered SMART apps (`icr apps add <client-id> --name <text> --redirect-uri <uri>… [--launch-uri <uri>]
 * [--jwks <file>]`) and the backend services role of a host system (`icr systems add … --backend-role
 * <code>`), and the FHIR feed a host system sends as (`icr systems add … --feed <id>`, ADR 0044). See
 * docs/sign-in.md "SMART App Launch".
 */
import { checkRole } from '../../access/roles.ts';
import { checkRedirectUri } from '../../auth/smart-rules.ts';
import { IcrError } from '../../shared/errors.ts';
import type { Db } from '../../store/db.ts';
import { getFeed } from '../../store/feed-store.ts';
import { findHostSystem } from '../../store/sign-in-store.ts';
import {
  backendRoleOf,
  hostFeedOf,
  listSmartApps,
  setBackendRole,
  setHostFeed,
  upsertSmartApp,
  type SmartAppRow,
} from '../../store/smart-store.ts';
import { parseHostJwks } from './host-systems.ts';

export type { SmartAppRow };
export { backendRoleOf, hostFeedOf, listSmartApps };

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export interface NewSmartApp {
  clientId: string;
  name: string;
  redirectUris: string[];
  launchUri?: string;
  /** A confidential app's public keys (JWKS text): it authenticates with private_key_jwt. */
  jwks?: string;
  /** Browser origins the app runs in (`https://apps.example.nhs.uk`): CORS is answered for these only. */
  allowedOrigins?: string[];
}

/** Checks a browser origin an operator registers: https (http only on the loopback interface), no path. */
export function checkOrigin(origin: string): string {
  const u = URL.parse(origin);
  const loopback = u !== null && u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (!u || (u.protocol !== 'https:' && !loopback) || u.origin !== origin.replace(/\/$/, '')) {
    throw new IcrError(
      'ICR_BAD_REQUEST',
      `"${origin.slice(0, 200)}" must be an origin such as https://apps.example.nhs.uk (https; http only on the loopback interface; no path)`,
    );
  }
  return u.origin;
}

export async function registerSmartApp(db: Db, a: NewSmartApp): Promise<void> {
  if (!CLIENT_ID.test(a.clientId)) {
    throw new IcrError(
      'ICR_BAD_REQUEST',
      `Client id "${a.clientId.slice(0, 64)}" must be 1–64 letters, digits, . _ : -`,
    );
  }
  const name = a.name.trim();
  if (name === '' || name.length > 200)
    throw new IcrError('ICR_BAD_REQUEST', 'The app needs a name (≤ 200 characters)');
  if (a.redirectUris.length === 0) throw new IcrError('ICR_BAD_REQUEST', 'Give at least one --redirect-uri');
  const check = (what: string, uri: string): string => {
    try {
      return checkRedirectUri(uri);
    } catch (err) {
      throw new IcrError('ICR_BAD_REQUEST', `${what} ${(err as Error).message}`);
    }
  };
  const redirectUris = [...new Set(a.redirectUris.map((u) => check('The redirect URI', u)))];
  const launchUri = a.launchUri === undefined ? null : check('The launch URI', a.launchUri);
  let jwks: string | null = null;
  if (a.jwks !== undefined) {
    parseHostJwks(a.jwks, 'The JWKS');
    jwks = JSON.stringify(JSON.parse(a.jwks));
  }
  const allowedOrigins = [...new Set((a.allowedOrigins ?? []).map(checkOrigin))];
  await upsertSmartApp(db, { clientId: a.clientId, name, redirectUris, launchUri, jwks, allowedOrigins });
}

/**
 * Lets a registered host system use SMART backend services (`system/*.rs`) acting in `role` at its own
 * organisation; null withdraws it.
 */
export async function setHostBackendRole(db: Db, systemId: string, role: string | null): Promise<void> {
  if (!(await findHostSystem(db, systemId))) {
    throw new IcrError('ICR_NOT_FOUND', `There is no host system "${systemId.slice(0, 64)}"`);
  }
  await setBackendRole(db, systemId, role === null ? null : checkRole(role));
}

/**
 * Makes a registered host system the sender of a FHIR feed (ADR 0044): its SMART backend services tokens
 * with `system/*.cu` then write as that feed. The feed must be a `fhir` feed of the system's own
 * organisation. null unlinks it.
 */
export async function setHostSystemFeed(db: Db, systemId: string, feedId: string | null): Promise<void> {
  const system = await findHostSystem(db, systemId);
  if (!system) throw new IcrError('ICR_NOT_FOUND', `There is no host system "${systemId.slice(0, 64)}"`);
  if (feedId !== null) {
    const feed = await getFeed(db, feedId);
    if (!feed) {
      throw new IcrError(
        'ICR_NOT_FOUND',
        `Feed "${feedId.slice(0, 64)}" is not registered: add it first with \`icr feeds add ${feedId.slice(0, 64)} --org ${system.org} --protocol fhir\``,
      );
    }
    if (feed.protocol !== 'fhir') {
      throw new IcrError(
        'ICR_BAD_REQUEST',
        `Feed ${feed.id} is a ${feed.protocol} feed: only a fhir feed can be sent by a host system`,
      );
    }
    if (feed.orgOds !== system.org) {
      throw new IcrError(
        'ICR_BAD_REQUEST',
        `Feed ${feed.id} belongs to ${feed.orgOds}, but host system ${system.id} serves ${system.org}`,
      );
    }
  }
  await setHostFeed(db, systemId, feedId);
}

/**
 * Registered SMART apps (`icr apps add <client-id> --name <text> --redirect-uri <uri>… [--launch-uri <uri>]
 * [--jwks <file>]`) and the backend services role of a host system (`icr systems add … --backend-role
 * <code>`). See docs/sign-in.md "SMART App Launch".
 */
import { checkRole } from '../../access/roles.ts';
import { checkRedirectUri } from '../../auth/smart-rules.ts';
import { IcrError } from '../../shared/errors.ts';
import type { Db } from '../../store/db.ts';
import { findHostSystem } from '../../store/sign-in-store.ts';
import {
  backendRoleOf,
  listSmartApps,
  setBackendRole,
  upsertSmartApp,
  type SmartAppRow,
} from '../../store/smart-store.ts';
import { parseHostJwks } from './host-systems.ts';

export type { SmartAppRow };
export { backendRoleOf, listSmartApps };

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export interface NewSmartApp {
  clientId: string;
  name: string;
  redirectUris: string[];
  launchUri?: string;
  /** A confidential app's public keys (JWKS text): it authenticates with private_key_jwt. */
  jwks?: string;
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
  await upsertSmartApp(db, { clientId: a.clientId, name, redirectUris, launchUri, jwks });
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

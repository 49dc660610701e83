/**
 * `icr systems add <id> --org <ods> --jwks <file-or-url> [--frame-origin <origin>] [--backend-role <code>]
 * [--feed <feed-id>]` and `icr systems list [--json]`: the host systems that may launch the record in context
 * and, with a backend role, read with SMART backend services, or, linked to a FHIR feed, write as that feed
 * (docs/sign-in.md, ADR 0044); `icr apps add <client-id> …` / `icr apps list`: the
 * registered SMART apps; `icr keys rotate` / `icr keys list`: the server's own token signing keys.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { checkRole } from '../access/roles.ts';
import { loadConfig } from '../config/config.ts';
import { registerHostSystem, listHostSystems } from '../records/sign-in/host-systems.ts';
import { listLiveSigningKeys, rotateServerKeys } from '../records/sign-in/key-ring.ts';
import {
  backendRoleOf,
  hostFeedOf,
  listSmartApps,
  registerSmartApp,
  setHostBackendRole,
  setHostSystemFeed,
} from '../records/sign-in/smart-apps.ts';
import type { Db } from '../store/db.ts';
import { pendingMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action, CliError } from './cli-error.ts';

type Out = (text: string) => void;
type OpenDb = () => Promise<Db>;

const defaultOpen: OpenDb = async () => openDatabase(loadConfig());
const stdout: Out = (t) => void process.stdout.write(t);

async function withDb(open: OpenDb, fn: (db: Db) => Promise<void>): Promise<void> {
  const db = await open();
  try {
    if ((await pendingMigrations(db)).length > 0) {
      throw new CliError('the database schema is not up to date: run `icr migrate` first');
    }
    await fn(db);
  } finally {
    await db.close();
  }
}

export function registerSystemsCommand(program: Command, open: OpenDb = defaultOpen, out: Out = stdout): void {
  const systems = program.command('systems').description('host systems that launch the record in context');
  systems
    .command('add <id>')
    .description('register (or update) a host system and the public keys it signs launch tokens with')
    .requiredOption('--org <ods>', 'ODS code of the organisation the system serves')
    .requiredOption('--jwks <file-or-url>', 'a JWKS file of its public keys, or the https URL it publishes them at')
    .option('--frame-origin <origin>', 'origin that may embed the viewer in a frame (CSP frame-ancestors)')
    .option(
      '--backend-role <code>',
      'allow SMART backend services (system/*.rs), acting in this role at its organisation; "none" withdraws it',
    )
    .option(
      '--feed <feed-id>',
      'the FHIR feed it sends as: its backend services tokens with system/*.cu write as that feed; "none" unlinks',
    )
    .action(
      action(
        async (
          id: string,
          opts: { org: string; jwks: string; frameOrigin?: string; backendRole?: string; feed?: string },
        ) => {
          const isUrl = /^https?:\/\//.test(opts.jwks);
          let jwks: string | undefined;
          if (!isUrl) {
            try {
              jwks = readFileSync(opts.jwks, 'utf8');
            } catch {
              throw new CliError(`cannot read the JWKS file ${opts.jwks}`);
            }
          }
          // The role is checked before anything is written: a bad role changes nothing.
          if (opts.backendRole !== undefined && opts.backendRole !== 'none') checkRole(opts.backendRole);
          await withDb(open, async (db) => {
            await registerHostSystem(db, {
              id,
              org: opts.org,
              ...(isUrl ? { jwksUrl: opts.jwks } : { jwks: jwks ?? '' }),
              ...(opts.frameOrigin === undefined ? {} : { frameOrigin: opts.frameOrigin }),
            });
            if (opts.backendRole !== undefined) {
              await setHostBackendRole(db, id, opts.backendRole === 'none' ? null : opts.backendRole);
            }
            if (opts.feed !== undefined) await setHostSystemFeed(db, id, opts.feed === 'none' ? null : opts.feed);
            out(`host system ${id} registered for ${opts.org}\n`);
          });
        },
      ),
    );
  systems
    .command('list')
    .description('list the registered host systems')
    .option('--json', 'print JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        await withDb(open, async (db) => {
          const rows = await Promise.all(
            (await listHostSystems(db)).map(async (s) => ({
              id: s.id,
              org: s.org,
              keys:
                s.jwksUrl ?? `${(JSON.parse(s.jwks ?? '{"keys":[]}') as { keys: unknown[] }).keys.length} key(s) held`,
              frameOrigin: s.frameOrigin,
              backendRole: await backendRoleOf(db, s.id),
              feed: await hostFeedOf(db, s.id),
            })),
          );
          if (opts.json) out(`${JSON.stringify(rows, null, 2)}\n`);
          else if (rows.length === 0) out('No host systems registered.\n');
          else
            out(
              rows
                .map(
                  (r) =>
                    `${r.id}\t${r.org}\t${r.keys}\tbackend: ${r.backendRole ?? 'no'}\tfeed: ${r.feed ?? 'no'}${r.frameOrigin ? `\t${r.frameOrigin}` : ''}\n`,
                )
                .join(''),
            );
        });
      }),
    );

  const apps = program.command('apps').description('SMART apps that may ask for access (SMART App Launch)');
  apps
    .command('add <client-id>')
    .description('register (or update) a SMART app: public (PKCE) or confidential (--jwks: private_key_jwt)')
    .requiredOption('--name <text>', 'the name shown to users')
    .requiredOption(
      '--redirect-uri <uri>',
      'an exact redirect URI (https, or http on the loopback interface); repeat for several',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .option('--launch-uri <uri>', 'where an EHR launch opens the app (?iss=…&launch=…)')
    .option('--jwks <file>', "a confidential app's public keys (JWKS file): it signs client assertions")
    .option(
      '--allowed-origin <origin>',
      'a browser origin the app runs in (CORS on /fhir and the token endpoint); repeat for several',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .action(
      action(
        async (
          clientId: string,
          opts: { name: string; redirectUri: string[]; launchUri?: string; jwks?: string; allowedOrigin?: string[] },
        ) => {
          let jwks: string | undefined;
          if (opts.jwks !== undefined) {
            try {
              jwks = readFileSync(opts.jwks, 'utf8');
            } catch {
              throw new CliError(`cannot read the JWKS file ${opts.jwks}`);
            }
          }
          await withDb(open, async (db) => {
            await registerSmartApp(db, {
              clientId,
              name: opts.name,
              redirectUris: opts.redirectUri,
              ...(opts.launchUri === undefined ? {} : { launchUri: opts.launchUri }),
              ...(jwks === undefined ? {} : { jwks }),
              ...(opts.allowedOrigin === undefined ? {} : { allowedOrigins: opts.allowedOrigin }),
            });
            out(`SMART app ${clientId} registered (${jwks === undefined ? 'public' : 'confidential'})\n`);
          });
        },
      ),
    );
  apps
    .command('list')
    .description('list the registered SMART apps')
    .action(
      action(async () => {
        await withDb(open, async (db) => {
          const rows = await listSmartApps(db);
          if (rows.length === 0) out('No SMART apps registered.\n');
          for (const a of rows) {
            out(
              `${a.clientId}\t${a.name}\t${a.jwks === null ? 'public' : 'confidential'}\t${a.redirectUris.join(' ')}${a.launchUri ? `\tlaunch ${a.launchUri}` : ''}${a.allowedOrigins && a.allowedOrigins.length > 0 ? `\torigins ${a.allowedOrigins.join(' ')}` : ''}\n`,
            );
          }
        });
      }),
    );

  const keys = program.command('keys').description("the server's token signing keys");
  keys
    .command('rotate')
    .description('make a new signing key active; the old one verifies until its tokens have expired')
    .action(
      action(async () => {
        const config = loadConfig();
        await withDb(open, async (db) => {
          const { kid, retired } = await rotateServerKeys(db, { maxTtlSeconds: config.tokenMaxTtlSeconds });
          out(`new signing key ${kid}${retired.length > 0 ? `; retired ${retired.join(', ')}` : ''}\n`);
        });
      }),
    );
  keys
    .command('list')
    .description('list the keys that verify tokens now (public information only)')
    .action(
      action(async () => {
        await withDb(open, async (db) => {
          const rows = await listLiveSigningKeys(db, new Date());
          if (rows.length === 0) out('No signing keys yet (the server creates one on first start).\n');
          for (const r of rows) {
            const state =
              r.retiredAt === null ? 'active' : `retired, verifies until ${r.verifyUntil?.toISOString() ?? '?'}`;
            out(`${r.kid}\t${r.alg}\t${r.createdAt.toISOString()}\t${state}\n`);
          }
        });
      }),
    );
}

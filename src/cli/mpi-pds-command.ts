/**
 * The Spine from the command line, for data stewards and operators:
 *
 * - `icr mpi verify [--patient <id>…] [--limit <n>]` asks PDS (ICR_PDS_URL) about each source record whose
 *   NHS number is not yet verified (or the given ones) and records the outcome; verified records re-link.
 * - `icr mpi trace-out <out.csv> [--limit <n>]` writes a batch trace request (the records without a
 *   verified NHS number) for the Demographics Batch Service; `icr mpi trace-in <response.csv>` applies
 *   the traced response.
 * - `icr mpi pds-stand-in [--port <n>]` serves the local PDS stand-in (synthetic people) for development.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { pdsClientFor } from '../compose.ts';
import { type Config, loadConfig } from '../config/config.ts';
import { createPdsClient } from '../mpi/pds/pds-client.ts';
import { startPdsStandIn } from '../mpi/pds/stand-in.ts';
import { PDS_PEOPLE } from '../mpi/pds/stand-in-people.ts';
import { createMpi } from '../records/mpi/mpi-compose.ts';
import type { MpiPdsService, VerifyOutcome } from '../records/mpi/pds-service.ts';
import type { UserActor } from '../shared/actor.ts';
import type { Db } from '../store/db.ts';
import { unverifiedLinks } from '../store/mpi-store.ts';
import { openDatabase } from '../store/open.ts';
import { action, CliError } from './cli-error.ts';

export interface MpiPdsCommandDeps {
  config?: () => Readonly<Config>;
  open?: (config: Readonly<Config>) => Promise<Db>;
  out?: (text: string) => void;
}

function operator(user: string | undefined, org: string | undefined): UserActor {
  return { kind: 'user', userId: user || userInfo().username, orgOds: org || 'local', role: 'icr-data-steward' };
}

function positive(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${name} must be a positive whole number`);
  return n;
}

export function registerMpiPdsCommands(mpiCommand: Command, deps: MpiPdsCommandDeps = {}): void {
  const getConfig = deps.config ?? (() => loadConfig());
  const open = deps.open ?? openDatabase;
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));

  const withPds = async <T>(fn: (pds: MpiPdsService, db: Db) => Promise<T>, needUrl: boolean): Promise<T> => {
    const config = getConfig();
    if (needUrl && !config.pdsUrl)
      throw new CliError(
        'ICR_PDS_URL is not set: give the PDS FHIR API base URL (or the stand-in: icr mpi pds-stand-in)',
      );
    const db = await open(config);
    try {
      // The batch trace route works by file, without PDS online; an unreachable client stands in then.
      const client = pdsClientFor(config) ?? createPdsClient({ baseUrl: 'http://127.0.0.1:1/no-pds-configured' });
      const pds = createMpi({ db, pdsClient: client }).pds;
      if (!pds) throw new Error('the MPI was built without its PDS service');
      return await fn(pds, db);
    } finally {
      await db.close();
    }
  };

  mpiCommand
    .command('verify')
    .description('verify NHS numbers with PDS (ICR_PDS_URL): the unverified ones, or the given source records')
    .option('--patient <id...>', 'source Patient ids to verify (default: every unverified record, oldest first)')
    .option('--limit <n>', 'at most this many records (default 1000)', '1000')
    .option('--user <user-id>', 'who is verifying (default: the operating-system user)')
    .option('--org <ods>', "the operator's organisation (ODS code)")
    .action(
      action(async (flags: { patient?: string[]; limit: string; user?: string; org?: string }) => {
        const limit = positive(flags.limit, '--limit');
        const summary = await withPds(async (pds, db) => {
          const ids =
            flags.patient ??
            (await unverifiedLinks(db, limit)).filter((l) => l.record.nhsNumber).map((l) => l.patientId);
          const counts = new Map<VerifyOutcome, number>();
          const actor = operator(flags.user, flags.org);
          for (const [i, id] of ids.entries()) {
            const res = await pds.verify(actor, id);
            counts.set(res.outcome, (counts.get(res.outcome) ?? 0) + 1);
            if (process.stderr.isTTY) process.stderr.write(`\r\x1b[Kverifying ${i + 1}/${ids.length}`);
          }
          if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
          return { checked: ids.length, outcomes: Object.fromEntries(counts) };
        }, true);
        out(`${JSON.stringify(summary, null, 2)}\n`);
      }),
    );

  mpiCommand
    .command('trace-out')
    .description('write a PDS batch trace request CSV of the source records without a verified NHS number')
    .argument('<out.csv>', 'file to write')
    .option('--limit <n>', 'at most this many records (default 10000)', '10000')
    .action(
      action(async (file: string, flags: { limit: string }) => {
        const limit = positive(flags.limit, '--limit');
        const csv = await withPds((pds) => pds.traceRequest(limit), false);
        try {
          writeFileSync(file, csv);
        } catch (cause) {
          throw new CliError(`${file}: cannot write (${(cause as NodeJS.ErrnoException).code ?? 'error'})`);
        }
        const rows = Math.max(0, csv.trimEnd().split('\n').length - 1);
        out(`Wrote ${rows} records to ${file}.\n`);
      }),
    );

  mpiCommand
    .command('trace-in')
    .description('apply a PDS batch trace response CSV: traced NHS numbers become verified and re-link')
    .argument('<response.csv>', 'the response file from the batch trace service')
    .option('--user <user-id>', 'who applies it (default: the operating-system user)')
    .option('--org <ods>', "the operator's organisation (ODS code)")
    .action(
      action(async (file: string, flags: { user?: string; org?: string }) => {
        let csv: string;
        try {
          csv = readFileSync(file, 'utf8');
        } catch (cause) {
          throw new CliError(`${file}: cannot read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`);
        }
        const res = await withPds((pds) => pds.applyTrace(operator(flags.user, flags.org), csv), false);
        out(`${JSON.stringify(res, null, 2)}\n`);
      }),
    );

  mpiCommand
    .command('pds-stand-in')
    .description('serve the local PDS stand-in (synthetic people, the published PDS FHIR API shapes) until stopped')
    .option('--port <n>', 'port (default 9876)', '9876')
    .action(
      action(async (flags: { port: string }) => {
        const port = positive(flags.port, '--port');
        const running = await startPdsStandIn(PDS_PEOPLE, { port });
        out(`PDS stand-in at ${running.url}\nSet ICR_PDS_URL=${running.url} for the server and icr mpi verify.\n`);
      }),
    );
}

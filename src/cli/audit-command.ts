/**
 * `icr audit verify [--head <position>:<hash>]`: checks the audit trail's hash chain and names the first
 * entry that was edited, deleted, reordered or inserted. Exit status: 0 intact, 3 tampered, 4 cannot check
 * (database unreachable or not migrated), 2 usage. Progress goes to stderr on long runs.
 *
 * `icr audit report --nhs-number <n> [--from <date>] [--to <date>] --out <file.html|file.pdf>`: the person's
 * access report ("who has viewed my record"), as HTML or PDF by the file's extension.
 */
import type { Command } from 'commander';
import { verifyAuditTrail, type VerifyResult } from '../audit/audit-verify.ts';
import { loadConfig } from '../config/config.ts';
import type { Db } from '../store/db.ts';
import { migrationsUpToDate } from '../store/migrate.ts';
import { openDatabase } from '../store/open.ts';
import { action, CliError } from './cli-error.ts';

export const VERIFY_EXIT = { intact: 0, usage: 2, tampered: 3, cannotCheck: 4 } as const;

export interface AuditCommandDeps {
  /** Opens the database (default: the configured one). */
  open?: () => Promise<Db>;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

function parseHead(raw: string | undefined): { position: number; hash: string } | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(raw);
  if (!m) throw new CliError('--head must be <position>:<64 hex digits>, as `icr audit verify` prints it');
  return { position: Number(m[1]), hash: m[2] as string };
}

export function formatVerifyResult(result: VerifyResult): string {
  if (result.status === 'intact') {
    const head = result.head ? `head ${result.head.position}:${result.head.hash}` : 'the trail is empty';
    return `audit trail intact: ${result.checked} entries checked; ${head}\n`;
  }
  const p = result.problem;
  return `audit trail TAMPERED (${p.kind}): ${p.message}\n  ${result.checked} entries checked intact before it\n`;
}

export function registerAuditCommand(program: Command, deps: AuditCommandDeps = {}): Command {
  const open = deps.open ?? (() => openDatabase(loadConfig()));
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));
  const err = deps.err ?? ((t: string) => void process.stderr.write(t));
  const audit = program.command('audit').description('the audit trail: verify the hash chain, access reports');

  audit
    .command('verify')
    .description('check the hash chain; names the first edited, deleted, reordered or inserted entry')
    .option('--head <position:hash>', 'a head printed by an earlier run, which must still be in the chain')
    .action(
      action(async (opts: { head?: string }) => {
        const expectHead = parseHead(opts.head);
        let db: Db;
        try {
          db = await open();
        } catch (e) {
          throw new CliError(`cannot check: ${e instanceof Error ? e.message : String(e)}`, VERIFY_EXIT.cannotCheck);
        }
        try {
          let result: VerifyResult;
          try {
            if (!(await migrationsUpToDate(db).catch(() => false))) {
              throw new CliError(
                'cannot check: the database is not migrated (run `icr migrate`)',
                VERIFY_EXIT.cannotCheck,
              );
            }
            let last = Date.now();
            result = await verifyAuditTrail(db, {
              ...(expectHead ? { expectHead } : {}),
              progress: (checked, total) => {
                if (Date.now() - last < 2000) return;
                last = Date.now();
                err(`  verified ${checked} of ${total} entries\n`);
              },
            });
          } catch (e) {
            if (e instanceof CliError) throw e;
            throw new CliError(`cannot check: ${e instanceof Error ? e.message : String(e)}`, VERIFY_EXIT.cannotCheck);
          }
          out(formatVerifyResult(result));
          if (result.status === 'tampered') process.exitCode = VERIFY_EXIT.tampered;
        } finally {
          await db.close();
        }
      }),
    );
  return audit;
}

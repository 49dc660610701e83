/**
 * `icr orgs add <ods> --name <text> --kind <kind>` registers an organisation that feeds belong to;
 * `icr orgs list [--json]` lists them.
 */
import type { Command } from 'commander';
import type { FeedService } from '../records/feeds/feed-service.ts';
import { ORG_KINDS } from '../store/feed-store.ts';
import { action } from './cli-error.ts';
import { cliEngineer, type FeedCommandDeps, withFeeds } from './feeds-command.ts';

export function registerOrgsCommand(program: Command, deps: FeedCommandDeps = {}): Command {
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));
  const orgs = program.command('orgs').description('organisations that send data to the record');

  orgs
    .command('add')
    .description('register an organisation')
    .argument('<ods>', 'ODS code')
    .requiredOption('--name <text>', 'the organisation name')
    .requiredOption('--kind <kind>', ORG_KINDS.join(', '))
    .option('--user <user-id>', 'who registers it (default: the operating-system user)')
    .action(
      action(async (ods: string, flags: { name: string; kind: string; user?: string }) => {
        const org = await withFeeds(deps, (s: FeedService) =>
          s.addOrganisation(cliEngineer(flags.user), { ods, name: flags.name, kind: flags.kind }),
        );
        out(`Registered organisation ${org.ods} (${org.kind}).\n`);
      }),
    );

  orgs
    .command('list')
    .description('list the registered organisations')
    .option('--json', 'print JSON')
    .action(
      action(async (flags: { json?: boolean }) => {
        const list = await withFeeds(deps, (s) => s.organisations());
        if (flags.json) return out(`${JSON.stringify(list, null, 2)}\n`);
        if (list.length === 0) return out('No organisations registered.\n');
        out(list.map((o) => `${o.ods.padEnd(10)} ${o.kind.padEnd(14)} ${o.name}`).join('\n') + '\n');
      }),
    );
  return orgs;
}

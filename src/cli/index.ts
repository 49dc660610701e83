#!/usr/bin/env node
/**
 * The `icr` command. Each sub-command lives in its own `*-command.ts` file and registers itself here.
 */
import { Command } from 'commander';
import { registerAuditCommand } from './audit-command.ts';
import { registerFeedsCommand } from './feeds-command.ts';
import { registerImportCommand } from './import-command.ts';
import { registerMigrateCommand } from './migrate-command.ts';
import { registerMpiCommand } from './mpi-command.ts';
import { registerMpiPdsCommands } from './mpi-pds-command.ts';
import { registerMpiReviewCommand } from './mpi-review-command.ts';
import { registerOptoutCommand } from './optout-command.ts';
import { registerOrgsCommand } from './orgs-command.ts';
import { registerReindexCommand } from './reindex-command.ts';
import { registerServeCommand } from './serve-command.ts';
import { registerStatsCommand } from './stats-command.ts';
import { registerSystemsCommand } from './systems-command.ts';
import { registerTokenCommand } from './token-command.ts';
import { registerUsersCommand } from './users-command.ts';

const program = new Command();
program.name('icr').description('OpenICR integrated care record').showHelpAfterError();

// Sub-commands register below (one import and one call each).
registerAuditCommand(program);
registerFeedsCommand(program);
registerImportCommand(program);
registerMigrateCommand(program);
const mpiCommand = registerMpiCommand(program);
registerMpiReviewCommand(mpiCommand);
registerMpiPdsCommands(mpiCommand);
registerOptoutCommand(program);
registerOrgsCommand(program);
registerReindexCommand(program);
registerServeCommand(program);
registerStatsCommand(program);
registerSystemsCommand(program);
registerTokenCommand(program);
registerUsersCommand(program);

await program.parseAsync(process.argv);

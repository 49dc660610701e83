/**
 * `icr mpi evaluate <file> [<second file>] [--links <out.csv>]`: runs the matcher over labelled FEBRL
 * data and prints JSON figures (records, true pairs, candidate pairs, reduction ratio, links, precision,
 * recall, F1, seconds). One file is deduplicated; two files are linked (first against second). The true
 * matches come from the record ids and are used only to score the result.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { evaluate } from '../mpi/evaluate.ts';
import { readFebrl } from '../mpi/febrl.ts';
import { loadRules } from '../mpi/rules/load-rules.ts';
import { action, CliError } from './cli-error.ts';

interface EvaluateFlags {
  links?: string;
  rules?: string;
  em: boolean;
  termFrequency: boolean;
}

/** Adds `icr mpi` and `icr mpi evaluate`; returns the `mpi` command so other MPI sub-commands can join it. */
export function registerMpiCommand(program: Command): Command {
  const mpi = program.command('mpi').description('master patient index: matching tools');
  mpi
    .command('evaluate')
    .description('measure matching on FEBRL data: dedup one file, or link the first file with the second')
    .argument('<file>', 'FEBRL CSV file (deduplicated when alone)')
    .argument('[second]', 'second FEBRL CSV file, linked against the first')
    .option('--links <out.csv>', 'also write every linked pair as rec_id_a,rec_id_b')
    .option('--rules <rules.json>', 'matching rules file (default: the bundled default-rules.v2.json)')
    .option('--no-em', 'use the configured m and u instead of estimating them by EM')
    .option('--no-term-frequency', 'do not adjust name agreement by how common the name is')
    .action(
      action(async (file: string, second: string | undefined, flags: EvaluateFlags) => {
        const started = performance.now();
        const progress = process.stderr.isTTY ? ttyProgress() : undefined;
        const rules = loadRules(flags.rules);
        progress?.('reading', 0, 1);
        const first = readFebrl(file).records;
        const other = second === undefined ? undefined : readFebrl(second).records;
        const { report, links } = evaluate(rules, first, other, {
          em: flags.em,
          termFrequency: flags.termFrequency,
          ...(progress ? { onProgress: progress } : {}),
        });
        if (progress) process.stderr.write('\r\x1b[K');
        if (flags.links !== undefined) {
          const csv = ['rec_id_a,rec_id_b', ...links.map(([a, b]) => `${a},${b}`)].join('\n');
          try {
            writeFileSync(flags.links, `${csv}\n`);
          } catch (cause) {
            throw new CliError(
              `${flags.links}: cannot write links (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
            );
          }
        }
        const seconds = Math.round(performance.now() - started) / 1000;
        const files = second === undefined ? [file] : [file, second];
        process.stdout.write(`${JSON.stringify({ files, ...report, seconds }, null, 2)}\n`);
      }),
    );
  return mpi;
}

function ttyProgress(): (stage: string, done: number, total: number) => void {
  return (stage, done, total) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    process.stderr.write(`\r\x1b[K${stage} ${pct}%`);
  };
}

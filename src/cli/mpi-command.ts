/**
 * `icr mpi evaluate`: measures matching on labelled data and prints JSON figures.
 *
 * - Core mode (default): `icr mpi evaluate <file> [<second>]` runs the matching core over FEBRL data (one
 *   file deduplicated, two linked), with EM and term frequencies, as ADR 0010 describes.
 * - Product mode (`--product`): the records are written as source Patients through the records service into
 *   a scratch embedded database, so the figures are those of the product's write path (the same blocking,
 *   rules, guards, NHS-number semantics and set-based writes as any channel). Inputs are FEBRL-layout files
 *   (`--nhs-number-column`, `--verified`) or folders of FHIR Patients, one folder per source (`.json`
 *   Patients or Bundles, `.ndjson`), with `--truth <csv>` (`patient_id,entity`); or `--county` for the
 *   built-in UK-shaped synthetic set.
 *
 * `icr mpi synthetic <out-dir>` writes the UK-shaped set as folders of FHIR Patients per source and truth.csv.
 * The true matches are used only to score.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createServices } from '../compose.ts';
import type { FhirResource } from '../fhir/types.ts';
import { evaluate } from '../mpi/evaluate.ts';
import { febrlEntity, parseFebrlRows, readFebrl } from '../mpi/febrl.ts';
import { loadRules } from '../mpi/rules/load-rules.ts';
import { countySet } from '../mpi/synthetic-county.ts';
import { coreMatchEngine } from '../records/mpi/engine.ts';
import {
  type EvaluationSource,
  evaluateProductPath,
  febrlAsPatients,
  patientIdFor,
} from '../records/mpi/product-evaluate.ts';
import { SYSTEM_ACTOR } from '../shared/actor.ts';
import { IcrError } from '../shared/errors.ts';
import { migrate } from '../store/migrate.ts';
import { openPglite } from '../store/pglite-db.ts';
import { action, CliError } from './cli-error.ts';

interface EvaluateFlags {
  links?: string;
  rules?: string;
  em: boolean;
  termFrequency: boolean;
  product?: boolean;
  nhsNumberColumn?: string;
  otherIdColumn?: string;
  verified?: string;
  truth?: string;
  county?: boolean;
  people?: string;
  seed?: string;
  details?: string;
}

type Patient = FhirResource & { id: string };

/** Adds `icr mpi` and `icr mpi evaluate`; returns the `mpi` command so other MPI sub-commands can join it. */
export function registerMpiCommand(program: Command): Command {
  const mpi = program.command('mpi').description('master patient index: matching tools');
  mpi
    .command('evaluate')
    .description(
      'measure matching: on FEBRL files with the matching core, or (--product) through the product write path',
    )
    .argument('[inputs...]', 'FEBRL CSV files (core: one deduplicated, two linked), or with --product folders too')
    .option('--links <out.csv>', 'core mode: also write every linked pair as rec_id_a,rec_id_b')
    .option('--rules <rules.json>', 'matching rules file (default: the bundled default-rules.v3.json)')
    .option('--no-em', 'core mode: use the configured m and u instead of estimating them by EM')
    .option('--no-term-frequency', 'core mode: do not adjust name agreement by how common the name is')
    .option('--product', 'write the records through the product write path into a scratch embedded database')
    .option('--nhs-number-column <name>', 'product mode, FEBRL input: the column holding an NHS number')
    .option('--verified <true|false|column>', 'product mode: whether those NHS numbers are verified (default false)')
    .option(
      '--other-id-column <name>',
      "product mode, FEBRL input: a column compared as a weak identifier (the rules' otherIdSystem), e.g. soc_sec_id",
    )
    .option('--truth <truth.csv>', 'product mode, FHIR folders: patient_id,entity for every Patient')
    .option('--county', 'product mode: the built-in UK-shaped synthetic county set (no inputs)')
    .option('--people <n>', 'with --county: people in the county (default 3500)')
    .option('--seed <n>', 'with --county: the seed (default 13)')
    .option('--details <out.json>', 'product mode: also write every false link, missed pair and review')
    .action(
      action(async (inputs: string[], flags: EvaluateFlags) => {
        if (flags.product === true || flags.county === true) return evaluateProduct(inputs, flags);
        if (inputs.length < 1 || inputs.length > 2) throw new CliError('give one FEBRL file, or two to link');
        const [file, second] = inputs as [string, string | undefined];
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
          writeOut(flags.links, `${csv}\n`);
        }
        const seconds = Math.round(performance.now() - started) / 1000;
        process.stdout.write(`${JSON.stringify({ files: inputs, ...report, seconds }, null, 2)}\n`);
      }),
    );
  mpi
    .command('synthetic')
    .description('write the UK-shaped synthetic county set: a folder of FHIR Patients per source, and truth.csv')
    .argument('<out-dir>', 'folder to write (created)')
    .option('--people <n>', 'people in the county (default 3500)')
    .option('--seed <n>', 'the seed (default 13)')
    .action(
      action(async (out: string, flags: { people?: string; seed?: string }) => {
        const set = countySet({
          people: intFlag('--people', flags.people, 3500),
          seed: intFlag('--seed', flags.seed, 13),
        });
        for (const s of set.sources) {
          mkdirSync(path.join(out, s.name), { recursive: true });
          writeOut(
            path.join(out, s.name, 'patients.ndjson'),
            s.patients.map((p) => JSON.stringify(p)).join('\n') + '\n',
          );
        }
        writeOut(
          path.join(out, 'truth.csv'),
          ['patient_id,entity', ...[...set.truth].map(([p, e]) => `${p},${e}`)].join('\n') + '\n',
        );
        process.stdout.write(
          `${JSON.stringify({ out, sources: set.sources.map((s) => ({ name: s.name, records: s.patients.length })), variations: set.stats }, null, 2)}\n`,
        );
      }),
    );
  return mpi;
}

/** The identifier system `--other-id-column` values are written under. */
const OTHER_ID_SYSTEM = 'urn:icr:evaluate:other-id';

async function evaluateProduct(inputs: string[], flags: EvaluateFlags): Promise<void> {
  const loaded = loadRules(flags.rules);
  const rules = flags.otherIdColumn !== undefined ? { ...loaded, otherIdSystem: OTHER_ID_SYSTEM } : loaded;
  let sources: EvaluationSource[];
  let entityOf: (id: string) => string | undefined;
  let variations: Record<string, number> | undefined;
  if (flags.county === true) {
    if (inputs.length > 0) throw new CliError('--county takes no input files');
    const set = countySet({ people: intFlag('--people', flags.people, 3500), seed: intFlag('--seed', flags.seed, 13) });
    sources = set.sources;
    entityOf = (id) => set.truth.get(id);
    variations = set.stats;
  } else {
    if (inputs.length === 0) throw new CliError('give FEBRL files or folders of FHIR Patients (or --county)');
    const verified =
      flags.verified === undefined
        ? false
        : flags.verified === 'true'
          ? true
          : flags.verified === 'false'
            ? false
            : flags.verified;
    const truth = flags.truth !== undefined ? readTruth(flags.truth) : undefined;
    const febrlIds = new Map<string, string>();
    sources = inputs.map((input) => {
      const name = path.basename(input).replace(/\.[^.]*$/, '');
      if (isDirectory(input)) return { name, patients: readPatientFolder(input) };
      const rows = parseFebrlRows(readText(input), input, [
        ...(flags.nhsNumberColumn !== undefined ? [flags.nhsNumberColumn] : []),
        ...(flags.otherIdColumn !== undefined ? [flags.otherIdColumn] : []),
        ...(typeof verified === 'string' ? [verified] : []),
      ]);
      for (const r of rows) febrlIds.set(patientIdFor(r.id), r.id);
      return {
        name,
        patients: febrlAsPatients(rows, {
          source: name,
          ...(flags.nhsNumberColumn !== undefined ? { nhsNumberColumn: flags.nhsNumberColumn } : {}),
          ...(flags.otherIdColumn !== undefined
            ? { otherId: { column: flags.otherIdColumn, system: OTHER_ID_SYSTEM } }
            : {}),
          verified,
        }),
      };
    });
    entityOf = (id) => truth?.get(id) ?? (febrlIds.has(id) ? febrlEntity(febrlIds.get(id) as string) : undefined);
    const unknown = sources.flatMap((s) => s.patients).find((p) => entityOf(p.id) === undefined);
    if (unknown !== undefined)
      throw new CliError(`Patient ${unknown.id}: no true entity (FHIR folders need --truth patient_id,entity)`);
  }

  const db = await openPglite();
  try {
    await migrate(db);
    const { records } = createServices(db, { mpiRules: rules });
    const progress = process.stderr.isTTY ? ttyProgress() : lineProgress();
    const report = await evaluateProductPath({
      db,
      engine: coreMatchEngine(rules),
      sources,
      entityOf,
      onProgress: progress,
      ...(flags.details !== undefined ? { listLimit: 1_000_000 } : {}),
      write: async (patients) => {
        const results = await records.putMany(
          { ...SYSTEM_ACTOR, via: { channel: 'cli' } },
          patients.map((resource) => ({ resource })),
        );
        return results.flatMap((r) => ('error' in r ? [{ index: r.index, error: r.error.message }] : []));
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    const { falseLinks, missedSample, reviewSample, ...figures } = report;
    if (flags.details !== undefined)
      writeOut(flags.details, `${JSON.stringify({ falseLinks, missedSample, reviewSample }, null, 2)}\n`);
    const out = {
      inputs: flags.county === true ? ['--county'] : inputs,
      ...(variations ? { variations } : {}),
      ...figures,
      // Every false link is shown, with the fields that made it.
      falseLinks,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await db.close();
  }
}

function intFlag(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${name} must be a positive integer`);
  return n;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new IcrError(
      'ICR_MPI_INPUT_INVALID',
      `${file}: cannot read file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The Patients of a folder: `.json` (a Patient or a Bundle of them) and `.ndjson` files, sorted by name. */
function readPatientFolder(dir: string): Patient[] {
  const out: Patient[] = [];
  const files = readdirSync(dir)
    .filter((f) => /\.(json|ndjson|jsonl)$/.test(f))
    .sort();
  for (const f of files) {
    const file = path.join(dir, f);
    const text = readText(file);
    const parse = (t: string, line: number): unknown => {
      try {
        return JSON.parse(t);
      } catch {
        throw new IcrError('ICR_MPI_INPUT_INVALID', `${file}:${line}: not valid JSON`);
      }
    };
    const take = (r: unknown, line: number) => {
      const res = r as { resourceType?: unknown; id?: unknown; entry?: Array<{ resource?: unknown }> };
      if (res.resourceType === 'Bundle') for (const e of res.entry ?? []) take(e.resource, line);
      else if (res.resourceType === 'Patient') {
        if (typeof res.id !== 'string')
          throw new IcrError('ICR_MPI_INPUT_INVALID', `${file}:${line}: a Patient without an id`);
        out.push(res as Patient);
      }
    };
    if (f.endsWith('.json')) take(parse(text, 1), 1);
    else
      text.split(/\r?\n/).forEach((l, i) => {
        if (l.trim() !== '') take(parse(l, i + 1), i + 1);
      });
  }
  return out;
}

function readTruth(file: string): Map<string, string> {
  const out = new Map<string, string>();
  readText(file)
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (i === 0 || line.trim() === '') return;
      const [id, entity] = line.split(',').map((c) => c.trim());
      if (!id || !entity) throw new IcrError('ICR_MPI_INPUT_INVALID', `${file}:${i + 1}: expected patient_id,entity`);
      out.set(id, entity);
    });
  return out;
}

function writeOut(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (cause) {
    throw new CliError(`${file}: cannot write (${(cause as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function ttyProgress(): (stage: string, done: number, total: number) => void {
  return (stage, done, total) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    process.stderr.write(`\r\x1b[K${stage} ${pct}% (${done}/${total})`);
  };
}

/** Not a terminal: one line per 10 % (a long run still shows it is alive in a log). */
function lineProgress(): (stage: string, done: number, total: number) => void {
  let last = -1;
  return (stage, done, total) => {
    const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
    if (tenth === last) return;
    last = tenth;
    process.stderr.write(`${stage}: ${done}/${total}\n`);
  };
}

/**
 * `npm run bench:mpi-county`: what users get from the MPI — `icr mpi evaluate --product` on the UK-shaped
 * synthetic county (two seeds) and on FEBRL 4 (with and without `soc_sec_id` as the weak identifier), each in
 * a fresh in-memory PGlite through the records service's set write. Writes the section "## MPI on
 * county-shaped records" of bench/README.md (quality figures, linking speed on PGlite, peak RSS).
 *
 *   node bench/mpi-county.ts [--people 3500] [--no-febrl] [--no-write]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createServices } from '../src/compose.ts';
import { febrlEntity, parseFebrlRows } from '../src/mpi/febrl.ts';
import { loadRules } from '../src/mpi/rules/load-rules.ts';
import type { MatchRules } from '../src/mpi/rules/rules.ts';
import { countySet } from '../src/mpi/synthetic-county.ts';
import { coreMatchEngine } from '../src/records/mpi/engine.ts';
import {
  type EvaluationSource,
  evaluateProductPath,
  febrlAsPatients,
  type ProductEvaluationReport,
} from '../src/records/mpi/product-evaluate.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { migrate } from '../src/store/migrate.ts';
import { openPglite } from '../src/store/pglite-db.ts';
import { machine, writeSection } from './report.ts';

const { values: args } = parseArgs({
  options: {
    people: { type: 'string', default: '3500' },
    'no-febrl': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const README = path.resolve(import.meta.dirname, 'README.md');
const FEBRL = path.resolve(import.meta.dirname, '../../shared/data/febrl');
const SECTION = '## MPI on county-shaped records';
const startedAt = machine();

async function run(
  name: string,
  rules: MatchRules,
  sources: EvaluationSource[],
  entityOf: (id: string) => string | undefined,
): Promise<{ name: string; r: ProductEvaluationReport }> {
  const db = await openPglite();
  try {
    await migrate(db);
    const { records } = createServices(db, { mpiRules: rules });
    const r = await evaluateProductPath({
      db,
      engine: coreMatchEngine(rules),
      sources,
      entityOf,
      onProgress: (stage, done, total) => {
        if (done % 1000 < 100 || done === total) process.stderr.write(`${name}: ${stage} ${done}/${total}\n`);
      },
      write: async (patients) =>
        (
          await records.putMany(
            SYSTEM_ACTOR,
            patients.map((resource) => ({ resource })),
          )
        ).flatMap((x) => ('error' in x ? [{ index: x.index, error: x.error.message }] : [])),
    });
    return { name, r };
  } finally {
    await db.close();
  }
}

const rules = loadRules();
const results: Array<{ name: string; r: ProductEvaluationReport }> = [];
for (const seed of [13, 2026]) {
  const set = countySet({ seed, people: Number(args.people) });
  results.push(await run(`UK county, seed ${seed}`, rules, set.sources, (id) => set.truth.get(id)));
}
if (!args['no-febrl']) {
  const febrl = (otherId: boolean): EvaluationSource[] =>
    ['dataset4a', 'dataset4b'].map((name) => ({
      name,
      patients: febrlAsPatients(parseFebrlRows(readFileSync(path.join(FEBRL, `${name}.csv`), 'utf8'), name), {
        source: name,
        ...(otherId ? { otherId: { column: 'soc_sec_id', system: 'urn:icr:evaluate:other-id' } } : {}),
      }),
    }));
  results.push(
    await run(
      'FEBRL 4, soc_sec_id as weak identifier',
      { ...rules, otherIdSystem: 'urn:icr:evaluate:other-id' },
      febrl(true),
      febrlEntity,
    ),
  );
  results.push(await run('FEBRL 4, names and address only', rules, febrl(false), febrlEntity));
}
const peak = Math.round(process.resourceUsage().maxRSS / 1024);

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
const rows = results.map(
  ({ name, r }) =>
    `| ${name} | ${r.records.toLocaleString('en-GB')} | ${r.truePairs.toLocaleString('en-GB')} | ${r.pairsCompleteness.toFixed(4)} | ${r.clusters.precision.toFixed(4)} | ${r.clusters.recall.toFixed(4)} | ${r.clusters.f1.toFixed(4)} | ${r.reviews.open} | ${pct(r.reviews.shareOfRecords)} | ${r.reviews.trueMatches} | ${r.reviews.uncertain} (${pct(r.reviews.open === 0 ? 1 : r.reviews.uncertain / r.reviews.open)}) | ${r.falseLinkCount} | ${r.recordsPerSecond} |`,
);
const falseLinks = results.flatMap(({ name, r }) =>
  r.falseLinks.map((f) => {
    const o = f.others[0]?.record;
    const show = (x: typeof f.record | undefined) =>
      x
        ? `${x.given ?? '–'} ${x.family ?? '–'} ${x.birthDate ?? '–'} ${x.sex ?? '–'} ${x.postcode ?? '–'} NHS ${x.nhsNumber ?? '–'}`
        : '–';
    const vector = f.vector as Record<string, { level: string }> | null;
    const fields = vector
      ? Object.entries(vector)
          .filter(([, v]) => v.level !== 'missing')
          .map(([k, v]) => `${k} ${v.level}`)
          .join(', ')
      : `(joined by ${f.method}: the founding record of the person)`;
    return `- ${name}: \`${f.patient}\` (${show(f.record)}) with \`${f.others[0]?.patient ?? '?'}\` (${show(o)}), ${f.method}${f.score !== null ? ` score ${f.score.toFixed(1)}` : ''}: ${fields}`;
  }),
);
const text = `${SECTION}

Run with \`npm run bench:mpi-county\` (bench/mpi-county.ts). Machine: ${startedAt}. Peak RSS ${peak} MiB.

**What users get.** Each row is \`icr mpi evaluate --product\`: the records are written as source Patients through the
records service's set write (validation, versioned store, search index, MPI person resolver — the same blocking,
rules \`${rules.version}\`, guards, NHS-number semantics and set-based statements as any channel; sets of 100) into a
fresh in-memory PGlite, in source order (GP, hospital, social care, ambulance; FEBRL 4a then 4b). Then the persons are
read back and scored against the truth: every pair of records in one person is a predicted pair. "Reviews" are the
open reviews at the end; "% of records" counts the records with at least one; "true" are reviews of two records of
one entity; "uncertain" are those neither a plain match nor a plain non-match by the stored comparison vector
(\`reviewClass\` in src/records/mpi/product-evaluate.ts). Records/s is the write path on PGlite on a shared machine
(PostgreSQL bulk linking: "MPI matching in the database" below).

The UK county set (src/mpi/synthetic-county.ts, ${Number(args.people).toLocaleString('en-GB')} people): a GP practice (95 % of people,
verified NHS numbers), a hospital (55 %, mostly verified), social care (15 %, half without an NHS number, none verified) and
an ambulance service (15 %, 80 % without), with nicknames, initials, typos, double-barrelled surnames written three ways,
married surnames (kept as \`use: old\` at the GP, or only the old one held by older sources), house moves, missing and
partial postcodes, day/month swaps, one-digit date typos, transposed and mistyped NHS numbers, a wrong but verified NHS
number, initial and year of birth only; twins, parents and children with the same name at one address, and common
names with the same date of birth. FEBRL 4 has no NHS numbers; its \`soc_sec_id\` may be given as the rules' weak
identifier (\`--other-id-column soc_sec_id\`), as the matching core does; without it, duplicates whose given name,
family name or date of birth was replaced are held at review by the twin and parent-and-child guards.

| set | records | true pairs | pairs completeness | precision | recall | F1 | reviews | % of records | true | uncertain | false links | records/s |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join('\n')}

Every false link of these runs, with the fields that made it (the comparison vector stored with the link):

${falseLinks.length === 0 ? '- none' : falseLinks.join('\n')}

Why (docs/mpi.md): a false link here so far has always been a common name with the same date of birth, one record
at another address (or none) and no NHS number in common — which the rules cannot tell from a house move.
`;
process.stdout.write(`${text}\n`);
if (!args['no-write']) await writeSection(README, SECTION, text);

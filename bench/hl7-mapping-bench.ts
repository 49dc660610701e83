/**
 * HL7 v2 parse and map cost per message (no database): every accepted message of the shared samples
 * (`../shared/data/hl7v2`), parsed alone and parsed then mapped to FHIR, `ROUNDS` times (default 20).
 * Prints messages/s for both and the peak RSS. Run: `node bench/hl7-mapping-bench.ts`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeHl7, parseMessages } from '../src/ingest/hl7v2/parse.ts';
import { mapMessage } from '../src/ingest/mapping/index.ts';

const DATA = path.resolve(import.meta.dirname, '../../shared/data/hl7v2');
if (!existsSync(DATA)) {
  console.error(`no HL7 v2 samples at ${DATA}`);
  process.exit(1);
}
const rounds = Number(process.env.ROUNDS ?? 20);
const texts: string[] = [];
for (const f of readdirSync(DATA).filter((x) => x.endsWith('.hl7'))) {
  let text: string;
  try {
    text = decodeHl7(readFileSync(path.join(DATA, f)));
  } catch {
    continue;
  }
  for (const r of parseMessages(text)) if (r.message) texts.push(r.text);
}
const ctx = { feedId: 'bench', orgOds: 'RX1' };

function run(map: boolean): number {
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (let i = 0; i < rounds; i++) {
    for (const t of texts) {
      const msg = parseMessages(t)[0]?.message;
      if (map && msg) {
        try {
          mapMessage(ctx, msg);
        } catch {
          // a mapping error is a result too (the message fails with its reason)
        }
      }
      n += 1;
    }
  }
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const parseOnly = run(false);
const parseAndMap = run(true);
console.log(
  JSON.stringify({
    messages: texts.length,
    rounds,
    parseOnlyPerSecond: Math.round(parseOnly),
    parseAndMapPerSecond: Math.round(parseAndMap),
    ratio: Number((parseAndMap / parseOnly).toFixed(2)),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);

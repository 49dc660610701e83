import { readdirSync, readFileSync } from 'node:fs';
import { decodeHl7, parseMessages, Hl7ParseError } from '../src/ingest/hl7v2/parse.ts';
const dir = '/work/shared/data/hl7v2';
for (const f of readdirSync(dir).filter((f) => f.endsWith('.hl7')).sort()) {
  let res: string;
  try {
    const out = parseMessages(decodeHl7(readFileSync(`${dir}/${f}`)));
    res = out.length === 0 ? 'NO MESSAGES' : out.map((o) => (o.message ? `OK ${o.message.type} ${o.message.header.version} segs=${o.message.segments.length}` : `ERR ${o.error?.message}`)).join(' | ');
  } catch (e) { res = `THROW ${(e as Error).message}`; }
  console.log(f.padEnd(62), res);
}

import { readdirSync, readFileSync } from 'node:fs';
import { decodeHl7, parseMessages } from '../src/ingest/hl7v2/parse.ts';
import { mapMessage } from '../src/ingest/mapping/index.ts';
import { initValidation, validateResource } from '../src/fhir/validation.ts';
initValidation();
const dir = '/work/shared/data/hl7v2';
for (const f of readdirSync(dir).filter((f) => f.endsWith('.hl7')).sort()) {
  let text; try { text = decodeHl7(readFileSync(`${dir}/${f}`)); } catch { continue; }
  for (const r of parseMessages(text)) {
    if (!r.message) continue;
    try {
      const m = mapMessage({ feedId: 'f', orgOds: 'RX1' }, r.message);
      if ('unsupported' in m) { console.log(f.padEnd(60), 'unsupported'); continue; }
      const issues = m.resources.flatMap((res) => validateResource(res).filter((i) => i.severity === 'error').map((i) => `${res.resourceType}: ${i.expression ?? ''} ${i.message}`));
      console.log(f.padEnd(60), m.resources.map((x) => x.resourceType).join(','), issues.length ? 'ISSUES ' + issues.join(' ; ') : 'ok');
    } catch (e) { console.log(f.padEnd(60), 'THROW', (e as Error).message); }
  }
}

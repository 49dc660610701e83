/**
 * Turns the element paths of @medplum/core (`Observation.value[x].value`) into FHIRPath expressions
 * (`Observation.value.ofType(Quantity).value`), reading the resource to find which type a choice
 * element holds. Other paths (`Patient.name[0].given[1]`) are already FHIRPath and pass unchanged.
 */

const PRIMITIVES = new Set([
  'base64Binary',
  'boolean',
  'canonical',
  'code',
  'date',
  'dateTime',
  'decimal',
  'id',
  'instant',
  'integer',
  'markdown',
  'oid',
  'positiveInt',
  'string',
  'time',
  'unsignedInt',
  'uri',
  'url',
  'uuid',
]);

const CHOICE = /^(.+)\[x\]$/;
const INDEXED = /^(.+)\[(\d+)\]$/;

export function toFhirPath(path: string, resource: unknown): string {
  if (!path.includes('[x]')) return path;
  const segments = path.split('.');
  let current: unknown = resource;
  const out: string[] = [segments[0] ?? ''];
  for (const segment of segments.slice(1)) {
    const choice = CHOICE.exec(segment);
    if (choice?.[1]) {
      const key = choiceKey(current, choice[1]);
      if (key === undefined) {
        out.push(segment);
        current = undefined;
        continue;
      }
      out.push(`${choice[1]}.ofType(${typeName(key.slice(choice[1].length))})`);
      current = property(current, key);
      continue;
    }
    out.push(segment);
    const indexed = INDEXED.exec(segment);
    current = indexed?.[1] ? property(property(current, indexed[1]), indexed[2] ?? '') : property(current, segment);
  }
  return out.join('.');
}

function choiceKey(obj: unknown, stem: string): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  for (const key of Object.keys(obj)) {
    const name = key.startsWith('_') ? key.slice(1) : key;
    const next = name.charAt(stem.length);
    if (name.startsWith(stem) && next >= 'A' && next <= 'Z') return name;
  }
  return undefined;
}

function typeName(suffix: string): string {
  const lower = suffix.charAt(0).toLowerCase() + suffix.slice(1);
  return PRIMITIVES.has(lower) ? lower : suffix;
}

function property(obj: unknown, key: string): unknown {
  return typeof obj === 'object' && obj !== null ? (obj as Record<string, unknown>)[key] : undefined;
}

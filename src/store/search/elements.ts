/**
 * `_elements`: keeps only the named top-level elements of a matched resource (plus resourceType, id and
 * meta), and marks it with the SUBSETTED tag. This is the one place search parses stored JSON.
 */
import type { FhirResource } from '../../fhir/types.ts';
import type { Row } from './types.ts';

export const SUBSETTED_TAG = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'subsetted',
} as const;

const ALWAYS = new Set(['resourceType', 'id', 'meta']);

/** Whether JSON key `key` is the element `name` (`value[x]` / `value` also keep `valueQuantity`, …). */
function keeps(name: string, key: string): boolean {
  const base = name.endsWith('[x]') ? name.slice(0, -3) : name;
  if (key === base || key === `_${base}`) return true;
  return key.startsWith(base) && /^[A-Z]/.test(key.slice(base.length));
}

export function applyElements(row: Row, elements: readonly string[]): Row {
  const resource = JSON.parse(row.json) as FhirResource;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (ALWAYS.has(key) || elements.some((e) => keeps(e, key))) out[key] = value;
  }
  const meta = { ...(resource.meta ?? {}) };
  meta.tag = [...(meta.tag ?? []).filter((t) => t.code !== SUBSETTED_TAG.code), { ...SUBSETTED_TAG }];
  out.meta = meta;
  return { ...row, json: JSON.stringify(out) };
}

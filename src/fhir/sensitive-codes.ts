/**
 * Sensitive code lists (DESIGN.md §6: sensitive information never enters the store): the codes of FHIR
 * ValueSets (compose.include[].concept[] and expansion.contains[]), and a check of whether a resource
 * carries any of them in any Coding, however deep. Pure, no I/O; the lists are loaded by
 * src/ingest/sensitive/.
 */

export class SensitiveCodes {
  readonly #codes = new Set<string>();
  /** The ValueSets the codes came from (url or name), for the start-up log. */
  readonly sources: readonly string[];

  constructor(codes: Iterable<{ system: string; code: string }>, sources: readonly string[] = []) {
    for (const c of codes) this.#codes.add(`${c.system}|${c.code}`);
    this.sources = sources;
  }

  get size(): number {
    return this.#codes.size;
  }

  /** Codes of the given ValueSet resources; throws naming the position of one that is not a ValueSet. */
  static fromValueSets(valueSets: readonly unknown[]): SensitiveCodes {
    const codes: Array<{ system: string; code: string }> = [];
    const sources: string[] = [];
    valueSets.forEach((vs, n) => {
      const v = vs as {
        resourceType?: unknown;
        url?: unknown;
        name?: unknown;
        compose?: { include?: Array<{ system?: unknown; concept?: Array<{ code?: unknown }> }> };
        expansion?: { contains?: Array<{ system?: unknown; code?: unknown }> };
      };
      if (v.resourceType !== 'ValueSet') throw new Error(`code list ${n + 1} is not a FHIR ValueSet`);
      sources.push(typeof v.url === 'string' ? v.url : typeof v.name === 'string' ? v.name : `ValueSet ${n + 1}`);
      for (const inc of v.compose?.include ?? []) {
        if (typeof inc.system !== 'string') continue;
        for (const c of inc.concept ?? [])
          if (typeof c.code === 'string') codes.push({ system: inc.system, code: c.code });
      }
      for (const c of v.expansion?.contains ?? []) {
        if (typeof c.system === 'string' && typeof c.code === 'string') codes.push({ system: c.system, code: c.code });
      }
    });
    return new SensitiveCodes(codes, sources);
  }

  has(system: string, code: string): boolean {
    return this.#codes.has(`${system}|${code}`);
  }

  /** Whether any Coding (an object with a string system and code) anywhere in `value` is on a list. */
  carries(value: unknown): boolean {
    if (this.#codes.size === 0 || typeof value !== 'object' || value === null) return false;
    if (Array.isArray(value)) return value.some((v) => this.carries(v));
    const o = value as Record<string, unknown>;
    if (typeof o.system === 'string' && typeof o.code === 'string' && this.has(o.system, o.code)) return true;
    for (const k in o) {
      const v = o[k];
      if (typeof v === 'object' && v !== null && this.carries(v)) return true;
    }
    return false;
  }
}

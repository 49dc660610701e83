/**
 * Every official R4 example of a type OpenICR stores is PUT through the HTTP API and read back equal
 * (apart from meta.versionId and meta.lastUpdated), or refused with a 4xx OperationOutcome. The refused
 * set must be exactly EXPECTED_REFUSALS: the same examples the validation tests expect the validator to
 * refuse (test/fhir-examples-validation.test.ts keeps that list but does not export it; keep the two in
 * step). AuditEvent examples are left out: `/fhir/AuditEvent` is the audit trail itself (docs/audit.md). They are
 * written as a clinician (a writer role) and read back as the product itself, since whether a clinician
 * may read each example depends on relationships the examples do not carry (test/access-*.test.ts).
 * Skips when ../shared/data is absent.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSupportedType } from '../src/fhir/types.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const specDir = path.resolve(import.meta.dirname, '../../shared/data/fhir-examples/r4-spec');

/** file → why the server refuses it (mirrors EXPECTED_REFUSALS in test/fhir-examples-validation.test.ts). */
const EXPECTED_REFUSALS: Record<string, string> = {
  'medicationrequest0301.json': 'dispenseRequest.performer references a Practitioner; R4 allows only Organization',
};

interface Example {
  file: string;
  resource: { resourceType: string; id?: string; meta?: Record<string, unknown> } & Record<string, unknown>;
}

function examples(): Example[] {
  return (
    readdirSync(specDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((file) => ({
        file,
        resource: JSON.parse(readFileSync(path.join(specDir, file), 'utf8')) as Example['resource'],
      }))
      // `/fhir/AuditEvent` is the audit trail (docs/audit.md): read-only, for privacy officers; not a store round trip.
      .filter((e) => isSupportedType(e.resource.resourceType) && e.resource.resourceType !== 'AuditEvent')
  );
}

function withoutVersionMeta(r: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(r);
  const meta = copy.meta as Record<string, unknown> | undefined;
  if (meta) {
    delete meta.versionId;
    delete meta.lastUpdated;
    if (Object.keys(meta).length === 0) delete copy.meta;
  }
  return copy;
}

for (const kind of testDatabases) {
  describe(
    `R4 examples round trip through the API (${kind})`,
    { skip: !existsSync(specDir) && `no test data at ${specDir}` },
    () => {
      let ta: TestApp;
      let auth: string;
      before(async () => {
        ta = await openTestApp(kind);
        auth = await ta.auth('gp-a81001');
      });
      after(async () => {
        await ta.close();
      });

      it('stores and returns every example unchanged, refusing exactly the expected ones', async () => {
        const all = examples();
        assert.ok(all.length > 100, `expected the R4 examples in ${specDir}, found ${all.length}`);
        const refused: string[] = [];
        const failures: string[] = [];
        for (const { file, resource } of all) {
          const { resourceType } = resource;
          const id =
            resource.id ??
            `example-${file
              .replace(/\.json$/, '')
              .replace(/[^A-Za-z0-9-.]/g, '-')
              .slice(0, 60)}`;
          const sent = { ...resource, id };
          const put = await ta.app.inject({
            method: 'PUT',
            url: `/fhir/${resourceType}/${id}`,
            headers: { authorization: auth, 'content-type': 'application/fhir+json' },
            payload: JSON.stringify(sent),
          });
          if (put.statusCode >= 400) {
            const body = JSON.parse(put.body) as { resourceType?: string };
            if (put.statusCode >= 500 || body.resourceType !== 'OperationOutcome') {
              failures.push(`${file}: ${put.statusCode} ${put.body.slice(0, 200)}`);
            }
            refused.push(file);
            continue;
          }
          if (put.statusCode !== 201 && put.statusCode !== 200) failures.push(`${file}: PUT gave ${put.statusCode}`);
          const read = await ta.records.read(SYSTEM_ACTOR, resourceType, id).catch((err: unknown) => err as Error);
          if (read instanceof Error || read.json === null) {
            failures.push(`${file}: read failed`);
            continue;
          }
          try {
            assert.deepEqual(
              withoutVersionMeta(JSON.parse(read.json) as Record<string, unknown>),
              withoutVersionMeta(sent),
            );
          } catch {
            failures.push(`${file}: read back differs from what was sent`);
          }
        }
        assert.deepEqual(failures, []);
        assert.deepEqual(refused.sort(), Object.keys(EXPECTED_REFUSALS).sort());
      });
    },
  );
}

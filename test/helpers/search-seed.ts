/**
 * Writes resources straight into `resource` and indexes them, for search tests that must not depend on
 * the resource store. Each resource gets version 1, a lastUpdated (given or a fixed default) and its
 * patient/person key (the Patient itself, or the `subject`/`patient` reference).
 */
import type { Db } from '../../src/store/db.ts';
import { indexResources } from '../../src/store/indexing/index-resources.ts';
import type { FhirResource } from '../../src/fhir/types.ts';

export type SeedResource = FhirResource & { id: string };

function patientOf(r: SeedResource): string | null {
  if (r.resourceType === 'Patient') return r.id;
  for (const key of ['subject', 'patient']) {
    const ref = (r[key] as { reference?: string } | undefined)?.reference;
    const m = ref ? /^Patient\/(.+)$/.exec(ref) : null;
    if (m?.[1]) return m[1];
  }
  return null;
}

export async function seed(
  db: Db,
  resources: readonly SeedResource[],
  lastUpdated = '2024-05-01T12:00:00.000Z',
): Promise<void> {
  await db.transaction(async (tx) => {
    const items = resources.map((r) => {
      const lu = r.meta?.lastUpdated ?? lastUpdated;
      const resource = { ...r, meta: { ...(r.meta ?? {}), versionId: '1', lastUpdated: lu } };
      return { resource, lu, patient: patientOf(r) };
    });
    await tx.query(
      `insert into resource (resource_type, id, version_id, last_updated, content, patient_id, person_id)
       select t, i, 1, lu, c, p, p from unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[]) as u(t, i, lu, c, p)`,
      [
        items.map((x) => x.resource.resourceType),
        items.map((x) => x.resource.id),
        items.map((x) => x.lu),
        items.map((x) => JSON.stringify(x.resource)),
        items.map((x) => x.patient),
      ],
    );
    await indexResources(
      tx,
      items.map((x) => ({
        resourceType: x.resource.resourceType,
        id: x.resource.id,
        resource: x.resource,
        personId: x.patient,
      })),
    );
  });
}

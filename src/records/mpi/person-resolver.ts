/**
 * The MPI as the resource store's `PersonResolver`: inside the write transaction, each source Patient
 * gets its person (deterministic → probabilistic → new, see mpi-assign.ts), and every other resource gets
 * the person of the Patient it is about.
 *
 * The store passes the Patients written in the same set, so they are matched on what is being written.
 * A stored Patient not yet linked (written before the MPI was switched on) is matched on its stored
 * version; an id the MPI has never seen keeps the identity person (its own id) until its Patient arrives,
 * and then its rows move with it.
 */
import type { FhirResource } from '../../fhir/types.ts';
import { linksFor, patientResources } from '../../store/mpi-store.ts';
import type { PersonResolver } from '../../store/resource-store.ts';
import { assignPatients, type MpiContext } from './assign.ts';

/** `by` names who the automatic links are recorded as made by (default `system:mpi`). */
export function mpiPersonResolver(ctx: MpiContext, by = 'system:mpi'): PersonResolver {
  return {
    async personsFor(tx, patientIds, patients = []) {
      const out = new Map<string, string>();
      if (patientIds.length === 0) return out;
      const inBatch = patients.filter(
        (p): p is FhirResource & { id: string } => p.resourceType === 'Patient' && typeof p.id === 'string',
      );
      const batchIds = new Set(inBatch.map((p) => p.id));
      const others = patientIds.filter((id) => !batchIds.has(id));
      const links = await linksFor(tx, others);
      for (const [id, l] of links) out.set(id, l.personId);
      // Known Patients not yet linked (stored before the MPI was switched on): match their stored version.
      const unlinked = others.filter((id) => !links.has(id));
      const stored = await patientResources(tx, unlinked);
      const toAssign = [...inBatch, ...[...stored.values()].map((t) => JSON.parse(t) as FhirResource & { id: string })];
      if (toAssign.length > 0) {
        const assigned = await assignPatients(tx, ctx, toAssign, by);
        for (const [id, a] of assigned) out.set(id, a.personId);
      }
      for (const id of patientIds) if (!out.has(id)) out.set(id, id);
      return out;
    },
  };
}

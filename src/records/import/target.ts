/**
 * The records service as an import target: set writes through `prepareMany` and `writeMany`, and identifier look-ups through
 * the records service's search (so access rules and audit apply to them as to any search).
 */
import type { Actor } from '../../shared/actor.ts';
import type { ImportTarget } from './import.ts';
import type { RecordsService } from '../records-service.ts';

/** Identifiers per search (a token search with comma-separated values is an OR). */
const PER_SEARCH = 50;

/** Escapes `\`, `,`, `|` and `$` in a token search value (FHIR R4 search, 3.1.1.4.1). */
export function escapeSearchValue(v: string): string {
  return v.replace(/[\\,|$]/g, (c) => `\\${c}`);
}

interface Found {
  entry?: Array<{ resource?: { id?: unknown; identifier?: unknown }; search?: { mode?: string } }>;
}

/** `committed` is told when a set write has committed (a bulk link's index, ADR 0054). */
export function importTargetFor(records: RecordsService, committed?: () => void): ImportTarget {
  return {
    prepareMany: (actor, items) => records.prepareMany(actor, items),
    writeMany: async (actor, set) => {
      const out = await records.writeMany(actor, set);
      committed?.();
      return out;
    },
    async findByIdentifiers(actor: Actor, resourceType: string, identifiers): Promise<Map<string, string[]>> {
      const wanted = new Set(identifiers.map((i) => `${i.system}|${i.value}`));
      const found = new Map<string, string[]>();
      for (let n = 0; n < identifiers.length; n += PER_SEARCH) {
        const chunk = identifiers.slice(n, n + PER_SEARCH);
        const params = new URLSearchParams({
          identifier: chunk.map((i) => `${escapeSearchValue(i.system)}|${escapeSearchValue(i.value)}`).join(','),
          _count: '1000',
        });
        const text = await records.search(actor, resourceType, params, { baseUrl: 'urn:openicr:import' });
        for (const e of (JSON.parse(text) as Found).entry ?? []) {
          const id = e.resource?.id;
          if (e.search?.mode !== 'match' || typeof id !== 'string' || !Array.isArray(e.resource?.identifier)) continue;
          for (const i of e.resource.identifier as Array<{ system?: unknown; value?: unknown }>) {
            const key = `${String(i.system)}|${String(i.value)}`;
            if (!wanted.has(key)) continue;
            const ids = found.get(key) ?? [];
            if (!ids.includes(id)) ids.push(id);
            found.set(key, ids);
          }
        }
      }
      return found;
    },
  };
}

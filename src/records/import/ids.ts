/**
 * Stable ids and reference rewriting for imports, so that importing the same files again changes
 * nothing: an entry keeps its `resource.id`, else the uuid of its `urn:uuid:` fullUrl, else the id in a
 * `PUT Type/id` request, else a hash of (feed, file, position). References to other entries by fullUrl
 * are rewritten to `Type/id`.
 */
import { createHash } from 'node:crypto';

const UUID_URN = /^urn:uuid:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** The deterministic id of an entry that carries none: 32 hex digits of sha-256(feed, source key, position). */
export function hashedId(feedId: string, sourceKey: string, position: number): string {
  return createHash('sha256').update(`${feedId}\u0000${sourceKey}\u0000${position}`).digest('hex').slice(0, 32);
}

/** The stable id of an entry (see the file comment). */
export function stableId(
  entry: {
    resource: { resourceType: string; id?: unknown };
    fullUrl?: string;
    requestMethod?: string;
    requestUrl?: string;
  },
  feedId: string,
  sourceKey: string,
  position: number,
): string {
  const { resource } = entry;
  if (typeof resource.id === 'string' && resource.id !== '') return resource.id;
  const urn = entry.fullUrl ? UUID_URN.exec(entry.fullUrl) : null;
  if (urn?.[1]) return urn[1].toLowerCase();
  if (entry.requestMethod === 'PUT' && entry.requestUrl) {
    const [type, id, extra] = entry.requestUrl.split('?')[0]?.split('/') ?? [];
    if (type === resource.resourceType && id && ID.test(id) && extra === undefined) return id;
  }
  return hashedId(feedId, sourceKey, position);
}

/**
 * The keys by which a reference to this entry may be written: its fullUrl (a `urn:uuid:` or an absolute
 * URL) and, when the entry had an id in the source, `Type/sourceId`.
 */
export function referenceKeys(fullUrl: string | undefined, resourceType: string, sourceId: unknown): string[] {
  const keys: string[] = [];
  if (fullUrl) keys.push(fullUrl);
  if (typeof sourceId === 'string' && sourceId !== '') keys.push(`${resourceType}/${sourceId}`);
  return keys;
}

/**
 * Rewrites, in place, every `reference` string found in `map` (walking the whole resource: references
 * sit at any depth, in extensions and contained resources too). Returns how many were rewritten.
 */
export function rewriteReferences(node: unknown, map: ReadonlyMap<string, string>): number {
  if (map.size === 0 || typeof node !== 'object' || node === null) return 0;
  let n = 0;
  if (Array.isArray(node)) {
    for (const item of node) n += rewriteReferences(item, map);
    return n;
  }
  const obj = node as Record<string, unknown>;
  for (const key in obj) {
    const v = obj[key];
    if (key === 'reference' && typeof v === 'string') {
      const to = map.get(v);
      if (to !== undefined && to !== v) {
        obj[key] = to;
        n++;
      }
    } else if (typeof v === 'object' && v !== null) n += rewriteReferences(v, map);
  }
  return n;
}

/** Types that source systems send again and again as copies: deduplicated by identifier. */
export const DEDUPLICATED_TYPES: ReadonlySet<string> = new Set([
  'Organization',
  'Practitioner',
  'Location',
  'PractitionerRole',
  'Medication',
]);

/** `system|value` of each usable identifier of a resource (both parts present). */
export function identifierKeys(resource: Record<string, unknown>): Array<{ system: string; value: string }> {
  const ids = resource.identifier;
  if (!Array.isArray(ids)) return [];
  const out: Array<{ system: string; value: string }> = [];
  for (const i of ids as unknown[]) {
    if (typeof i !== 'object' || i === null) continue;
    const { system, value } = i as { system?: unknown; value?: unknown };
    if (typeof system === 'string' && system !== '' && typeof value === 'string' && value !== '')
      out.push({ system, value });
  }
  return out;
}

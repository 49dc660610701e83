/**
 * Reference handling for transaction and batch Bundles (FHIR R4 §3.1.0.11.2, Bundle resolution):
 * finding every reference in a resource, telling `urn:uuid:` and conditional references apart, and
 * rewriting them to `Type/id`. Pure functions: no I/O, so they are unit-tested on their own.
 */

const URN_UUID = /urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;

/** `Patient?identifier=sys|val`: a reference by search, resolved by the server at write time. */
export function isConditionalReference(ref: string): boolean {
  return /^[A-Z][A-Za-z]{1,63}\?./.test(ref);
}

/** `urn:uuid:…` or `urn:oid:…`: a reference to another entry of the same Bundle by its fullUrl. */
export function isUrnReference(ref: string): boolean {
  return ref.startsWith('urn:uuid:') || ref.startsWith('urn:oid:');
}

/** Every `reference` string in a JSON value (contained resources included), in document order. */
export function collectReferences(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const v of value) collectReferences(v, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') out.push(v);
      else collectReferences(v, out);
    }
  }
  return out;
}

/**
 * A copy of `value` with references replaced through `map` (fullUrl or conditional reference → `Type/id`):
 * - every `reference` string found in `map`;
 * - any other string (uri, url, canonical) that is exactly a `urn:` key of `map`;
 * - `urn:uuid:` occurrences inside narrative XHTML (`div`) that are keys of `map`.
 * Other values are copied unchanged. The input is not modified.
 */
export function rewriteReferences<T>(value: T, map: ReadonlyMap<string, string>): T {
  return rewrite(value, map, undefined) as T;
}

function rewrite(value: unknown, map: ReadonlyMap<string, string>, key: string | undefined): unknown {
  if (typeof value === 'string') {
    if (key === 'reference') return map.get(value) ?? value;
    if (key === 'div') return value.replace(URN_UUID, (m) => map.get(m) ?? m);
    return isUrnReference(value) ? (map.get(value) ?? value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => rewrite(v, map, key));
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines own properties, so a "__proto__" key cannot change the prototype.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v, map, k)]));
  }
  return value;
}

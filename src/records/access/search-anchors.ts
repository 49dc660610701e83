/**
 * Which person a search is about (DESIGN.md §6 step 2: a clinical search names one person). The anchors
 * are the `patient` and `subject` parameters (`patient=123`, `subject=Patient/123`, `subject:Patient=123`),
 * and for a Patient search `_id`. A chained parameter (`subject:Patient.name=…`) names no one.
 */

const ANCHOR_KEYS = new Set(['patient', 'subject', 'patient:Patient', 'subject:Patient']);
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** A Patient id from a reference value (`123`, `Patient/123`, `…/fhir/Patient/123`); null otherwise. */
function patientIdOf(value: string): string | null {
  const m = /^(?:.*\/)?(?:Patient\/)?([A-Za-z0-9\-.]{1,64})$/.exec(value);
  if (!m?.[1]) return null;
  if (value.includes('/') && !/(?:^|\/)Patient\/[^/]+$/.test(value)) return null;
  return ID.test(m[1]) ? m[1] : null;
}

/**
 * The Patient ids a search is anchored on. Each anchor must name exactly one Patient (a comma list names
 * several people); `invalid` lists anchors that name no Patient or several.
 */
export function personAnchors(resourceType: string, params: URLSearchParams): { ids: string[]; several: boolean } {
  const ids = new Set<string>();
  let several = false;
  for (const [key, value] of params) {
    const anchor = ANCHOR_KEYS.has(key) || (resourceType === 'Patient' && key === '_id');
    if (!anchor) continue;
    const parts = value.split(',');
    if (parts.length > 1) several = true;
    for (const part of parts) {
      const id = patientIdOf(part.trim());
      if (id) ids.add(id);
      else several = true;
    }
  }
  return { ids: [...ids], several };
}

const WITHHELD = /(^|[.:])(address(-[a-z]+)?|phone|telecom|email|general-practitioner)([.:]|$)/;

/** Whether a search filters on an element withheld from restricted persons (address, telecom, GP). */
export function usesWithheldElement(params: URLSearchParams): boolean {
  for (const key of params.keys()) if (WITHHELD.test(key)) return true;
  return false;
}

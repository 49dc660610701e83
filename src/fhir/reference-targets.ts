/**
 * Reference target types. @medplum/core's validator only warns (never refuses) when a reference names
 * a type its element does not allow, and it misreads absolute URLs (`https://host/fhir/Patient/1` is
 * read as type `https:`). This check is driven by the `targetProfile`s of the R4 StructureDefinitions,
 * as indexed by @medplum/core, and refuses:
 *
 * - `Type/id`, `Type/id/_history/vid`, `http(s)://…/Type/id[/_history/vid]` and conditional
 *   `Type?query` references whose type is not one the element allows (`Reference(Any)`, i.e. no
 *   targetProfile or `…/Resource`, allows every type);
 * - relative `X/id` references where `X` is not an R4 resource type (for example `patient/1`);
 * - a `Reference.type` that disagrees with the type named by `Reference.reference`, or is not allowed.
 *
 * Contained (`#id`), `urn:uuid:`/`urn:oid:` and other absolute URLs that do not end in `Type/id` are
 * left alone: their target cannot be known from the text.
 */

const HL7_SD = 'http://hl7.org/fhir/StructureDefinition/';
const ANY = HL7_SD + 'Resource';

const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE = new RegExp(`^([A-Za-z][A-Za-z0-9]*)/${ID}(/_history/${ID})?$`);
const ABSOLUTE = new RegExp(`^https?://\\S+/([A-Z][A-Za-z]+)/${ID}(/_history/${ID})?$`);
const CONDITIONAL = /^([A-Za-z][A-Za-z0-9]*)\?\S*$/;

export interface ReferenceTargetProblem {
  message: string;
  /** `reference` or `type`: the child of the Reference at fault. */
  element: 'reference' | 'type';
}

/** The resource type a reference string names, or undefined when it cannot be told from the text. */
export function referencedType(reference: string, resourceTypes: ReadonlySet<string>): string | undefined {
  const relative = RELATIVE.exec(reference) ?? CONDITIONAL.exec(reference);
  if (relative) return relative[1];
  const absolute = ABSOLUTE.exec(reference);
  if (absolute?.[1] && resourceTypes.has(absolute[1])) return absolute[1];
  return undefined;
}

/**
 * Checks one Reference value against the targetProfiles of its element.
 * @param value the Reference as found in the resource (an object; anything else is ignored here).
 * @param targetProfiles the element's `type[code=Reference].targetProfile`; undefined or empty means any.
 * @param resourceTypes every R4 resource type name.
 */
export function checkReferenceTarget(
  value: unknown,
  targetProfiles: readonly string[] | undefined,
  resourceTypes: ReadonlySet<string>,
): ReferenceTargetProblem[] {
  if (typeof value !== 'object' || value === null) return [];
  const { reference, type } = value as { reference?: unknown; type?: unknown };
  const problems: ReferenceTargetProblem[] = [];
  let named: string | undefined;

  if (typeof reference === 'string') {
    named = referencedType(reference, resourceTypes);
    if (named !== undefined && !resourceTypes.has(named)) {
      problems.push({ element: 'reference', message: `Reference "${reference}" does not name an R4 resource type` });
      named = undefined;
    } else if (named !== undefined && !allows(targetProfiles, named)) {
      problems.push({
        element: 'reference',
        message: `Reference to ${named} is not allowed here; expected ${describe(targetProfiles)}`,
      });
    }
  }

  if (typeof type === 'string') {
    const typeName = type.startsWith(HL7_SD) ? type.slice(HL7_SD.length) : type;
    if (named !== undefined && typeName !== named) {
      problems.push({ element: 'type', message: `Reference.type "${type}" does not match the reference (${named})` });
    } else if (resourceTypes.has(typeName) && !allows(targetProfiles, typeName)) {
      problems.push({
        element: 'type',
        message: `Reference to ${typeName} is not allowed here; expected ${describe(targetProfiles)}`,
      });
    }
  }
  return problems;
}

function allows(targetProfiles: readonly string[] | undefined, resourceType: string): boolean {
  if (!targetProfiles?.length) return true;
  return targetProfiles.some((p) => p === ANY || p === HL7_SD + resourceType);
}

function describe(targetProfiles: readonly string[] | undefined): string {
  const names = (targetProfiles ?? []).map((p) => (p.startsWith(HL7_SD) ? p.slice(HL7_SD.length) : p));
  return names.length === 1 ? (names[0] ?? '') : `one of ${names.join(', ')}`;
}

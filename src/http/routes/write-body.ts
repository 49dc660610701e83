import type { FhirResource } from '../../fhir/types.ts';
import { IcrError } from '../../shared/errors.ts';

/** The request body as a resource of the URL's type, or ICR_INVALID_RESOURCE. */
export function resourceBody(body: unknown, type: string): FhirResource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new IcrError('ICR_INVALID_RESOURCE', 'The body must be a FHIR resource (a JSON object)');
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string') throw new IcrError('ICR_INVALID_RESOURCE', 'The resource has no resourceType');
  if (resourceType !== type) {
    throw new IcrError(
      'ICR_INVALID_RESOURCE',
      `The resourceType "${resourceType.slice(0, 64)}" does not match the URL (${type})`,
      {
        details: [{ message: `resourceType must be ${type}`, expression: `${resourceType.slice(0, 64)}.resourceType` }],
      },
    );
  }
  return body as FhirResource;
}

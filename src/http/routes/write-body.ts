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
  // FHIR's id rule, checked on create too (where the id is then replaced): `"id": null` or an id of 65
  // characters is a malformed resource, not one to store under another id.
  const id = (body as { id?: unknown }).id;
  if (Object.hasOwn(body, 'id') && (typeof id !== 'string' || !FHIR_ID.test(id))) {
    throw new IcrError('ICR_INVALID_RESOURCE', 'The resource id must be 1 to 64 letters, digits, "-" or "."', {
      details: [{ message: 'The resource id must be 1 to 64 letters, digits, "-" or "."', expression: `${type}.id` }],
    });
  }
  return body as FhirResource;
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

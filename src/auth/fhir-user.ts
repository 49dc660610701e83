/**
 * The SMART `fhirUser` of a signed-in user (docs/sign-in.md "fhirUser", ADR 0044): a Practitioner the
 * server synthesises from the user directory, at `Practitioner/icr-user-<user id>`. The `icr-user-` ids
 * are reserved: a read of one is always answered from the directory, never from stored data, so a feed
 * cannot make a user's fhirUser point at someone else. A user id that is not a valid FHIR id (a `:` or
 * `@`, or longer than 55 characters) has no fhirUser. No I/O here.
 */
import type { UserRecord } from '../shared/users.ts';

export const USER_PRACTITIONER_PREFIX = 'icr-user-';
/** The identifier system of OpenICR's users (also the audit trail's). */
export const USER_ID_SYSTEM = 'https://openicr.org/Id/user';
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** The id of the user's Practitioner, or null when the user id cannot be part of a FHIR id. */
export function practitionerIdOf(userId: string): string | null {
  const id = `${USER_PRACTITIONER_PREFIX}${userId}`;
  return FHIR_ID.test(id) ? id : null;
}

/** The user id a reserved Practitioner id names, or null when `id` is not one. */
export function userIdOfPractitioner(id: string): string | null {
  if (!id.startsWith(USER_PRACTITIONER_PREFIX) || !FHIR_ID.test(id)) return null;
  const userId = id.slice(USER_PRACTITIONER_PREFIX.length);
  return userId === '' ? null : userId;
}

/** The Practitioner of a configured user: their id, name and whether they are enabled. */
export function practitionerOf(user: UserRecord, lastUpdated: string): Record<string, unknown> & { id: string } {
  const id = practitionerIdOf(user.id);
  if (id === null) throw new Error(`User id "${user.id.slice(0, 64)}" cannot be a FHIR id`);
  return {
    resourceType: 'Practitioner',
    id,
    meta: {
      versionId: '1',
      lastUpdated,
      tag: [{ system: 'https://openicr.org/fhir/CodeSystem/tag', code: 'synthesised-from-user-directory' }],
    },
    identifier: [{ system: USER_ID_SYSTEM, value: user.id }],
    active: !user.disabled,
    name: [{ text: user.name }],
  };
}

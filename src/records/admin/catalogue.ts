/**
 * The catalogues the admin pages name (areas, roles, audit channels), passed on from the rule layers so
 * that the pages reach only the records layer.
 */
export { ADMIN_AREA_CODES, ADMIN_AREAS, type AdminArea } from '../../access/admin-areas.ts';
export { ROLE_CODES, ROLES } from '../../access/roles.ts';
export { CHANNELS } from '../../audit/audit-query.ts';

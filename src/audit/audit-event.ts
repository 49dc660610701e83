/**
 * Audit entries as FHIR R4 AuditEvents following IHE Basic Audit Log Patterns (BALP): type `rest`, the
 * RESTful interaction as subtype (plus OpenICR's own action code), the BALP action code, the user agent
 * with their role and organisation, the server and client agents, the source, and entities for the
 * patient and for the query or resource. Refusals carry outcome 4 and the error code. No I/O here.
 */
import type { StoredAuditEntry } from '../store/audit-store.ts';

export const AUDIT_SYSTEMS = {
  eventType: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  restful: 'http://hl7.org/fhir/restful-interaction',
  action: 'https://openicr.org/fhir/CodeSystem/audit-action',
  dicom: 'http://dicom.nema.org/resources/ontology/DCM',
  participation: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  roleClass: 'http://terminology.hl7.org/CodeSystem/v3-RoleClass',
  entityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  sourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  actReason: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
  user: 'https://openicr.org/Id/user',
  system: 'https://openicr.org/Id/system',
  client: 'https://openicr.org/Id/smart-client',
  role: 'https://openicr.org/fhir/CodeSystem/role',
  ods: 'https://fhir.nhs.uk/Id/ods-organization-code',
} as const;

const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.';
const BALP_ENTITY_TYPE = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';

/** BALP's RESTful interaction, action code and profile stem for each OpenICR action. */
const ACTIONS: Record<string, { subtype: string; code: 'C' | 'R' | 'U' | 'D' | 'E'; profile?: string }> = {
  read: { subtype: 'read', code: 'R', profile: 'Read' },
  vread: { subtype: 'vread', code: 'R', profile: 'Read' },
  history: { subtype: 'history-instance', code: 'R', profile: 'Read' },
  search: { subtype: 'search-type', code: 'E', profile: 'Query' },
  everything: { subtype: 'operation', code: 'E', profile: 'Query' },
  summary: { subtype: 'operation', code: 'E', profile: 'Query' },
  create: { subtype: 'create', code: 'C', profile: 'Create' },
  update: { subtype: 'update', code: 'U', profile: 'Update' },
  delete: { subtype: 'delete', code: 'D', profile: 'Delete' },
  import: { subtype: 'batch', code: 'C' },
  bundle: { subtype: 'transaction', code: 'E' },
  match: { subtype: 'operation', code: 'E', profile: 'Query' },
  pix: { subtype: 'operation', code: 'E', profile: 'Query' },
  'audit-search': { subtype: 'search-type', code: 'E', profile: 'Query' },
  'audit-read': { subtype: 'read', code: 'R', profile: 'Read' },
};

/** The BALP action code (C, R, U, D, E) of an OpenICR action. */
export function balpAction(action: string): 'C' | 'R' | 'U' | 'D' | 'E' {
  return ACTIONS[action]?.code ?? 'E';
}

/** The OpenICR actions with a given BALP action code, and whether unlisted actions (E) also match. */
export function actionsWithCode(code: string): { actions: string[]; others: boolean } {
  return { actions: Object.keys(ACTIONS).filter((a) => ACTIONS[a]?.code === code), others: code === 'E' };
}

/** The OpenICR actions whose BALP subtype (a RESTful interaction) is `subtype`. */
export function actionsWithSubtype(subtype: string): string[] {
  return Object.keys(ACTIONS).filter((a) => ACTIONS[a]?.subtype === subtype);
}

export const KNOWN_ACTIONS: readonly string[] = Object.keys(ACTIONS);

type Json = Record<string, unknown>;

function coding(system: string, code: string, display?: string): Json {
  return display ? { system, code, display } : { system, code };
}

function purposeOf(basis: string | null): Json[] | undefined {
  if (basis === 'emergency') return [{ coding: [coding(AUDIT_SYSTEMS.actReason, 'ETREAT', 'emergency treatment')] }];
  if (basis === 'relationship' || basis === 'declared' || basis === 'own-organisation') {
    return [{ coding: [coding(AUDIT_SYSTEMS.actReason, 'TREAT', 'treatment')] }];
  }
  return undefined;
}

function entities(e: StoredAuditEntry): Json[] {
  const out: Json[] = [];
  if (e.patientId) {
    const patient: Json = {
      what: { reference: `Patient/${e.patientId}` },
      type: coding(AUDIT_SYSTEMS.entityType, '1', 'Person'),
      role: coding(AUDIT_SYSTEMS.objectRole, '1', 'Patient'),
    };
    if (e.personId) patient.detail = [{ type: 'person', valueString: e.personId }];
    out.push(patient);
  }
  const details: Json[] = [];
  if (e.returned !== null) details.push({ type: 'returned', valueString: String(e.returned) });
  if (e.categories && e.categories.length > 0)
    details.push({ type: 'categories', valueString: e.categories.join(',') });
  if (e.basis) details.push({ type: 'basis', valueString: e.basis });
  const isQuery = e.what.includes('?');
  const object: Json = isQuery
    ? {
        type: coding(AUDIT_SYSTEMS.entityType, '2', 'System Object'),
        role: coding(AUDIT_SYSTEMS.objectRole, '24', 'Query'),
        query: Buffer.from(e.what, 'utf8').toString('base64'),
        description: e.what,
      }
    : {
        what: /^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(\/_history\/\d+)?$/.test(e.what)
          ? { reference: e.what }
          : { display: e.what },
        type: coding(AUDIT_SYSTEMS.entityType, '2', 'System Object'),
        role: coding(AUDIT_SYSTEMS.objectRole, '4', 'Domain Resource'),
        description: e.what,
      };
  if (details.length > 0) object.detail = details;
  out.push(object);
  if (e.requestId) {
    out.push({
      what: { identifier: { value: e.requestId } },
      type: coding(BALP_ENTITY_TYPE, 'XrequestId', 'X-Request-Id'),
    });
  }
  return out;
}

function agents(e: StoredAuditEntry): Json[] {
  const out: Json[] = [];
  if (e.actorKind === 'user') {
    const user: Json = {
      type: { coding: [coding(AUDIT_SYSTEMS.participation, 'IRCP', 'information recipient')] },
      who: {
        identifier: { system: AUDIT_SYSTEMS.user, value: e.actorId },
        ...(e.actorName ? { display: e.actorName } : {}),
      },
      altId: e.actorId,
      ...(e.actorName ? { name: e.actorName } : {}),
      requestor: true,
    };
    if (e.role) user.role = [{ coding: [coding(AUDIT_SYSTEMS.role, e.role)] }];
    const purpose = purposeOf(e.basis);
    if (purpose) {
      if (e.reason && purpose[0]) purpose[0].text = e.reason;
      user.purposeOfUse = purpose;
    }
    out.push(user);
  } else {
    out.push({
      type: { coding: [coding(AUDIT_SYSTEMS.dicom, '110150', 'Application')] },
      who: { identifier: { system: AUDIT_SYSTEMS.system, value: e.actorId } },
      altId: e.actorId,
      requestor: true,
    });
  }
  if (e.clientId) {
    // IHE BALP: the application the user (or system) acted through, named by its OAuth client_id.
    out.push({
      type: { coding: [coding(AUDIT_SYSTEMS.dicom, '110150', 'Application')] },
      who: { identifier: { system: AUDIT_SYSTEMS.client, value: e.clientId } },
      requestor: false,
    });
  }
  if (e.orgOds) {
    out.push({
      type: { coding: [coding(AUDIT_SYSTEMS.roleClass, 'PROV', 'healthcare provider')] },
      who: { identifier: { system: AUDIT_SYSTEMS.ods, value: e.orgOds } },
      requestor: false,
    });
  }
  out.push({
    type: { coding: [coding(AUDIT_SYSTEMS.dicom, '110153', 'Source Role ID')] },
    who: { display: e.channel ? `${e.channel} client` : 'client' },
    requestor: false,
  });
  out.push({
    type: { coding: [coding(AUDIT_SYSTEMS.dicom, '110152', 'Destination Role ID')] },
    who: { display: 'OpenICR' },
    requestor: false,
  });
  return out;
}

/** One stored entry as a BALP AuditEvent. */
export function toAuditEvent(e: StoredAuditEntry): Json {
  const mapped = ACTIONS[e.action];
  const subtype = [coding(AUDIT_SYSTEMS.action, e.action)];
  if (mapped) subtype.unshift(coding(AUDIT_SYSTEMS.restful, mapped.subtype));
  const event: Json = { resourceType: 'AuditEvent', id: e.id };
  if (mapped?.profile && e.outcome === 'allowed') {
    event.meta = { profile: [`${BALP}${e.patientId ? 'Patient' : ''}${mapped.profile}`] };
  }
  Object.assign(event, {
    type: coding(AUDIT_SYSTEMS.eventType, 'rest', 'Restful Operation'),
    subtype,
    action: balpAction(e.action),
    recorded: e.recordedAt.replace(/(\.\d{3})\d{3}Z$/, '$1Z'),
    outcome: e.outcome === 'allowed' ? '0' : '4',
    ...(e.outcome === 'refused' ? { outcomeDesc: `refused: ${e.errorCode ?? 'access denied'}` } : {}),
    agent: agents(e),
    source: {
      observer: { display: 'OpenICR' },
      type: [coding(AUDIT_SYSTEMS.sourceType, '4', 'Application Server')],
    },
    entity: entities(e),
  });
  return event;
}

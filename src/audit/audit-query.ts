/**
 * The search parameters of `GET /fhir/AuditEvent`, parsed into a filter on the audit table: `agent` (or
 * `altid`: the user id), `patient` (a Patient; the service widens it to the person), `organization` (ODS
 * code), `date` (with ge/gt/le/lt/eq prefixes), `subtype` (RESTful interaction or OpenICR action),
 * `action` (C, R, U, D, E), `outcome` (0 success, 4 refused), `channel` (OpenICR's own: fhir, api, viewer, cli,
 * mllp, launch, import, system), `_count`, `_offset`, `_sort` (date or -date).
 * No I/O here; bad input is an IcrError naming the parameter.
 */
import { IcrError } from '../shared/errors.ts';
import type { AuditEntryFilter } from '../store/audit-store.ts';
import { actionsWithCode, actionsWithSubtype } from './audit-event.ts';

export interface AuditQuery {
  filter: Omit<AuditEntryFilter, 'personIds'>;
  /** Patients named by `patient` (the service adds their persons). */
  patients: string[];
}

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 500;

/** The channels an audit entry records (RequestVia in src/shared/actor.ts). */
export const CHANNELS: readonly string[] = ['fhir', 'api', 'viewer', 'cli', 'mllp', 'launch', 'import', 'system'];

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const CODE = /^[A-Za-z0-9\-._:@]{1,128}$/;

function values(raw: string, name: string, strip?: string): string[] {
  return raw.split(',').map((v) => {
    let s = v.trim();
    const bar = s.lastIndexOf('|');
    if (bar >= 0) s = s.slice(bar + 1);
    if (strip && s.startsWith(`${strip}/`)) s = s.slice(strip.length + 1);
    if (!CODE.test(s)) throw new IcrError('ICR_INVALID_SEARCH', `${name}: "${v.slice(0, 80)}" is not a valid value`);
    return s;
  });
}

/** A date or instant as the start and (exclusive) end of the period it names. */
function period(raw: string): { start: Date; end: Date } {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(raw);
  if (m) {
    const y = Number(m[1]);
    const mo = m[2] ? Number(m[2]) - 1 : 0;
    const d = m[3] ? Number(m[3]) : 1;
    const start = new Date(Date.UTC(y, mo, d));
    const end = m[3]
      ? new Date(Date.UTC(y, mo, d + 1))
      : m[2]
        ? new Date(Date.UTC(y, mo + 1, 1))
        : new Date(Date.UTC(y + 1, 0, 1));
    if (start.getUTCMonth() !== mo || Number.isNaN(start.getTime())) throw new Error('bad');
    return { start, end };
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) throw new Error('bad');
  const at = new Date(raw);
  if (Number.isNaN(at.getTime())) throw new Error('bad');
  return { start: at, end: new Date(at.getTime() + 1) };
}

function dateBounds(raws: string[]): { from?: string; to?: string } {
  let from: Date | undefined;
  let to: Date | undefined;
  const later = (a: Date | undefined, b: Date) => (a && a > b ? a : b);
  const earlier = (a: Date | undefined, b: Date) => (a && a < b ? a : b);
  for (const raw of raws) {
    const m = /^(eq|ge|gt|le|lt)?(.+)$/.exec(raw);
    const prefix = m?.[1] ?? 'eq';
    let p: { start: Date; end: Date };
    try {
      p = period(m?.[2] ?? '');
    } catch {
      throw new IcrError('ICR_INVALID_SEARCH', `date: "${raw.slice(0, 80)}" is not a date (YYYY-MM-DD) or instant`);
    }
    if (prefix === 'eq') {
      from = later(from, p.start);
      to = earlier(to, p.end);
    } else if (prefix === 'ge') from = later(from, p.start);
    else if (prefix === 'gt') from = later(from, p.end);
    else if (prefix === 'lt') to = earlier(to, p.start);
    else to = earlier(to, p.end);
  }
  return { ...(from ? { from: from.toISOString() } : {}), ...(to ? { to: to.toISOString() } : {}) };
}

const ALLOWED = new Set([
  'agent',
  'altid',
  'patient',
  'organization',
  'organisation',
  'date',
  'subtype',
  'action',
  'outcome',
  'channel',
  '_count',
  '_offset',
  '_sort',
  '_format',
]);

function nonNegative(raw: string | null, name: string, fallback: number, max: number): number {
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!/^\d{1,9}$/.test(raw) || n > max)
    throw new IcrError('ICR_INVALID_SEARCH', `${name} must be an integer from 0 to ${max}`);
  return n;
}

function intersect(a: string[] | undefined, b: string[]): string[] {
  return a === undefined ? b : a.filter((x) => b.includes(x));
}

export function parseAuditQuery(params: URLSearchParams): AuditQuery {
  for (const key of new Set(params.keys())) {
    if (!ALLOWED.has(key)) {
      throw new IcrError('ICR_UNKNOWN_SEARCH_PARAM', `AuditEvent has no search parameter "${key.slice(0, 60)}"`);
    }
    if (key !== 'date' && params.getAll(key).length > 1) {
      throw new IcrError('ICR_INVALID_SEARCH', `${key} may be given once (separate alternatives with commas)`);
    }
  }
  const filter: AuditQuery['filter'] = {
    limit: nonNegative(params.get('_count'), '_count', DEFAULT_COUNT, MAX_COUNT),
    offset: nonNegative(params.get('_offset'), '_offset', 0, 1_000_000_000),
  };
  const sort = params.get('_sort');
  if (sort !== null && sort !== 'date' && sort !== '-date')
    throw new IcrError('ICR_INVALID_SEARCH', '_sort must be date or -date');
  filter.order = sort === 'date' ? 'asc' : 'desc';
  const agent = params.get('agent') ?? params.get('altid');
  if (agent !== null) filter.actorIds = values(agent, 'agent', 'Practitioner');
  const org = params.get('organization') ?? params.get('organisation');
  if (org !== null) filter.orgs = values(org, 'organization', 'Organization');
  const dates = params.getAll('date');
  if (dates.length > 2) throw new IcrError('ICR_INVALID_SEARCH', 'date may be given at most twice (a range)');
  Object.assign(filter, dateBounds(dates));
  let actions: string[] | undefined;
  const subtype = params.get('subtype');
  if (subtype !== null) {
    actions = values(subtype, 'subtype').flatMap((code) => {
      const rest = actionsWithSubtype(code);
      return rest.length > 0 ? rest : [code];
    });
  }
  const action = params.get('action');
  if (action !== null) {
    const codes = values(action, 'action');
    for (const c of codes) {
      if (!['C', 'R', 'U', 'D', 'E'].includes(c))
        throw new IcrError('ICR_INVALID_SEARCH', 'action must be C, R, U, D or E');
    }
    if (codes.includes('E')) {
      // E is every action that is not a create, read, update or delete.
      const crud = ['C', 'R', 'U', 'D'].filter((c) => !codes.includes(c)).flatMap((c) => actionsWithCode(c).actions);
      if (actions) actions = actions.filter((a) => !crud.includes(a));
      else filter.excludeActions = crud;
    } else {
      actions = intersect(
        actions,
        codes.flatMap((c) => actionsWithCode(c).actions),
      );
    }
  }
  if (actions !== undefined) filter.actions = actions.length > 0 ? actions : ['-none-'];
  const outcome = params.get('outcome');
  if (outcome !== null) {
    const kinds = new Set(
      values(outcome, 'outcome').map((o) => {
        if (o === '0' || o === 'allowed') return 'allowed';
        if (o === '4' || o === '8' || o === '12' || o === 'refused') return 'refused';
        throw new IcrError('ICR_INVALID_SEARCH', 'outcome must be 0 (success) or 4 (refused)');
      }),
    );
    if (kinds.size === 1) filter.outcome = [...kinds][0];
  }
  const channel = params.get('channel');
  if (channel !== null) {
    const channels = values(channel, 'channel');
    for (const c of channels) {
      if (!CHANNELS.includes(c))
        throw new IcrError('ICR_INVALID_SEARCH', `channel must be one of ${CHANNELS.join(', ')}`);
    }
    filter.channels = channels;
  }
  const patient = params.get('patient');
  const patients = patient === null ? [] : values(patient, 'patient', 'Patient');
  for (const p of patients) {
    if (!ID.test(p)) throw new IcrError('ICR_INVALID_SEARCH', `patient: "${p}" is not a valid id`);
  }
  return { filter, patients };
}

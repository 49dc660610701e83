/**
 * The privacy officer's use cases over the audit trail: AuditEvent search and read (IHE BALP), the
 * person's access report, and the signals. Only privacy officers (R0001) and Caldicott guardians (R5105)
 * may use them; anyone else is refused, and the refusal is audited like every access. The trail is read
 * from the audit table directly, never from the clinical `resource` table.
 */
import {
  type AccessReport,
  buildAccessReport,
  renderAccessReportHtml,
  renderAccessReportPdf,
} from '../../audit/access-report.ts';
import { toAuditEvent } from '../../audit/audit-event.ts';
import { parseAuditQuery } from '../../audit/audit-query.ts';
import type { AuditLog, AuditRecord } from '../../audit/audit-record.ts';
import { computeSignals, type Signal, type SignalSettings, surnameOf } from '../../audit/signals.ts';
import { isValidNhsNumber } from '../../mpi/normalise/nhs-number.ts';
import type { Actor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import type { UserDirectory } from '../../shared/users.ts';
import {
  auditEntryById,
  patientsOfPersons,
  searchAuditEntries,
  type StoredAuditEntry,
} from '../../store/audit-store.ts';
import type { Db } from '../../store/db.ts';
import type { ResourceStore } from '../../store/resource-store.ts';
import { findSmartApp } from '../../store/smart-store.ts';
import type { SearchEngine } from '../records-service.ts';

/** The roles that see the audit trail: privacy officer and Caldicott guardian (national RBAC codes). */
export const AUDIT_ROLES: readonly string[] = ['R0001', 'R5105'];

const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
/** Most entries one report or one signals run reads (a person's report for years is far below this). */
const MAX_ENTRIES = 100_000;
const DEFAULT_SIGNAL_DAYS = 7;

export interface AuditServiceDeps {
  db: Db;
  store: ResourceStore;
  search: SearchEngine;
  log: AuditLog;
  signals: SignalSettings;
  /** Users' readable names (the access issue's users table); without it the recorded name or id is shown. */
  users?: UserDirectory;
  now?: () => Date;
}

export interface ReportQuery {
  nhsNumber: string;
  /** YYYY-MM-DD, inclusive. */
  from?: string;
  to?: string;
}

export interface RenderedReport {
  contentType: 'text/html; charset=utf-8' | 'application/pdf';
  body: string | Buffer;
  report: AccessReport;
}

function day(raw: string | undefined, name: string): Date | undefined {
  if (raw === undefined || raw === '') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !d || d.getUTCDate() !== Number(m[3]) || d.getUTCMonth() !== Number(m[2]) - 1) {
    throw new IcrError('ICR_BAD_REQUEST', `${name} must be a date YYYY-MM-DD`);
  }
  return d;
}

export class AuditService {
  readonly #deps: AuditServiceDeps;

  constructor(deps: AuditServiceDeps) {
    this.#deps = deps;
  }

  #now(): Date {
    return (this.#deps.now ?? (() => new Date()))();
  }

  async #record(rec: AuditRecord): Promise<void> {
    await this.#deps.log.record(this.#deps.db, rec);
  }

  /** Privacy officers and Caldicott guardians only; a refusal is audited, then thrown. */
  async #authorise(actor: Actor, action: string, what: string): Promise<void> {
    // A patient-scoped SMART token reads one person's record, never the trail of everyone's accesses.
    const personLimited = actor.kind === 'user' && actor.limits?.personId !== undefined;
    if (actor.kind === 'user' && AUDIT_ROLES.includes(actor.role) && !personLimited) return;
    await this.#record({ action, outcome: 'refused', actor, what, basis: 'none', errorCode: 'ICR_ACCESS_DENIED' });
    throw new IcrError(
      'ICR_ACCESS_DENIED',
      'Only a privacy officer (R0001) or Caldicott guardian (R5105) may read the audit trail',
    );
  }

  /** `GET /fhir/AuditEvent?…`: a searchset Bundle (JSON text). */
  async searchEvents(actor: Actor, params: URLSearchParams, baseUrl: string): Promise<string> {
    const { entries, total, offset, count } = await this.searchEntries(actor, params);
    const page = (o: number) => {
      const p = new URLSearchParams(params);
      p.set('_count', String(count));
      p.set('_offset', String(o));
      return `${baseUrl}/AuditEvent?${p.toString()}`;
    };
    const link = [{ relation: 'self', url: page(offset) }];
    if (offset + count < total) link.push({ relation: 'next', url: page(offset + count) });
    if (offset > 0) link.push({ relation: 'previous', url: page(Math.max(0, offset - count)) });
    return JSON.stringify({
      resourceType: 'Bundle',
      type: 'searchset',
      total,
      link,
      entry: entries.map((e) => ({
        fullUrl: `${baseUrl}/AuditEvent/${e.id}`,
        resource: toAuditEvent(e),
        search: { mode: 'match' },
      })),
    });
  }

  /**
   * The trail's entries for a search (the FHIR search's parameters, plus `nhs-number`: every record of the
   * person holding it), newest first: the admin portal's audit search and `searchEvents`.
   */
  async searchEntries(
    actor: Actor,
    params: URLSearchParams,
  ): Promise<{ entries: StoredAuditEntry[]; total: number; offset: number; count: number }> {
    // The trail records which person was searched for by Patient id (below), never the NHS number itself.
    const shown = new URLSearchParams(params);
    if (shown.has('nhs-number')) shown.set('nhs-number', '*');
    const what = `AuditEvent?${shown.toString()}`;
    await this.#authorise(actor, 'audit-search', what);
    const rest = new URLSearchParams(params);
    const nhsRaw = rest.getAll('nhs-number');
    rest.delete('nhs-number');
    const q = parseAuditQuery(rest);
    const patients = [...q.patients];
    if (nhsRaw.length > 1) throw new IcrError('ICR_INVALID_SEARCH', 'nhs-number may be given once');
    if (nhsRaw[0] !== undefined) {
      const nhs = nhsRaw[0].replace(/\s+/g, '');
      if (!/^\d{10}$/.test(nhs) || !isValidNhsNumber(nhs)) {
        throw new IcrError('ICR_INVALID_SEARCH', 'nhs-number must be a valid 10-digit NHS number');
      }
      const found = await this.#deps.search.findIds(this.#deps.db, 'Patient', `identifier=${NHS_NUMBER_SYSTEM}|${nhs}`);
      if (found.length === 0) throw new IcrError('ICR_NOT_FOUND', 'No person in the record holds that NHS number');
      patients.push(...found);
    }
    const persons = await this.#personsOfPatients(patients);
    const { entries, total } = await searchAuditEntries(this.#deps.db, {
      ...q.filter,
      ...(patients.length > 0 ? { patientIds: patients, personIds: persons } : {}),
    });
    await this.#record({
      action: 'audit-search',
      outcome: 'allowed',
      actor,
      what,
      patientId: patients[0] ?? null,
      personId: persons[0] ?? null,
      returned: entries.length,
      basis: 'not-clinical',
    });
    return { entries, total, offset: q.filter.offset ?? 0, count: q.filter.limit };
  }

  /** `GET /fhir/AuditEvent/:id`. */
  async readEvent(actor: Actor, id: string): Promise<Record<string, unknown>> {
    const what = `AuditEvent/${id}`;
    await this.#authorise(actor, 'audit-read', what);
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id))
      throw new IcrError('ICR_BAD_REQUEST', `"${id.slice(0, 80)}" is not a valid FHIR id`);
    const entry = await auditEntryById(this.#deps.db, id);
    await this.#record({
      action: 'audit-read',
      outcome: 'allowed',
      actor,
      what,
      returned: entry ? 1 : 0,
      basis: 'not-clinical',
    });
    if (!entry) throw new IcrError('ICR_NOT_FOUND', `AuditEvent/${id} is not known`);
    return toAuditEvent(entry);
  }

  /** The person's access report as HTML or PDF ("who has viewed my record"). */
  async accessReport(actor: Actor, q: ReportQuery, format: 'html' | 'pdf'): Promise<RenderedReport> {
    const nhs = q.nhsNumber.replace(/\s+/g, '');
    await this.#authorise(actor, 'audit-report', 'access report');
    if (!/^\d{10}$/.test(nhs) || !isValidNhsNumber(nhs)) {
      throw new IcrError('ICR_BAD_REQUEST', 'nhs-number must be a valid 10-digit NHS number');
    }
    const from = day(q.from, 'from');
    const to = day(q.to, 'to');
    if (from && to && from > to) throw new IcrError('ICR_BAD_REQUEST', 'from must not be after to');
    const patientIds = await this.#deps.search.findIds(
      this.#deps.db,
      'Patient',
      `identifier=${NHS_NUMBER_SYSTEM}|${nhs}`,
    );
    if (patientIds.length === 0) throw new IcrError('ICR_NOT_FOUND', 'No person in the record holds that NHS number');
    const persons = await this.#personsOfPatients(patientIds);
    const patients = await patientsOfPersons(this.#deps.db, persons);
    const allPatientIds = [...new Set([...patientIds, ...patients.map((p) => p.id)])];
    const { entries } = await searchAuditEntries(this.#deps.db, {
      patientIds: allPatientIds,
      personIds: persons,
      actorKind: 'user',
      ...(from ? { from: from.toISOString() } : {}),
      ...(to ? { to: new Date(to.getTime() + 86_400_000).toISOString() } : {}),
      order: 'asc',
      limit: MAX_ENTRIES,
    });
    const names = await this.#userNames(entries);
    const apps = new Map<string, string>();
    for (const client of new Set(entries.map((e) => e.clientId).filter((c): c is string => typeof c === 'string'))) {
      const app = await findSmartApp(this.#deps.db, client);
      if (app) apps.set(client, app.name);
    }
    const report = buildAccessReport(entries, {
      nhsNumber: nhs,
      personName: personName(patients.map((p) => p.json)),
      from: q.from ?? null,
      to: q.to ?? null,
      now: this.#now(),
      timeZone: this.#deps.signals.timeZone,
      userName: (id) => names.get(id) ?? null,
      appName: (id) => apps.get(id) ?? null,
    });
    await this.#record({
      action: 'audit-report',
      outcome: 'allowed',
      actor,
      what: `access report (${format})${q.from ? ` from ${q.from}` : ''}${q.to ? ` to ${q.to}` : ''}`,
      patientId: patientIds[0] ?? null,
      personId: persons[0] ?? null,
      returned: report.rows.length,
      basis: 'not-clinical',
    });
    return format === 'pdf'
      ? { contentType: 'application/pdf', body: await renderAccessReportPdf(report), report }
      : { contentType: 'text/html; charset=utf-8', body: renderAccessReportHtml(report), report };
  }

  /** Signals for review in a period (default the last seven days). */
  async signals(
    actor: Actor,
    q: { from?: string; to?: string },
  ): Promise<{ from: string; to: string; signals: Signal[]; reviewQueue: string }> {
    await this.#authorise(actor, 'audit-signals', 'signals');
    const toDay = day(q.to, 'to');
    const to = toDay ? new Date(toDay.getTime() + 86_400_000) : this.#now();
    const from = day(q.from, 'from') ?? new Date(to.getTime() - DEFAULT_SIGNAL_DAYS * 86_400_000);
    if (from >= to) throw new IcrError('ICR_BAD_REQUEST', 'from must be before to');
    const { entries } = await searchAuditEntries(this.#deps.db, {
      actorKind: 'user',
      from: from.toISOString(),
      to: to.toISOString(),
      order: 'asc',
      limit: MAX_ENTRIES,
    });
    const names = await this.#userNames(entries);
    const personIds = [...new Set(entries.flatMap((e) => (e.personId ? [e.personId] : [])))];
    const surnames = new Map<string, string[]>();
    for (const p of await patientsOfPersons(this.#deps.db, personIds)) {
      const list = surnames.get(p.personId) ?? [];
      list.push(...familyNames(p.json));
      surnames.set(p.personId, list);
    }
    const signals = computeSignals(entries, this.#deps.signals, {
      userSurname: (id, recorded) => surnameOf(names.get(id) ?? recorded),
      personSurnames: (id) => surnames.get(id) ?? [],
    });
    await this.#record({
      action: 'audit-signals',
      outcome: 'allowed',
      actor,
      what: `signals ${from.toISOString()} to ${to.toISOString()}`,
      returned: signals.length,
      basis: 'not-clinical',
    });
    return { from: from.toISOString(), to: to.toISOString(), signals, reviewQueue: '/api/access/reviews' };
  }

  async #personsOfPatients(patientIds: readonly string[]): Promise<string[]> {
    const persons = new Set<string>();
    for (const id of patientIds) {
      const row = await this.#deps.store.read(this.#deps.db, 'Patient', id);
      if (row) persons.add(row.personId ?? id);
    }
    return [...persons];
  }

  async #userNames(entries: readonly StoredAuditEntry[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    const users = this.#deps.users;
    if (!users) return names;
    for (const id of new Set(entries.filter((e) => e.actorKind === 'user').map((e) => e.actorId))) {
      const user = await users.find(id);
      if (user) names.set(id, user.name);
    }
    return names;
  }
}

interface PatientName {
  use?: string;
  family?: string;
  given?: string[];
  text?: string;
}

function namesOf(json: string): PatientName[] {
  try {
    const p = JSON.parse(json) as { name?: PatientName[] };
    return Array.isArray(p.name) ? p.name : [];
  } catch {
    return [];
  }
}

function familyNames(json: string): string[] {
  return namesOf(json).flatMap((n) => (typeof n.family === 'string' ? [n.family.toUpperCase()] : []));
}

/** `Given FAMILY` from the first usable name of the person's records. */
function personName(jsons: readonly string[]): string | null {
  for (const json of jsons) {
    for (const n of namesOf(json)) {
      if (n.family) return `${(n.given ?? []).join(' ')} ${n.family.toUpperCase()}`.trim();
      if (n.text) return n.text;
    }
  }
  return null;
}

/**
 * Declared relationships, emergency access (break-glass), the privacy officers' review queue and opt-out
 * (DESIGN.md §6 steps 3–4; docs/access.md). Each request and each refusal is audited.
 */
import { randomUUID } from 'node:crypto';
import { parseGrantRequest } from '../../access/grants.ts';
import { PRIVACY_ROLES } from '../../access/roles.ts';
import type { AuditRecord } from '../../audit/audit-record.ts';
import type { FhirResource } from '../../fhir/types.ts';
import type { Actor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import { accessStore, type GrantRow } from '../../store/access-store.ts';
import type { Db } from '../../store/db.ts';
import type { ResourceStore, StoredRow } from '../../store/resource-store.ts';
import type { AccessDecider } from './access-decider.ts';
import { auditedWrite } from '../audited-write.ts';

export const DEFAULT_GRANT_HOURS = 12;

export interface AccessServiceDeps {
  db: Db;
  store: ResourceStore;
  decider: AccessDecider;
  audit: (db: Db, rec: AuditRecord) => Promise<void>;
  /** Validates and writes a resource in `tx` as `actor` (the records service's write path). */
  write: (tx: Db, actor: Actor, resource: FhirResource & { id: string }) => Promise<StoredRow>;
  grantHours?: number;
  now?: () => Date;
  newId?: () => string;
}

type Draft = Omit<AuditRecord, 'outcome'>;

export class AccessService {
  readonly #deps: AccessServiceDeps;

  constructor(deps: AccessServiceDeps) {
    this.#deps = deps;
  }

  async #run<T>(rec: Draft, fn: (tx: Db, rec: Draft) => Promise<T>): Promise<T> {
    return auditedWrite(this.#deps.db, this.#deps.audit, rec, fn);
  }

  /** `POST /api/access/relationships`: a declared relationship or emergency access, for a while. */
  async declare(actor: Actor, body: unknown): Promise<GrantRow> {
    const kind = (body as { kind?: unknown } | null)?.kind === 'emergency' ? 'emergency' : 'declared';
    const rec: Draft = { action: `access-${kind}`, actor, what: 'access/relationships', basis: kind };
    return this.#run(rec, async (tx, r) => {
      if (actor.kind !== 'user') throw new IcrError('ICR_ACCESS_DENIED', 'Only a user may declare a relationship');
      const req = parseGrantRequest(body);
      r.reason = req.text ? `${req.reason}: ${req.text}` : req.reason;
      r.what = `Patient/${req.patient}`;
      r.patientId = req.patient;
      if (!this.#deps.decider.roleCategories(actor).some((c) => c !== 'demographics' && c !== 'audit')) {
        throw new IcrError('ICR_ACCESS_DENIED', `The role ${actor.role} sees no clinical data: nothing to declare`);
      }
      const patient = await this.#deps.store.read(tx, 'Patient', req.patient);
      if (!patient || patient.deleted) throw new IcrError('ICR_NOT_FOUND', `Patient/${req.patient} is not known`);
      r.personId = patient.personId;
      const now = (this.#deps.now ?? (() => new Date()))();
      const expires = new Date(now.getTime() + (this.#deps.grantHours ?? DEFAULT_GRANT_HOURS) * 3600_000);
      return accessStore.addGrant(tx, {
        id: (this.#deps.newId ?? randomUUID)(),
        userId: actor.userId,
        org: actor.orgOds,
        role: actor.role,
        patientId: req.patient,
        kind: req.kind,
        reason: req.reason,
        text: req.text,
        expiresAt: expires.toISOString(),
      });
    });
  }

  #privacy(actor: Actor): void {
    if (actor.kind === 'user' && !(PRIVACY_ROLES as readonly string[]).includes(actor.role)) {
      throw new IcrError(
        'ICR_ACCESS_DENIED',
        `Only a privacy officer or Caldicott guardian (roles ${PRIVACY_ROLES.join(', ')}) may review access`,
      );
    }
  }

  /** The review queue: grants not yet reviewed (or all, with `pending: false`), newest first. */
  async reviews(actor: Actor, q: { pending: boolean; limit: number; offset: number }): Promise<GrantRow[]> {
    return this.#run(
      { action: 'access-reviews', actor, what: 'access/reviews', basis: 'not-clinical' },
      async (tx, r) => {
        this.#privacy(actor);
        const rows = await accessStore.reviews(tx, q);
        r.returned = rows.length;
        return rows;
      },
    );
  }

  async markReviewed(actor: Actor, id: string, note: string | null): Promise<GrantRow> {
    const rec: Draft = {
      action: 'access-review',
      actor,
      what: `access/reviews/${id.slice(0, 64)}`,
      basis: 'not-clinical',
    };
    return this.#run(rec, async (tx) => {
      this.#privacy(actor);
      if (note !== null && note.length > 1000)
        throw new IcrError('ICR_BAD_REQUEST', 'note must be at most 1000 characters');
      const by = actor.kind === 'user' ? actor.userId : actor.systemId;
      const row = await accessStore.markReviewed(tx, id, by, note);
      if (!row) throw new IcrError('ICR_NOT_FOUND', `No grant ${id.slice(0, 64)} awaits review`);
      return row;
    });
  }

  /**
   * Opt-out (or back in, `optIn`): records a Consent (scope patient-privacy, provision deny / permit) about
   * the person of `patientId`, or of the NHS number's source records.
   */
  async optOut(
    actor: Actor,
    who: { patientId?: string; nhsNumber?: string },
    optIn: boolean,
  ): Promise<{ consent: string; patientId: string }> {
    const rec: Draft = { action: optIn ? 'optin' : 'optout', actor, what: 'Consent', basis: 'not-clinical' };
    return this.#run(rec, async (tx, r) => {
      if (actor.kind === 'user' && !this.#deps.decider.roleCategories(actor).includes('demographics')) {
        throw new IcrError('ICR_ACCESS_DENIED', `The role ${actor.role} may not record an opt-out`);
      }
      let patientId = who.patientId;
      if (!patientId && who.nhsNumber) {
        if (!/^\d{10}$/.test(who.nhsNumber)) throw new IcrError('ICR_BAD_REQUEST', 'An NHS number is 10 digits');
        patientId = (await accessStore.patientsByNhsNumber(tx, who.nhsNumber))[0];
        if (!patientId) throw new IcrError('ICR_NOT_FOUND', 'No person with that NHS number is known');
      }
      if (!patientId || !/^[A-Za-z0-9\-.]{1,64}$/.test(patientId)) {
        throw new IcrError('ICR_BAD_REQUEST', 'patient must be a Patient id');
      }
      const patient = await this.#deps.store.read(tx, 'Patient', patientId);
      if (!patient || patient.deleted) throw new IcrError('ICR_NOT_FOUND', `Patient/${patientId} is not known`);
      r.patientId = patientId;
      r.personId = patient.personId;
      const now = (this.#deps.now ?? (() => new Date()))().toISOString();
      const consent = {
        resourceType: 'Consent',
        id: (this.#deps.newId ?? randomUUID)(),
        status: 'active',
        scope: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
        },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
        patient: { reference: `Patient/${patientId}` },
        dateTime: now,
        policyRule: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: optIn ? 'OPTIN' : 'OPTOUT' }],
        },
        provision: { type: optIn ? 'permit' : 'deny' },
      } as unknown as FhirResource & { id: string };
      const row = await this.#deps.write(tx, actor, consent);
      r.what = `Consent/${row.id}`;
      return { consent: row.id, patientId };
    });
  }
}

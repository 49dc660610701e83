/**
 * The decision table of docs/access.md through the HTTP API, generated in code: role × relationship
 * (none, derived from the data, declared, emergency, expired) × opt-out × restricted, with one resource of
 * every clinical category (and own-organisation and entered-in-error items), on read, vread, history,
 * search (with _include, _revinclude and a chain) and $everything. Each answer is compared with the model
 * below; a resource the user may not see must answer exactly as one that does not exist.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MATRIX } from '../src/access/matrix.ts';
import type { RoleCode } from '../src/access/roles.ts';
import {
  CATEGORIES,
  categoriesOfType,
  categoryOfResource,
  CLINICAL_CATEGORIES,
  ODS_SYSTEM,
  SOCIAL_CARE_MARK,
} from '../src/fhir/access-facts.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const OWN = 'A81001';
const OTHER = 'RXX';
const RELS = ['none', 'derived', 'declared', 'emergency', 'expired'] as const;
type Rel = (typeof RELS)[number];

interface Person {
  key: string;
  rel: Rel;
  optout: boolean;
  restricted: boolean;
  patientId: string;
}

interface Item {
  resource: FhirResource & { id: string };
  sourceOrg: string;
}

const USERS: ReadonlyArray<{ id: string; role: RoleCode; org: string }> = [
  { id: 't-gp', role: 'R8000', org: OWN },
  { id: 't-clerk', role: 'R8008', org: OWN },
  { id: 't-social', role: 'icr-social-worker', org: OWN },
  { id: 't-privacy', role: 'R0001', org: 'ICR01' },
  { id: 't-steward', role: 'icr-data-steward', org: 'ICR01' },
  { id: 't-admin', role: 'icr-system-admin', org: 'ICR01' },
];

const future = new Date(Date.now() + 7 * 86_400_000).toISOString();
const twoYearsAgo = new Date(Date.now() - 730 * 86_400_000).toISOString().slice(0, 10);

export function personsOf(): Person[] {
  const out: Person[] = [];
  for (const rel of RELS)
    for (const optout of [false, true])
      for (const restricted of [false, true]) {
        const key = `${rel}-${optout ? 'o' : 'n'}${restricted ? 'r' : 'n'}`;
        out.push({ key, rel, optout, restricted, patientId: `p-${key}` });
      }
  return out;
}

/** One resource of every category about `p` (from another organisation), plus own-organisation and entered-in-error items. */
export function itemsOf(p: Person): Item[] {
  const subject = { reference: `Patient/${p.patientId}` };
  const k = p.key;
  const text = (t: string) => ({ text: t });
  const items: Item[] = [];
  const add = (resource: Record<string, unknown>, sourceOrg = OTHER) =>
    items.push({ resource: resource as FhirResource & { id: string }, sourceOrg });
  add({
    resourceType: 'Patient',
    id: p.patientId,
    ...(p.restricted
      ? { meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }] } }
      : {}),
    gender: 'female',
    address: [{ postalCode: 'ZZ99 3ZZ' }],
    telecom: [{ system: 'phone', value: '0000 000000' }],
    ...(p.rel === 'derived' ? { generalPractitioner: [{ reference: 'Organization/org-gp' }] } : {}),
  });
  add({
    resourceType: 'Encounter',
    id: `enc-${k}`,
    status: 'finished',
    class: { code: 'AMB' },
    subject,
    serviceProvider: { reference: 'Organization/org-other' },
    period: { start: '2026-01-01' },
  });
  add({
    resourceType: 'Appointment',
    id: `appt-${k}`,
    status: 'booked',
    start: future,
    end: future,
    participant: [{ actor: subject, status: 'accepted' }],
  });
  add({ resourceType: 'ServiceRequest', id: `sr-${k}`, status: 'active', intent: 'order', subject });
  add({ resourceType: 'Flag', id: `flag-${k}`, status: 'active', code: text('alert'), subject });
  add({
    resourceType: 'AllergyIntolerance',
    id: `al-${k}`,
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }],
    },
    patient: subject,
    code: text('peanut'),
  });
  add({
    resourceType: 'MedicationRequest',
    id: `mr-${k}`,
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: text('drug'),
    subject,
  });
  add({ resourceType: 'Condition', id: `cond-${k}`, subject, code: text('asthma') });
  add({ resourceType: 'Procedure', id: `proc-${k}`, status: 'completed', subject });
  add({ resourceType: 'Observation', id: `obs-${k}`, status: 'final', code: text('pulse'), subject });
  // social-care: an assessment marked as social care (docs/access.md)
  add({
    resourceType: 'Observation',
    id: `sc-${k}`,
    meta: { tag: [SOCIAL_CARE_MARK] },
    status: 'final',
    code: text('care needs assessment'),
    subject,
  });
  add({ resourceType: 'Observation', id: `own-${k}`, status: 'final', code: text('bp'), subject }, OWN);
  add({ resourceType: 'Observation', id: `eie-${k}`, status: 'entered-in-error', code: text('x'), subject }, OWN);
  add({
    resourceType: 'Immunization',
    id: `imm-${k}`,
    status: 'completed',
    vaccineCode: text('flu'),
    patient: subject,
    occurrenceDateTime: '2025-10-01',
  });
  add({
    resourceType: 'DocumentReference',
    id: `doc-${k}`,
    status: 'current',
    subject,
    content: [{ attachment: { contentType: 'text/plain', data: 'aGk=' } }],
  });
  add({ resourceType: 'CarePlan', id: `cp-${k}`, status: 'active', intent: 'plan', subject });
  add({ resourceType: 'CareTeam', id: `ct-${k}`, status: 'active', subject });
  if (p.rel === 'expired') {
    // A care event at the user's organisation that ended two years ago: no relationship now.
    add(
      {
        resourceType: 'Encounter',
        id: `old-${k}`,
        status: 'finished',
        class: { code: 'AMB' },
        subject,
        serviceProvider: { reference: 'Organization/org-gp' },
        period: { start: twoYearsAgo, end: twoYearsAgo },
      },
      OWN,
    );
  }
  if (p.optout) {
    add({
      resourceType: 'Consent',
      id: `consent-${k}`,
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: subject,
      dateTime: '2026-01-01T00:00:00Z',
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }] },
      provision: { type: 'deny' },
    });
  }
  return items;
}

/** The model: what `role` sees of `item` about person `p`. */
function visible(role: RoleCode, p: Person, item: Item): boolean {
  const cats = DEFAULT_MATRIX[role];
  const clinicalRole = cats.some((c) => CLINICAL_CATEGORIES.includes(c));
  const related = clinicalRole && (p.rel === 'derived' || p.rel === 'declared' || p.rel === 'emergency');
  const seen = related ? cats : cats.filter((c) => c === 'demographics' || c === 'audit');
  const r = item.resource as { resourceType: string; status?: string };
  const cat = categoryOfResource(item.resource);
  if (!seen.includes(cat) || r.status === 'entered-in-error') return false;
  return !p.optout || cat === 'demographics' || item.sourceOrg === OWN;
}

const key = (r: { resourceType: string; id: string }) => `${r.resourceType}/${r.id}`;

describe('access decision table: its items', () => {
  it('hold at least one resource of every category but audit (social-care too)', () => {
    const seen = new Set(itemsOf(personsOf()[0] as Person).map((i) => categoryOfResource(i.resource)));
    for (const c of CATEGORIES) if (c !== 'audit') assert.ok(seen.has(c), `no item of category ${c}`);
  });
});

for (const kind of testDatabases) {
  describe(`access decision table through the HTTP API (${kind})`, () => {
    let ta: TestApp;
    const persons = personsOf();
    const items = new Map(persons.map((p) => [p.key, itemsOf(p)]));
    const tokens = new Map<string, string>();
    before(async () => {
      ta = await openTestApp(kind);
      for (const u of USERS) {
        await ta.records.users.add(SYSTEM_ACTOR, { id: u.id, name: u.id, profiles: [{ org: u.org, role: u.role }] });
        tokens.set(u.id, `Bearer ${await ta.tokens.issue({ id: u.id, name: u.id, org: u.org, role: u.role })}`);
      }
      const orgs = [
        { id: 'org-gp', ods: OWN },
        { id: 'org-other', ods: OTHER },
      ].map((o) => ({
        resource: {
          resourceType: 'Organization',
          id: o.id,
          identifier: [{ system: ODS_SYSTEM, value: o.ods }],
        },
        provenance: { feedId: 'test', sourceOrg: o.ods },
      }));
      await ta.records.putMany(SYSTEM_ACTOR, orgs);
      for (const p of persons) {
        const res = await ta.records.putMany(
          SYSTEM_ACTOR,
          (items.get(p.key) ?? []).map((i) => ({
            resource: i.resource,
            provenance: { feedId: 'test', sourceOrg: i.sourceOrg },
          })),
        );
        assert.deepEqual(
          res.filter((r) => 'error' in r),
          [],
          p.key,
        );
      }
      for (const p of persons) {
        if (p.rel !== 'declared' && p.rel !== 'emergency' && p.rel !== 'expired') continue;
        for (const u of USERS) {
          const res: { statusCode: number; body: string } = await ta.app.inject({
            method: 'POST',
            url: '/api/access/relationships',
            headers: { authorization: tokens.get(u.id) ?? '', 'content-type': 'application/json' },
            payload: {
              patient: p.patientId,
              kind: p.rel === 'emergency' ? 'emergency' : 'declared',
              reason: p.rel === 'emergency' ? 'emergency-treatment' : 'direct-care',
              text: 'decision table',
            },
          });
          const clinical = DEFAULT_MATRIX[u.role].some((c) => CLINICAL_CATEGORIES.includes(c));
          assert.equal(res.statusCode, clinical ? 201 : 403, `${u.id} ${p.key}: ${res.body}`);
        }
      }
      // The expired person's grants ended an hour ago.
      await ta.t.db.query(
        `update access_grant set expires_at = now() - interval '1 hour' where patient_id like 'p-expired-%'`,
      );
    });
    after(async () => {
      await ta.close();
    });

    const get = (user: string, url: string) =>
      ta.app.inject({ url, headers: { authorization: tokens.get(user) ?? '' } });

    /**
     * A hidden resource answers exactly as an id that never existed (the id aside): 404, or 403 when the
     * role sees nothing of that category (refused before any lookup).
     */
    const assertNotFound = async (user: string, url: string, id: string, body: string, status: number, want = 404) => {
      assert.equal(status, want, `${user} ${url}: ${status}`);
      const ghost = await get(user, url.replace(id, 'never-existed'));
      assert.equal(body.replaceAll(id, '?'), ghost.body.replaceAll('never-existed', '?'), `${user} ${url}`);
    };

    for (const u of USERS) {
      it(`${u.role}: every person, every channel, as the model says`, async () => {
        const cats = DEFAULT_MATRIX[u.role];
        for (const p of persons) {
          const all = items.get(p.key) ?? [];
          const shown = new Set(all.filter((i) => visible(u.role, p, i)).map((i) => key(i.resource)));
          const label = `${u.id} ${p.key}`;
          // read, vread and instance history of a sample of items (one per kind of rule)
          for (const item of all.filter((i) => /^(p-|obs-|sc-|own-|eie-|enc-|appt-|flag-|al-)/.test(i.resource.id))) {
            const k = key(item.resource);
            for (const url of [`/fhir/${k}`, `/fhir/${k}/_history/1`, `/fhir/${k}/_history`]) {
              const res = await get(u.id, url);
              // The role sees some category of this type (else 403 before any lookup).
              const roleSees = categoriesOfType(item.resource.resourceType).some((c) => cats.includes(c));
              if (shown.has(k)) assert.equal(res.statusCode, 200, `${label} ${url}: ${res.body}`);
              else await assertNotFound(u.id, url, item.resource.id, res.body, res.statusCode, roleSees ? 404 : 403);
            }
          }
          // search by type, anchored on the person
          for (const type of new Set(all.map((i) => i.resource.resourceType))) {
            const url =
              type === 'Patient' ? `/fhir/Patient?_id=${p.patientId}` : `/fhir/${type}?patient=${p.patientId}`;
            const res = await get(u.id, url);
            if (!categoriesOfType(type).some((c) => cats.includes(c))) {
              assert.equal(res.statusCode, 403, `${label} ${url}`);
              continue;
            }
            assert.equal(res.statusCode, 200, `${label} ${url}: ${res.body}`);
            const got = (res.json().entry ?? [])
              .filter((e: { search: { mode: string } }) => e.search.mode === 'match')
              .map((e: { resource: { resourceType: string; id: string } }) => key(e.resource))
              .sort();
            const want = [...shown].filter((s) => s.startsWith(`${type}/`)).sort();
            assert.deepEqual(got, want, `${label} ${url}`);
          }
          const ids = (body: { entry?: Array<{ resource: { resourceType: string; id: string } }> }) =>
            (body.entry ?? [])
              .filter((e) => e.resource.resourceType !== 'OperationOutcome')
              .map((e) => key(e.resource))
              .sort();
          const patientKey = `Patient/${p.patientId}`;
          const obs = [...shown].filter((s) => s.startsWith('Observation/'));
          // _revinclude, _include and a chain: nothing beyond the person's visible rows
          if (cats.includes('demographics')) {
            const rev = await get(u.id, `/fhir/Patient?_id=${p.patientId}&_revinclude=Observation:patient`);
            assert.deepEqual(
              ids(rev.json()),
              [...(shown.has(patientKey) ? [patientKey] : []), ...obs].sort(),
              `${label} revinclude`,
            );
          }
          if (cats.includes('results')) {
            const inc = await get(u.id, `/fhir/Observation?patient=${p.patientId}&_include=Observation:subject`);
            const want = obs.length > 0 && shown.has(patientKey) ? [...obs, patientKey] : obs;
            assert.deepEqual(ids(inc.json()), want.sort(), `${label} include`);
            const chain = await get(u.id, `/fhir/Observation?patient=${p.patientId}&subject:Patient.gender=female`);
            assert.deepEqual(ids(chain.json()), obs.sort(), `${label} chain`);
          }
          // $everything: exactly the visible rows, the opt-out notice when opted out
          const ev = await get(u.id, `/fhir/Patient/${p.patientId}/$everything`);
          if (!shown.has(patientKey)) {
            const want = cats.includes('demographics') ? 404 : 403;
            await assertNotFound(
              u.id,
              `/fhir/Patient/${p.patientId}/$everything`,
              p.patientId,
              ev.body,
              ev.statusCode,
              want,
            );
          } else {
            assert.equal(ev.statusCode, 200, `${label} $everything`);
            const body = ev.json();
            assert.deepEqual(ids(body), [...shown].sort(), `${label} $everything`);
            const notice = body.entry.some(
              (e: { resource: { resourceType: string } }) => e.resource.resourceType === 'OperationOutcome',
            );
            assert.equal(notice, p.optout && shown.size > 1, `${label} opt-out notice`);
            // restricted: address, telecom and GP withheld in every channel
            const pat = body.entry.find((e: { resource: { id: string } }) => e.resource.id === p.patientId).resource;
            const read = (await get(u.id, `/fhir/Patient/${p.patientId}`)).json();
            const hist = (await get(u.id, `/fhir/Patient/${p.patientId}/_history`)).json().entry[0].resource;
            for (const r of [pat, read, hist]) {
              assert.equal(r.address === undefined, p.restricted, `${label} address`);
              assert.equal(r.telecom === undefined, p.restricted, `${label} telecom`);
              assert.equal(r.generalPractitioner === undefined, p.restricted || p.rel !== 'derived', `${label} GP`);
            }
          }
        }
      });
    }
  });
}

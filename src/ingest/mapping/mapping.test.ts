import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { initValidation, validateResource } from '../../fhir/validation.ts';
import { decodeHl7, parseMessage, parseMessages } from '../hl7v2/parse.ts';
import { hl7DateTime, NHS_NUMBER_SYSTEM, ODS_SYSTEM } from './common.ts';
import { mapMessage, type Resource } from './index.ts';

const DATA = path.resolve(import.meta.dirname, '../../../../shared/data/hl7v2');
const MISSING = `shared HL7 v2 samples not found at ${DATA}; skipping the corpus mapping checks`;
const ctx = { feedId: 'rx1-pas', orgOds: 'RX1' };

function mapFile(file: string, n = 0): Resource[] {
  const results = parseMessages(decodeHl7(readFileSync(path.join(DATA, file))));
  const msg = results[n]?.message;
  assert.ok(msg, `${file} message ${n + 1} parses`);
  const m = mapMessage(ctx, msg);
  assert.ok('resources' in m, `${file} maps`);
  return m.resources;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test reads mapped JSON freely
type Json = any;
/**
 * What each sample file's messages become: the resources stored (a merge's retired record counted among
 * the Patients), `ignored` (a type with no mapping: AA, kept and counted), `refused` (AE/AR, see
 * parse.test.ts for the reason), `mapping error` (AA, then failed with the reason, replayable).
 */
const STORED: Record<string, string[]> = {
  'ADT_A01__itk-hscic__admit.hl7': [
    'AllergyIntolerance:1 Condition:1 Encounter:1 EpisodeOfCare:1 Patient:1 Procedure:1',
  ],
  'ADT_A01__linuxforhealth__MALFORMED-windows.hl7': ['refused'],
  'ADT_A01__ms-fhir-converter__full-v28.hl7': [
    'AllergyIntolerance:1 Condition:1 Encounter:1 EpisodeOfCare:1 Patient:1 Procedure:1',
  ],
  'ADT_A01__ms-fhir-converter__short-v28.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A01__ms-fhir-converter__v23-bom-trailing-space.hl7': ['Condition:1 Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A01__uclh-emap__admit.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A01__uclh-emap__dob-datetime-bst.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A01__uclh-emap__v22-literal-backslash-r.hl7': ['refused'],
  'ADT_A02__ms-fhir-converter__transfer-v28.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A02__uclh-emap__transfer.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A03__hapi__italian-v25.hl7': ['Encounter:1 Patient:1 Procedure:1'],
  'ADT_A03__itk-hscic__discharge.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A03__ms-fhir-converter__discharge-v28.hl7': [
    'AllergyIntolerance:1 Condition:1 Encounter:1 EpisodeOfCare:1 Patient:1 Procedure:1',
  ],
  'ADT_A03__uclh-emap__discharge-death.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A03__uclh-emap__discharge.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A04__itk-hscic__outpatient-register.hl7': [
    'AllergyIntolerance:1 Encounter:1 EpisodeOfCare:1 Patient:1 Procedure:1',
  ],
  'ADT_A04__ms-fhir-converter__register-v28.hl7': [
    'AllergyIntolerance:1 Condition:1 Encounter:1 EpisodeOfCare:1 Patient:1 Procedure:1',
  ],
  'ADT_A04__ms-fhir-converter__v23-bom-short.hl7': ['Encounter:1 Patient:1'],
  'ADT_A04__ms-fhir-converter__v23-bom.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A04__node-hl7-client__mesa-v24.hl7': ['AllergyIntolerance:2 Condition:1 Encounter:1 Patient:1 Procedure:1'],
  'ADT_A04__uclh-emap__register.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A05__itk-hscic__preadmit.hl7': ['AllergyIntolerance:1 Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A05__uclh-emap__infection-zif.hl7': ['Encounter:1 Patient:1'],
  'ADT_A08__itk-hscic__update.hl7': ['Condition:1 Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A08__ms-fhir-converter__update-v28.hl7': [
    'AllergyIntolerance:1 Condition:1 Encounter:1 EpisodeOfCare:1 Patient:1 Procedure:1',
  ],
  'ADT_A08__uclh-emap__update.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A11__ms-fhir-converter__cancel-admit-v28.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A11__uclh-emap__cancel-admit.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A13__uclh-emap__cancel-discharge.hl7': ['Encounter:1 EpisodeOfCare:1 Patient:1'],
  'ADT_A15__uclh-emap__pending-transfer-escape.hl7': ['ignored'],
  'ADT_A17__uclh-emap__swap-beds.hl7': ['ignored'],
  'ADT_A24__hapi__nonstandard-delimiters.hl7': ['ignored'],
  'ADT_A28__itk-hscic__add-person.hl7': ['AllergyIntolerance:1 Patient:1'],
  'ADT_A28__ms-fhir-converter__add-person-v28.hl7': ['AllergyIntolerance:1 Condition:1 Patient:1 Procedure:1'],
  'ADT_A29__uclh-emap__delete-person.hl7': ['ignored'],
  'ADT_A31__itk-hscic__update-person.hl7': ['AllergyIntolerance:2 Patient:1'],
  'ADT_A31__ms-fhir-converter__update-person-v28.hl7': ['AllergyIntolerance:1 Condition:1 Patient:1 Procedure:1'],
  'ADT_A40__itk-hscic__merge.hl7': ['Patient:2 merges:1'],
  'ADT_A40__ms-fhir-converter__merge-two-pairs-v28.hl7': ['Patient:4 merges:2'],
  'ADT_A40__ms-fhir-converter__merge-v28.hl7': ['Patient:2 merges:1'],
  'ADT_A40__uclh-emap__merge.hl7': ['Patient:2 merges:1'],
  'ADT_A45__uclh-emap__move-visit.hl7': ['ignored'],
  'ADT_A47__ms-fhir-converter__change-id-v28.hl7': ['ignored'],
  'ADT_A47__uclh-emap__change-identifier.hl7': ['ignored'],
  'ADT_A60__uclh-emap__allergies.hl7': ['ignored'],
  'BATCH__node-hl7-client__fhs-bhs-two-messages.hl7': ['Patient:1', 'ignored'],
  'BTS_O31__uclh-emap__blood-transfusion-mojibake.hl7': ['ignored'],
  'ERP_Z99__hapi__olis-chem-v231-zsegment.hl7': ['ignored'],
  'MALFORMED__nhapi__6-bytes.hl7': ['refused'],
  'MALFORMED__nhapi__empty-file.hl7': [],
  'MALFORMED__nhapi__fuzz-000087-binary.hl7': ['refused'],
  'MALFORMED__nhapi__fuzz-000109-parses.hl7': ['refused'],
  'MALFORMED__nhapi__fuzz-000123-adt-a40.hl7': ['refused'],
  'MALFORMED__nhapi__hang1.hl7': ['refused'],
  'MALFORMED__nhapi__regex1.hl7': ['refused'],
  'MALFORMED__nhapi__so5-long-version.hl7': ['refused'],
  'MALFORMED__nhapi__stackoverflow1.hl7': ['refused'],
  'MDM_T01__ms-fhir-converter__doc-notify-v28.hl7': ['ignored'],
  'MDM_T02__ms-fhir-converter__doc-v28.hl7': ['DocumentReference:1 Patient:1'],
  'MDM_T02__ms-fhir-converter__echo-report-v28.hl7': ['DocumentReference:1 Patient:1'],
  'MDM_T02__ms-fhir-converter__simhospital-uk-v23.hl7': ['DocumentReference:1 Patient:1'],
  'OMD_O03__hapi__diet-order-repetitions.hl7': ['ignored'],
  'OML_O21__hapi__13-messages-batchless.hl7': [
    'ignored',
    'ignored',
    'ignored',
    'ignored',
    'ignored',
    'ignored',
    'ignored',
    'ignored',
    'ignored',
    'mapping error',
    'refused',
    'refused',
    'ignored',
  ],
  'OML_O21__nwgmsa-mft__genomic-order.hl7': ['ignored'],
  'ORM_O01__ms-fhir-converter__order.hl7': ['ignored'],
  'ORM_O01__uclh-emap__advance-decision.hl7': ['ignored'],
  'ORM_O01__uclh-emap__consult-request.hl7': ['ignored'],
  'ORU_R01__dhcw-wales__pathology-MALFORMED-wrapped.hl7': ['refused'],
  'ORU_R01__dhcw-wales__pathology-attachments-MALFORMED-wrapped.hl7': ['refused'],
  'ORU_R01__ms-fhir-converter__glucose-v24.hl7': ['DiagnosticReport:1 Observation:1 Patient:1'],
  'ORU_R01__ms-fhir-converter__hemogram-v25-bom.hl7': ['DiagnosticReport:2 Observation:10 Patient:1'],
  'ORU_R01__ms-fhir-converter__lab-v251.hl7': ['DiagnosticReport:1 Observation:3 Patient:1'],
  'ORU_R01__ms-fhir-converter__nist-lri-cbc-v251.hl7': ['DiagnosticReport:1 Observation:28 Patient:1'],
  'ORU_R01__nwgmsa-igene__genomic-report-v23.hl7': ['DiagnosticReport:1 Observation:1 Patient:1'],
  'ORU_R01__nwgmsa-mft__genomic-report.hl7': ['DiagnosticReport:1 Observation:1 Patient:1'],
  'ORU_R01__uclh-emap__bloodbank-no-orc.hl7': ['DiagnosticReport:1 Patient:1'],
  'ORU_R01__uclh-emap__copath-ed-base64-split.hl7': ['DiagnosticReport:1 Observation:1 Patient:1'],
  'ORU_R01__uclh-emap__copath-obx5-repetitions.hl7': ['DiagnosticReport:1 Observation:1 Patient:1'],
  'ORU_R01__uclh-emap__imaging-report.hl7': ['DiagnosticReport:1 Observation:15 Patient:1'],
  'ORU_R01__uclh-emap__vital-signs.hl7': ['DiagnosticReport:1 Observation:14 Patient:1'],
  'ORU_R01__uclh-emap__winpath-bone-iron.hl7': ['DiagnosticReport:2 Observation:5 Patient:1'],
  'ORU_R01__uclh-emap__winpath-microbiology-sensitivity.hl7': ['DiagnosticReport:3 Observation:18 Patient:1'],
  'ORU_R01__uclh-emap__winpath-patient-repeats.hl7': [
    'DiagnosticReport:1 Observation:4 Patient:1',
    'DiagnosticReport:1 Observation:4 Patient:1',
  ],
  'ORU_R01__uclh-emap__winpath-two-messages-escape.hl7': [
    'DiagnosticReport:2 Observation:3 Patient:1',
    'DiagnosticReport:2 Observation:5 Patient:1',
  ],
  'PPR_PC1__ms-fhir-converter__problem-add-v231.hl7': ['ignored'],
  'PPR_PC1__uclh-emap__problem-list.hl7': ['ignored'],
  'RDE_O11__ms-fhir-converter__pharmacy-order-v28.hl7': ['MedicationRequest:1 Patient:1'],
  'RDE_O25__ms-fhir-converter__pharmacy-refill-v28.hl7': ['MedicationRequest:1 Patient:1'],
  'RDS_O13__ms-fhir-converter__dispense-v28.hl7': ['MedicationDispense:1 Patient:1'],
  'REF_I12__ms-fhir-converter__referral-2-v28.hl7': [
    'AllergyIntolerance:1 Condition:1 Patient:1 Procedure:1 ServiceRequest:1',
  ],
  'REF_I12__ms-fhir-converter__referral-v28.hl7': [
    'AllergyIntolerance:1 Condition:1 Patient:1 Procedure:1 ServiceRequest:1',
  ],
  'SIU_S12__ms-fhir-converter__new-appointment-2-v28.hl7': ['Appointment:1 Patient:1'],
  'SIU_S12__ms-fhir-converter__new-appointment-v28.hl7': ['Appointment:1 Patient:1'],
  'SIU_S15__ms-fhir-converter__cancel-appointment-v28.hl7': ['Appointment:1 Patient:1'],
  'VXU_V04__ms-fhir-converter__immunisation-v28.hl7': ['ignored'],
  'VXU_V04__ms-fhir-converter__nist-iz-child-v251.hl7': ['ignored'],
};

const ofType = (rs: Resource[], type: string) => rs.filter((r) => r.resourceType === type) as Json[];

describe('HL7 v2 → FHIR over the shared samples', { skip: existsSync(DATA) ? false : MISSING }, () => {
  before(() => {
    initValidation();
  });

  it('maps every accepted message of a mapped type to FHIR R4 that passes validation, the same way twice', () => {
    let mapped = 0;
    for (const file of readdirSync(DATA).filter((f) => f.endsWith('.hl7'))) {
      let text: string;
      try {
        text = decodeHl7(readFileSync(path.join(DATA, file)));
      } catch {
        continue;
      }
      for (const r of parseMessages(text)) {
        if (!r.message) continue;
        let m;
        try {
          m = mapMessage(ctx, r.message);
        } catch {
          continue; // a mapping error: the table below says which
        }
        if (!('resources' in m)) continue;
        for (const res of [...m.resources, ...m.merges.map((x) => x.retired)]) {
          const errors = validateResource(res).filter((i) => i.severity === 'error');
          assert.deepEqual(errors, [], `${file}: ${res.resourceType}`);
        }
        assert.deepEqual(mapMessage(ctx, parseMessage(r.text)), m, `${file}: the same message gives the same data`);
        mapped += 1;
      }
    }
    assert.ok(mapped >= 60, `mapped ${mapped} messages`);
  });

  it('says, for every sample file and message, what is stored (AA: mapped or kept as ignored; refused: AE/AR)', () => {
    const files = readdirSync(DATA).filter((f) => f.endsWith('.hl7'));
    assert.deepEqual(files.sort(), Object.keys(STORED).sort(), 'every sample file has its expectation');
    for (const file of files) {
      let text: string;
      try {
        text = decodeHl7(readFileSync(path.join(DATA, file)));
      } catch {
        assert.deepEqual(STORED[file], ['refused'], file);
        continue;
      }
      const got = parseMessages(text).map((r) => {
        if (!r.message) return 'refused';
        let m;
        try {
          m = mapMessage(ctx, r.message);
        } catch {
          return 'mapping error';
        }
        if ('unsupported' in m) return 'ignored';
        const counts = new Map<string, number>();
        for (const res of [...m.resources, ...m.merges.map((x) => x.retired)]) {
          counts.set(res.resourceType, (counts.get(res.resourceType) ?? 0) + 1);
        }
        const summary = [...counts.keys()]
          .sort()
          .map((k) => `${k}:${counts.get(k)}`)
          .join(' ');
        return m.merges.length > 0 ? `${summary} merges:${m.merges.length}` : summary;
      });
      assert.deepEqual(got, STORED[file], file);
    }
  });

  it('ITK admission: NHS number, registered GP practice (PD1), Encounter in progress, ICD-10 and OPCS-4', () => {
    const rs = mapFile('ADT_A01__itk-hscic__admit.hl7');
    const [patient] = ofType(rs, 'Patient');
    assert.ok(patient?.identifier.some((i: Json) => i.system === NHS_NUMBER_SYSTEM && i.value === '3333333333'));
    assert.equal(patient?.generalPractitioner?.[0]?.identifier?.system, ODS_SYSTEM);
    const [enc] = ofType(rs, 'Encounter');
    assert.equal(enc?.status, 'in-progress');
    assert.equal(enc?.class.code, 'IMP');
    assert.equal(enc?.subject.reference, `Patient/${patient?.id}`);
    assert.match(JSON.stringify(ofType(rs, 'Condition')), /icd-10/);
  });

  it('UCLH NHS number typed HN, and a discharge with death', () => {
    const admit = ofType(mapFile('ADT_A01__uclh-emap__admit.hl7'), 'Patient')[0];
    assert.ok(admit?.identifier.some((i: Json) => i.system === NHS_NUMBER_SYSTEM));
    const rs = mapFile('ADT_A03__uclh-emap__discharge-death.hl7');
    assert.ok(ofType(rs, 'Patient')[0]?.deceasedDateTime);
    assert.equal(ofType(rs, 'Encounter')[0]?.status, 'finished');
  });

  it('A11 cancels the admission and A13 reopens the stay, on the same Encounter id as their visit number', () => {
    assert.equal(ofType(mapFile('ADT_A11__uclh-emap__cancel-admit.hl7'), 'Encounter')[0]?.status, 'cancelled');
    const reopened = ofType(mapFile('ADT_A13__uclh-emap__cancel-discharge.hl7'), 'Encounter')[0];
    assert.equal(reopened?.status, 'in-progress');
    assert.equal(reopened?.period?.end, undefined);
  });

  it('WinPath results: units with \\S\\ decoded, reference ranges, flags, and one report per OBR', () => {
    const rs = mapFile('ORU_R01__uclh-emap__winpath-two-messages-escape.hl7', 1);
    const obs = ofType(rs, 'Observation');
    assert.ok(
      obs.some((o) => o.valueQuantity?.unit === 'x10^9/L'),
      JSON.stringify(obs.map((o) => o.valueQuantity)),
    );
    assert.ok(obs.some((o) => o.referenceRange));
    const reports = ofType(rs, 'DiagnosticReport');
    assert.equal(
      reports.reduce((n: number, r: Json) => n + Number(r.result?.length ?? 0), 0),
      obs.length,
      'every Observation is a result of its OBR’s report',
    );
    const vitals = ofType(mapFile('ORU_R01__uclh-emap__vital-signs.hl7'), 'Observation');
    assert.ok(vitals.some((o) => o.status === 'corrected'));
    assert.ok(vitals.some((o) => o.status === 'entered-in-error'));
    const hemo = ofType(mapFile('ORU_R01__ms-fhir-converter__hemogram-v25-bom.hl7'), 'Observation');
    assert.ok(hemo.some((o) => o.interpretation?.[0]?.coding?.[0]?.code));
  });

  it('A40: the survivor from PID, the retired record from MRG-1 made inactive and replaced-by the survivor', () => {
    const msg = parseMessages(decodeHl7(readFileSync(path.join(DATA, 'ADT_A40__uclh-emap__merge.hl7'))))[0]?.message;
    assert.ok(msg);
    const m = mapMessage(ctx, msg);
    assert.ok('merges' in m);
    const [survivor] = m.resources as Json[];
    assert.match(JSON.stringify(survivor.identifier), /40800001/);
    const [merge] = m.merges;
    assert.equal(merge?.survivorId, survivor.id);
    const retired = merge?.retired as Json;
    assert.deepEqual(retired.identifier, [{ system: 'urn:openicr:feed:rx1-pas:MRENTR', value: '40800000' }]);
    assert.equal(retired.active, false);
    assert.deepEqual(retired.link, [{ other: { reference: `Patient/${survivor.id}` }, type: 'replaced-by' }]);
    assert.equal(m.sourceTime, '2012-07-17T15:25:00+01:00', 'EVN-2, read as UK summer time');
    const two = mapMessage(
      ctx,
      parseMessage(readFileSync(path.join(DATA, 'ADT_A40__ms-fhir-converter__merge-two-pairs-v28.hl7'), 'utf8')),
    );
    assert.ok('merges' in two);
    assert.equal(two.merges.length, 2, 'one merge per PID/MRG pair');
    assert.throws(
      () =>
        mapMessage(
          ctx,
          parseMessage('MSH|^~\\&|PAS|RX1|||20260101||ADT^A40|X1|P|2.4\rEVN|A40|20260101\rPID|1||H1^^^RX1'),
        ),
      /PID \(segment 3\) has no MRG segment after it/,
    );
  });

  it('A02: the Encounter’s location history — the prior bed closed and the new one open at the transfer time', () => {
    const enc = ofType(mapFile('ADT_A02__uclh-emap__transfer.hl7'), 'Encounter')[0];
    assert.deepEqual(
      enc?.location.map((l: Json) => [l.location.display, l.period?.start, l.period?.end, l.status]),
      [
        ['T12S T12S BY05 BY05-31 U', undefined, '2013-03-12T11:44:19+00:00', 'completed'],
        ['T12S T12S BY05 BY05-33 U', '2013-03-12T11:44:19+00:00', undefined, 'active'],
      ],
    );
    const itk = mapFile('ADT_A01__itk-hscic__admit.hl7');
    const [episode] = ofType(itk, 'EpisodeOfCare');
    assert.equal(episode?.status, 'active');
    assert.deepEqual(ofType(itk, 'Encounter')[0]?.episodeOfCare, [{ reference: `EpisodeOfCare/${episode?.id}` }]);
    assert.equal(episode?.managingOrganization.identifier.value, 'RX1');
  });

  it('MDM^T02: a DocumentReference with the OBX text as its attachment, its author and organisation', () => {
    const rs = mapFile('MDM_T02__ms-fhir-converter__simhospital-uk-v23.hl7');
    const [doc] = ofType(rs, 'DocumentReference');
    const text = Buffer.from(doc?.content[0].attachment.data, 'base64').toString('utf8');
    assert.equal(text.split('\n').length, 29, 'the 29 TX lines, in order');
    assert.match(text, /^Toilet cylinder crackers/);
    assert.equal(doc?.author[0].display, 'Dr Kathleen Woolfson');
    assert.deepEqual(doc?.custodian, { identifier: { system: ODS_SYSTEM, value: 'RX1' } });
    assert.equal(doc?.subject.reference, `Patient/${ofType(rs, 'Patient')[0]?.id}`);
    const echo = ofType(mapFile('MDM_T02__ms-fhir-converter__echo-report-v28.hl7'), 'DocumentReference')[0];
    assert.deepEqual(
      echo?.content.map((c: Json) => c.attachment.url ?? c.attachment.contentType),
      ['urn:oid:1.2.840.317.5947431.51', 'application/pdf'],
    );
  });

  it('SIU: S12 books an Appointment with its times and people; S15 cancels the same Appointment', () => {
    const booked = ofType(mapFile('SIU_S12__ms-fhir-converter__new-appointment-v28.hl7'), 'Appointment')[0];
    assert.equal(booked?.status, 'booked');
    assert.equal(booked?.start, '2021-09-24T09:30:00+02:15');
    assert.equal(booked?.minutesDuration, 50);
    assert.ok(booked?.participant.some((p: Json) => p.actor.display === 'Robert C GE'));
    const cancelled = ofType(mapFile('SIU_S15__ms-fhir-converter__cancel-appointment-v28.hl7'), 'Appointment')[0];
    assert.equal(cancelled?.status, 'cancelled');
    assert.equal(cancelled?.id, booked?.id, 'the filler appointment id (SCH-2) keys both');
  });

  it('REF^I12: a ServiceRequest with priority, requester and performer, and its diagnosis as the reason', () => {
    const rs = mapFile('REF_I12__ms-fhir-converter__referral-v28.hl7');
    const [req] = ofType(rs, 'ServiceRequest');
    assert.equal(req?.status, 'active');
    assert.equal(req?.intent, 'order');
    assert.equal(req?.priority, 'routine');
    assert.match(req?.requester.display, /ROBERT POWELL/);
    assert.match(req?.performer[0].display, /PAUL McWILLIAMS/);
    assert.deepEqual(req?.reasonReference, [{ reference: `Condition/${ofType(rs, 'Condition')[0]?.id}` }]);
  });

  it('RDE^O11 → MedicationRequest; RDS^O13 → MedicationDispense pointing at the request of the same order', () => {
    const [request] = ofType(mapFile('RDE_O11__ms-fhir-converter__pharmacy-order-v28.hl7'), 'MedicationRequest');
    assert.equal(request?.status, 'active');
    assert.match(JSON.stringify(request?.medicationCodeableConcept), /NICARDIPINE/);
    assert.equal(request?.dosageInstruction[0].route.coding[0].code, 'IV');
    const [dispense] = ofType(mapFile('RDS_O13__ms-fhir-converter__dispense-v28.hl7'), 'MedicationDispense');
    assert.equal(dispense?.status, 'completed');
    assert.equal(dispense?.whenHandedOver, '2020-12-12');
    assert.deepEqual(dispense?.quantity, { value: 10, unit: 'Tablet' });
    assert.deepEqual(dispense?.authorizingPrescription, [{ reference: `MedicationRequest/${request?.id}` }]);
  });

  it('the same result sent twice (two copies in one file) maps to the same resources', () => {
    assert.deepEqual(
      mapFile('ORU_R01__uclh-emap__winpath-patient-repeats.hl7', 0),
      mapFile('ORU_R01__uclh-emap__winpath-patient-repeats.hl7', 1),
    );
  });
});

describe('HL7 v2 timestamps', () => {
  it('keeps offsets, reads UK local time (GMT and BST) when none is given, and refuses nonsense', () => {
    assert.equal(hl7DateTime('20260115103000+0000'), '2026-01-15T10:30:00+00:00');
    assert.equal(hl7DateTime('20260115103000'), '2026-01-15T10:30:00+00:00');
    assert.equal(hl7DateTime('20260715103000'), '2026-07-15T10:30:00+01:00');
    assert.equal(hl7DateTime('19250704'), '1925-07-04');
    assert.equal(hl7DateTime('1232131'), undefined);
    assert.equal(hl7DateTime('20261399'), undefined);
  });
});

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
const ofType = (rs: Resource[], type: string) => rs.filter((r) => r.resourceType === type) as Json[];

describe('HL7 v2 → FHIR over the shared samples', { skip: existsSync(DATA) ? false : MISSING }, () => {
  before(() => {
    initValidation();
  });

  it('maps every accepted ADT and ORU^R01 message to FHIR R4 that passes validation, the same way twice', () => {
    let mapped = 0;
    for (const file of readdirSync(DATA).filter((f) => /^(ADT|ORU)_/.test(f))) {
      let text: string;
      try {
        text = decodeHl7(readFileSync(path.join(DATA, file)));
      } catch {
        continue;
      }
      for (const r of parseMessages(text)) {
        if (!r.message) continue;
        const m = mapMessage(ctx, r.message);
        if (!('resources' in m)) continue;
        for (const res of m.resources) {
          const errors = validateResource(res).filter((i) => i.severity === 'error');
          assert.deepEqual(errors, [], `${file}: ${res.resourceType}`);
        }
        assert.deepEqual(mapMessage(ctx, parseMessage(r.text)), m, `${file}: the same message gives the same data`);
        mapped += 1;
      }
    }
    assert.ok(mapped >= 45, `mapped ${mapped} messages`);
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

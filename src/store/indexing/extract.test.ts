import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getSearchParam, searchParamsFor } from '../../fhir/search-params.ts';
import { corpusAvailable, specExamples, syntheaResources } from '../../../test/helpers/validation-corpus.ts';
import type { FhirResource } from '../../fhir/types.ts';
import { extractIndexRows, extractParamRows, type IndexRows } from './extract.ts';

const patient = {
  resourceType: 'Patient',
  id: 'p1',
  meta: {
    tag: [{ system: 'http://x/tags', code: 'demo' }],
    profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'],
    source: 'feed:gp',
  },
  identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018' }],
  active: true,
  name: [{ family: 'Åberg', given: ['Jo', 'Ann'], prefix: ['Ms'] }],
  telecom: [
    { system: 'email', value: 'jo@example.org' },
    { system: 'phone', value: '01234' },
  ],
  gender: 'female',
  birthDate: '1970-03',
  address: [{ line: ['1 High St'], city: 'Northampton', postalCode: 'NN1 1AA' }],
  generalPractitioner: [
    { reference: 'Organization/o1' },
    { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'A81001' } },
  ],
};

describe('extractIndexRows', () => {
  const rows = extractIndexRows(patient);
  const of = <T extends { param: string }>(list: T[], param: string) => list.filter((r) => r.param === param);

  test('tokens: identifier, code, boolean, ContactPoint, meta.tag', () => {
    assert.deepEqual(of(rows.token, 'identifier'), [
      { param: 'identifier', system: 'https://fhir.nhs.uk/Id/nhs-number', code: '9990000018', text: null },
    ]);
    assert.deepEqual(
      of(rows.token, 'gender').map((r) => r.code),
      ['female'],
    );
    assert.deepEqual(
      of(rows.token, 'active').map((r) => r.code),
      ['true'],
    );
    assert.deepEqual(
      of(rows.token, 'email').map((r) => r.code),
      ['jo@example.org'],
    );
    assert.deepEqual(of(rows.token, 'telecom').length, 2);
    assert.deepEqual(
      of(rows.token, '_tag').map((r) => [r.system, r.code]),
      [['http://x/tags', 'demo']],
    );
    assert.deepEqual(
      of(rows.token, 'deceased').map((r) => r.code),
      ['false'],
    );
  });

  test('strings: name parts normalised and exact; address parts', () => {
    assert.deepEqual(of(rows.string, 'family'), [{ param: 'family', norm: 'aberg', exact: 'Åberg' }]);
    assert.deepEqual(
      of(rows.string, 'name').map((r) => r.norm),
      ['aberg', 'jo', 'ann', 'ms'],
    );
    assert.deepEqual(
      of(rows.string, 'address').map((r) => r.exact),
      ['1 High St', 'Northampton', 'NN1 1AA'],
    );
    assert.deepEqual(
      of(rows.string, 'address-postalcode').map((r) => r.norm),
      ['nn1 1aa'],
    );
  });

  test('dates: partial date as a range; uri: profile and source', () => {
    assert.deepEqual(of(rows.date, 'birthdate'), [
      { param: 'birthdate', low: '1970-03-01T00:00:00.000Z', high: '1970-04-01T00:00:00.000Z' },
    ]);
    assert.deepEqual(
      of(rows.uri, '_profile').map((r) => r.value),
      ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'],
    );
    assert.deepEqual(
      of(rows.uri, '_source').map((r) => r.value),
      ['feed:gp'],
    );
  });

  test('references: local and by identifier', () => {
    assert.deepEqual(of(rows.reference, 'general-practitioner'), [
      {
        param: 'general-practitioner',
        targetType: 'Organization',
        targetId: 'o1',
        targetUrl: null,
        identifierSystem: null,
        identifierValue: null,
      },
      {
        param: 'general-practitioner',
        targetType: null,
        targetId: null,
        targetUrl: null,
        identifierSystem: 'https://fhir.nhs.uk/Id/ods-organization-code',
        identifierValue: 'A81001',
      },
    ]);
  });

  test('Observation: quantity with precision, period dates, composite, patient via resolve()', () => {
    const obs = extractIndexRows({
      resourceType: 'Observation',
      id: 'o1',
      status: 'final',
      subject: { reference: 'Patient/p1' },
      code: { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose' }], text: 'Blood glucose' },
      valueQuantity: { value: 5.4, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      effectivePeriod: { start: '2024-01-01T08:00:00Z' },
    });
    assert.deepEqual(of(obs.quantity, 'value-quantity'), [
      {
        param: 'value-quantity',
        value: '5.4',
        low: '5.35',
        high: '5.45',
        system: 'http://unitsofmeasure.org',
        code: 'mmol/L',
        unit: 'mmol/L',
      },
    ]);
    assert.deepEqual(of(obs.date, 'date'), [{ param: 'date', low: '2024-01-01T08:00:00.000Z', high: 'infinity' }]);
    // `patient` is answered from the `subject` rows that point at a Patient: it has no rows of its own.
    assert.deepEqual(getSearchParam('Observation', 'patient')?.storedAs, {
      params: ['subject'],
      targetType: 'Patient',
    });
    assert.deepEqual(of(obs.reference, 'patient'), []);
    assert.deepEqual(
      of(obs.reference, 'subject').map((r) => [r.targetType, r.targetId]),
      [['Patient', 'p1']],
    );
    assert.deepEqual(
      of(obs.token, 'code').map((r) => [r.code, r.text]),
      [
        ['2339-0', 'glucose'],
        [null, 'blood glucose'],
      ],
    );
    // A concept text that a coding's display already gives needs no row of its own.
    const same = extractIndexRows({
      resourceType: 'Observation',
      id: 'o3',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body Height' }], text: 'body  HEIGHT' },
    });
    assert.deepEqual(
      of(same.token, 'code').map((r) => [r.code, r.text]),
      [['8302-2', 'body height']],
    );
    // `combo-code` is `code` ∪ `component-code`: no rows of its own either.
    assert.deepEqual(getSearchParam('Observation', 'combo-code')?.storedAs, { params: ['code', 'component-code'] });
    assert.deepEqual(of(obs.token, 'combo-code'), []);
    const cvq = of(obs.composite, 'code-value-quantity');
    assert.equal(cvq.length, 1);
    assert.equal(cvq[0]?.code, '2339-0');
    assert.equal(cvq[0]?.vValue, '5.4');
    // A reference to a Group is not a `patient`.
    const g = extractIndexRows({
      resourceType: 'Observation',
      id: 'o2',
      status: 'final',
      code: {},
      subject: { reference: 'Group/g1' },
    });
    assert.deepEqual(of(g.reference, 'patient'), []);
    assert.equal(of(g.reference, 'subject').length, 1);
  });

  test('rows that differ only in which field holds a value are both kept', () => {
    const r = extractIndexRows({
      resourceType: 'Observation',
      id: 'o',
      status: 'final',
      code: {
        coding: [
          { system: 'http://x', display: 'a' },
          { code: 'http://x', display: 'a' },
        ],
      },
    });
    const code = r.token.filter((t) => t.param === 'code');
    assert.deepEqual(
      code.map((t) => [t.system, t.code]),
      [
        ['http://x', null],
        [null, 'http://x'],
      ],
    );
    // Separator characters inside the values do not make two rows one.
    const crafted = extractIndexRows({
      resourceType: 'Observation',
      id: 'o2',
      status: 'final',
      code: {
        coding: [{ system: "a\u0000'b" }, { system: 'a', code: 'b\u0000-' }],
      },
    });
    assert.equal(crafted.token.filter((t) => t.param === 'code').length, 2);
  });

  test('no rows for _id and _lastUpdated (served from the resource table); duplicates removed', () => {
    assert.equal(
      rows.token.some((r) => r.param === '_id'),
      false,
    );
    assert.equal(
      rows.date.some((r) => r.param === '_lastUpdated'),
      false,
    );
    const dup = extractIndexRows({
      resourceType: 'Patient',
      id: 'x',
      identifier: [
        { system: 's', value: '1' },
        { system: 's', value: '1' },
      ],
    });
    assert.equal(dup.token.filter((r) => r.param === 'identifier').length, 1);
  });
});

/** The rows of one kind as value tuples without the parameter name, sorted. */
function values(rows: IndexRows, kind: keyof IndexRows, keep: (r: Record<string, unknown>) => boolean): string[] {
  return (rows[kind] as unknown as Array<Record<string, unknown>>)
    .filter(keep)
    .map(({ param: _p, ...rest }) => JSON.stringify(rest))
    .filter((v, i, all) => all.indexOf(v) === i)
    .sort();
}

describe('parameters stored as others (storedAs)', () => {
  test('each is found in R4 and none is stored as a parameter that is itself stored as others', () => {
    const derived = ['Observation', 'Encounter', 'Appointment', 'Provenance'].flatMap((t) =>
      searchParamsFor(t).filter((d) => d.storedAs),
    );
    assert.ok(derived.length >= 10, String(derived.length));
    for (const d of derived) {
      for (const p of d.storedAs?.params ?? []) {
        const base = getSearchParam(d.resourceType, p);
        assert.equal(base?.type, d.type, `${d.resourceType}.${d.code} → ${p}`);
        assert.equal(base?.storedAs, undefined, `${d.resourceType}.${d.code} → ${p}`);
      }
    }
  });

  test(
    "a derived parameter's own expression gives exactly the rows searches read in its place",
    { skip: !corpusAvailable() },
    () => {
      let compared = 0;
      let nonEmpty = 0;
      for (const { name, resource } of [...specExamples(), ...syntheaResources()]) {
        const r = resource as unknown as FhirResource;
        const stored = extractIndexRows(r);
        for (const def of searchParamsFor(r.resourceType)) {
          const s = def.storedAs;
          if (!s) continue;
          const kind = def.type;
          const own = values(extractParamRows(r, def), kind, () => true);
          const read = values(
            stored,
            kind,
            (row) =>
              s.params.includes(row.param as string) && (s.targetType === undefined || row.targetType === s.targetType),
          );
          assert.deepEqual(read, own, `${name} ${def.code}`);
          compared++;
          if (own.length > 0) nonEmpty++;
        }
      }
      assert.ok(compared > 5000 && nonEmpty > 500, `${compared} compared, ${nonEmpty} with rows`);
    },
  );
});

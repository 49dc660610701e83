import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeLocations, reconcile, retirePatient, transferCancelled } from './feed-order.ts';
import type { FhirResource } from './types.ts';

type R = FhirResource & { id: string };
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- reads the merged JSON freely
type Json = any;
const at = (h: number) => `2026-03-0${Math.floor(h / 24) + 1}T${String(h % 24).padStart(2, '0')}:00:00+00:00`;
const enc = (extra: Record<string, unknown>): R => ({
  resourceType: 'Encounter',
  id: 'e1',
  status: 'in-progress',
  class: { code: 'IMP' },
  ...extra,
});

describe('Encounter location history', () => {
  it('joins an admission and two transfers into three stays, each closed when the next began', () => {
    const admitted = [{ location: { display: 'Ward A' }, period: { start: at(1) } }];
    const toB = [
      { location: { display: 'Ward A' }, period: { end: at(5) } },
      { location: { display: 'Ward B' }, period: { start: at(5) } },
    ];
    const toC = [
      { location: { display: 'Ward B' }, period: { end: at(9) } },
      { location: { display: 'Ward C' }, period: { start: at(9) } },
    ];
    const stays = mergeLocations([admitted, toB, toC], 'in-progress', undefined);
    assert.deepEqual(stays, [
      { location: { display: 'Ward A' }, period: { start: at(1), end: at(5) }, status: 'completed' },
      { location: { display: 'Ward B' }, period: { start: at(5), end: at(9) }, status: 'completed' },
      { location: { display: 'Ward C' }, period: { start: at(9) }, status: 'active' },
    ]);
    // The same stays in any order of arrival give the same history.
    assert.deepEqual(mergeLocations([toC, admitted, toB], 'in-progress', undefined), stays);
  });

  it('a return to the same ward is a new stay; a discharge closes the last stay at the Encounter end', () => {
    const stays = mergeLocations(
      [
        [{ location: { display: 'Ward A' }, period: { start: at(1) } }],
        [{ location: { display: 'Ward B' }, period: { start: at(3) } }],
        [{ location: { display: 'Ward A' }, period: { start: at(6) } }],
      ],
      'finished',
      at(20),
    );
    assert.deepEqual(
      stays.map((s) => [s.location.display, s.period?.start, s.period?.end, s.status]),
      [
        ['Ward A', at(1), at(3), 'completed'],
        ['Ward B', at(3), at(6), 'completed'],
        ['Ward A', at(6), at(20), 'completed'],
      ],
    );
  });
});

describe('a cancelled transfer (A12)', () => {
  const admitted = [{ location: { display: 'Ward A' }, period: { start: at(1) } }];
  const toB = [
    { location: { display: 'Ward A' }, period: { end: at(5) } },
    { location: { display: 'Ward B' }, period: { start: at(5) } },
  ];
  const toC = [
    { location: { display: 'Ward B' }, period: { end: at(9) } },
    { location: { display: 'Ward C' }, period: { start: at(9) } },
  ];

  it('restores the previous location: the cancelled stay goes and the one before it is open again', () => {
    const a12 = [{ location: { display: 'Ward B' } }, transferCancelled('Ward B', 'restore')];
    assert.deepEqual(mergeLocations([admitted, toB, toC, a12], 'in-progress', undefined), [
      { location: { display: 'Ward A' }, period: { start: at(1), end: at(5) }, status: 'completed' },
      { location: { display: 'Ward B' }, period: { start: at(5) }, status: 'active' },
    ]);
    // Without PV1-3, PV1-6 names the stay that never happened.
    assert.deepEqual(
      mergeLocations([admitted, toB, [transferCancelled('Ward B', 'cancel')]], 'in-progress', undefined),
      [{ location: { display: 'Ward A' }, period: { start: at(1) }, status: 'active' }],
    );
    // A marker naming no stay held changes nothing; it is never kept.
    assert.deepEqual(mergeLocations([admitted, [transferCancelled('Ward Z', 'restore')]], 'in-progress', undefined), [
      { location: { display: 'Ward A' }, period: { start: at(1) }, status: 'active' },
    ]);
  });

  it('through reconcile: the stored history loses the cancelled stay; alone, the marker is dropped', () => {
    const stored = enc({ location: mergeLocations([admitted, toB], 'in-progress', undefined) });
    const a12 = enc({ location: [{ location: { display: 'Ward A' } }, transferCancelled('Ward A', 'restore')] });
    const next = reconcile(a12, at(6), { resource: stored, sourceTime: at(5) });
    assert.deepEqual((next?.resource as Json).location, [
      { location: { display: 'Ward A' }, period: { start: at(1) }, status: 'active' },
    ]);
    const alone = reconcile(a12, at(6), undefined);
    assert.deepEqual((alone?.resource as Json).location, [{ location: { display: 'Ward A' }, status: 'active' }]);
    assert.ok(!JSON.stringify(alone).includes('transfer-cancelled'));
  });
});

describe('an older message does not overwrite newer data', () => {
  it('applies a newer or equal message, skips an older one, and applies when a time is unknown', () => {
    const stored = { resource: { resourceType: 'Patient', id: 'p', gender: 'female' } as R, sourceTime: at(10) };
    const incoming = { resourceType: 'Patient', id: 'p', gender: 'male' } as R;
    assert.equal(reconcile(incoming, at(9), stored), undefined, 'older: nothing written');
    assert.deepEqual(reconcile(incoming, at(10), stored), { resource: incoming, sourceTime: at(10) });
    assert.deepEqual(reconcile(incoming, at(11), stored), { resource: incoming, sourceTime: at(11) });
    assert.deepEqual(reconcile(incoming, undefined, stored)?.resource, incoming);
    assert.deepEqual(
      reconcile(incoming, at(1), { resource: stored.resource, sourceTime: undefined })?.resource,
      incoming,
    );
    assert.deepEqual(reconcile(incoming, at(1), undefined), { resource: incoming, sourceTime: at(1) });
  });

  it('an older transfer after a discharge keeps the discharge and adds its stay to the history', () => {
    const discharged = enc({
      status: 'finished',
      period: { start: at(1), end: at(20) },
      location: [{ location: { display: 'Ward C' }, period: { start: at(9), end: at(20) }, status: 'completed' }],
      meta: { versionId: '3', lastUpdated: at(21) },
    });
    const lateTransfer = enc({
      period: { start: at(1) },
      location: [
        { location: { display: 'Ward A' }, period: { end: at(5) }, status: 'completed' },
        { location: { display: 'Ward B' }, period: { start: at(5) }, status: 'active' },
      ],
    });
    const out = reconcile(lateTransfer, at(5), { resource: discharged, sourceTime: at(20) });
    assert.ok(out);
    const r = out.resource as Json;
    assert.equal(r.status, 'finished', 'the newer status stays');
    assert.equal(r.period.end, at(20));
    assert.equal(out.sourceTime, at(20), 'the stored (newer) source time is kept');
    assert.equal(r.meta, undefined);
    assert.deepEqual(
      r.location.map((l: Json) => [l.location.display, l.period?.start, l.period?.end, l.status]),
      [
        ['Ward A', undefined, at(5), 'completed'],
        ['Ward B', at(5), at(9), 'completed'],
        ['Ward C', at(9), at(20), 'completed'],
      ],
    );
    // The same late message again adds nothing.
    assert.equal(reconcile(lateTransfer, at(5), { resource: out.resource, sourceTime: at(20) }), undefined);
  });
});

describe('A40 retirement', () => {
  const stub = {
    resourceType: 'Patient',
    id: 'old',
    identifier: [{ system: 's', value: 'OLD1' }],
    active: false,
    link: [{ other: { reference: 'Patient/new' }, type: 'replaced-by' }],
  } as R;
  it('keeps what is stored of the retired record, makes it inactive and links it to the survivor', () => {
    const existing = {
      resourceType: 'Patient',
      id: 'old',
      meta: { versionId: '2' },
      identifier: [
        { system: 's', value: 'OLD1' },
        { system: 'nhs', value: '9990000018' },
      ],
      name: [{ family: 'Smith' }],
      link: [{ other: { reference: 'Patient/other' }, type: 'replaced-by' }],
    } as R;
    const r = retirePatient(stub, existing) as Json;
    assert.deepEqual(r.name, [{ family: 'Smith' }]);
    assert.equal(r.active, false);
    assert.equal(r.identifier.length, 2);
    assert.deepEqual(r.link, [{ other: { reference: 'Patient/new' }, type: 'replaced-by' }]);
    assert.equal(r.meta, undefined);
  });
  it('writes the stub when nothing is stored of the retired record', () => {
    assert.equal(retirePatient(stub, undefined), stub);
  });
});

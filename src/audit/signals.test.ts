import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StoredAuditEntry } from '../store/audit-store.ts';
import { computeSignals, isOutOfHours, type SignalSettings, surnameOf } from './signals.ts';

const SETTINGS: SignalSettings = {
  workingHours: { start: 8 * 60, end: 18 * 60 },
  workingDays: [1, 2, 3, 4, 5],
  timeZone: 'Europe/London',
  volumePerDay: 3,
};

let seq = 0;
function entry(over: Partial<StoredAuditEntry>): StoredAuditEntry {
  seq += 1;
  return {
    seq,
    id: `e${seq}`,
    recordedAt: '2026-12-02T10:00:00.000000Z',
    action: 'read',
    outcome: 'allowed',
    actorKind: 'user',
    actorId: 'u1',
    actorName: 'Dr Sam Jones',
    orgOds: 'A81001',
    role: 'R8000',
    channel: 'fhir',
    requestId: null,
    patientId: 'p1',
    personId: 'p1',
    what: 'Patient/p1',
    returned: 1,
    categories: null,
    basis: 'relationship',
    reason: null,
    errorCode: null,
    contentHash: 'x',
    ...over,
  };
}

const noFacts = { userSurname: () => null, personSurnames: () => [] };

describe('audit signals', () => {
  it('knows working hours in local time (British Summer Time included)', () => {
    assert.equal(isOutOfHours('2026-12-02T10:00:00Z', SETTINGS), false); // Wednesday 10:00 GMT
    assert.equal(isOutOfHours('2026-12-02T18:00:00Z', SETTINGS), true); // 18:00 is the end
    assert.equal(isOutOfHours('2026-12-02T07:59:00Z', SETTINGS), true);
    assert.equal(isOutOfHours('2026-12-06T10:00:00Z', SETTINGS), true); // Sunday
    assert.equal(isOutOfHours('2026-07-01T17:30:00Z', SETTINGS), true); // 18:30 BST
    assert.equal(isOutOfHours('2026-07-01T06:30:00Z', SETTINGS), true); // 07:30 BST
    assert.equal(isOutOfHours('2026-07-01T07:30:00Z', SETTINGS), false); // 08:30 BST
  });

  it('flags emergency and declared access, out-of-hours access and unusual volume', () => {
    const entries = [
      entry({ basis: 'emergency', reason: 'collapsed' }),
      entry({ action: 'access-declared', reason: 'new referral', personId: 'p2' }),
      entry({ recordedAt: '2026-12-05T23:10:00.000000Z' }),
      ...['a', 'b', 'c', 'd'].map((p) => entry({ actorId: 'u2', personId: p, patientId: p })),
      ...['a', 'b', 'c'].map((p) => entry({ actorId: 'u3', personId: p, patientId: p })),
      entry({ outcome: 'refused', recordedAt: '2026-12-05T23:10:00.000000Z', actorId: 'u4' }),
    ];
    const kinds = computeSignals(entries, SETTINGS, noFacts).map((s) => `${s.kind}:${s.userId}`);
    assert.ok(kinds.includes('emergency-access:u1'));
    assert.ok(kinds.includes('declared-access:u1'));
    assert.ok(kinds.includes('out-of-hours:u1'));
    assert.ok(kinds.includes('unusual-volume:u2'), '4 people in a day is more than 3');
    assert.ok(!kinds.includes('unusual-volume:u3'), '3 is not more than 3');
    assert.ok(!kinds.some((k) => k.endsWith(':u4')), 'a refusal showed nothing');
  });

  it('flags a user viewing a person with their own surname, once per person', () => {
    const entries = [entry({}), entry({}), entry({ personId: 'p9', patientId: 'p9' })];
    const signals = computeSignals(entries, SETTINGS, {
      userSurname: (_id, name) => surnameOf(name),
      personSurnames: (id) => (id === 'p1' ? ['JONES'] : ['BROWN']),
    });
    const same = signals.filter((s) => s.kind === 'same-surname');
    assert.equal(same.length, 1);
    assert.equal(same[0]?.personId, 'p1');
  });

  it('takes the surname from a display name', () => {
    assert.equal(surnameOf('Dr Asha Demo-Patel'), 'DEMO-PATEL');
    assert.equal(surnameOf('Sam Jones.'), 'JONES');
    assert.equal(surnameOf(''), null);
  });
});

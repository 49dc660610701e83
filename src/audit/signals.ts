/**
 * Signals for privacy officers, computed from audit entries (no I/O): emergency and declared accesses
 * (to be reviewed; the review queue itself is /api/access/reviews), access out of working hours, a user
 * viewing a person who shares their surname, and unusual volume (more distinct persons in a day than
 * configured). Only allowed accesses by users to a person's record count.
 */
import type { StoredAuditEntry } from '../store/audit-store.ts';

export interface SignalSettings {
  workingHours: { start: number; end: number };
  workingDays: readonly number[];
  timeZone: string;
  volumePerDay: number;
}

export type SignalKind = 'emergency-access' | 'declared-access' | 'out-of-hours' | 'same-surname' | 'unusual-volume';

export interface Signal {
  kind: SignalKind;
  userId: string;
  /** When (the entry's time; for unusual volume, the local day). */
  at: string;
  personId: string | null;
  patientId: string | null;
  /** The audit entry (AuditEvent id) behind the signal; for volume, the first of that day. */
  entryId: string;
  detail: string;
}

const DAYS: Readonly<Record<string, number>> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Local weekday (1 = Monday), minutes after midnight and date (YYYY-MM-DD) of an instant. */
export function localTime(iso: string, timeZone: string): { weekday: number; minutes: number; day: string } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return {
    weekday: DAYS[get('weekday')] ?? 0,
    minutes: Number(get('hour')) * 60 + Number(get('minute')),
    day: `${get('year')}-${get('month')}-${get('day')}`,
  };
}

export function isOutOfHours(
  iso: string,
  s: Pick<SignalSettings, 'workingHours' | 'workingDays' | 'timeZone'>,
): boolean {
  const t = localTime(iso, s.timeZone);
  return !s.workingDays.includes(t.weekday) || t.minutes < s.workingHours.start || t.minutes >= s.workingHours.end;
}

/** The surname in a display name: the last word, without titles or punctuation, upper-cased. */
export function surnameOf(name: string | null | undefined): string | null {
  if (!name) return null;
  const words = name
    .replace(/[(),.]/g, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 1);
  const last = words.at(-1);
  return last ? last.toUpperCase() : null;
}

function isPersonAccess(e: StoredAuditEntry): boolean {
  return e.actorKind === 'user' && e.outcome === 'allowed' && e.personId !== null && !e.action.startsWith('audit-');
}

export function computeSignals(
  entries: readonly StoredAuditEntry[],
  s: SignalSettings,
  facts: {
    /** The user's surname (from their name), or null. */
    userSurname: (userId: string, recordedName: string | null) => string | null;
    /** Every family name the person's records hold, upper-cased. */
    personSurnames: (personId: string) => readonly string[];
  },
): Signal[] {
  const out: Signal[] = [];
  const base = (e: StoredAuditEntry) => ({
    userId: e.actorId,
    at: e.recordedAt,
    personId: e.personId,
    patientId: e.patientId,
    entryId: e.id,
  });
  const volume = new Map<string, { first: StoredAuditEntry; persons: Set<string>; day: string }>();
  const surnameSeen = new Set<string>();
  for (const e of entries) {
    if (e.actorKind === 'user' && e.outcome === 'allowed') {
      if (e.basis === 'emergency' || e.action === 'access-emergency') {
        out.push({
          kind: 'emergency-access',
          ...base(e),
          detail: `Emergency access: ${e.reason ?? 'no reason recorded'}`,
        });
      } else if (e.action === 'access-declared') {
        out.push({
          kind: 'declared-access',
          ...base(e),
          detail: `Declared relationship: ${e.reason ?? 'no reason recorded'}`,
        });
      }
    }
    if (!isPersonAccess(e) || e.personId === null) continue;
    if (isOutOfHours(e.recordedAt, s)) {
      out.push({ kind: 'out-of-hours', ...base(e), detail: `${e.action} of ${e.what} outside working hours` });
    }
    const surname = facts.userSurname(e.actorId, e.actorName);
    const key = `${e.actorId}\u0000${e.personId}`;
    if (surname && !surnameSeen.has(key) && facts.personSurnames(e.personId).includes(surname)) {
      surnameSeen.add(key);
      out.push({ kind: 'same-surname', ...base(e), detail: `The user and the person share the surname ${surname}` });
    }
    const day = localTime(e.recordedAt, s.timeZone).day;
    const vkey = `${e.actorId}\u0000${day}`;
    const v = volume.get(vkey) ?? { first: e, persons: new Set<string>(), day };
    v.persons.add(e.personId);
    volume.set(vkey, v);
  }
  for (const v of volume.values()) {
    if (v.persons.size > s.volumePerDay) {
      out.push({
        kind: 'unusual-volume',
        ...base(v.first),
        at: v.day,
        personId: null,
        patientId: null,
        detail: `${v.persons.size} different people's records on ${v.day} (more than ${s.volumePerDay})`,
      });
    }
  }
  return out;
}

/**
 * Rules for resources that arrive from feeds, message by message (issue 11). An Encounter's location history (`Encounter.location` with periods) built up across ADT messages, and
 * the rule that keeps an older message from overwriting newer data (docs/feeds.md, "Order"). Each message
 * only knows where the patient is now (PV1-3) and, for a transfer, where they were (PV1-6); the history is
 * the union of what every message said, ordered by time. Pure, no I/O.
 */
import type { FhirResource } from './types.ts';

type Resource = FhirResource & { id: string };

type Json = Record<string, unknown>;
export interface LocationEntry {
  location: { display: string };
  status?: string;
  period?: { start?: string; end?: string };
  /** Only on an A12's marker entry (TRANSFER_CANCELLED), never in what is stored. */
  extension?: Array<{ url: string; valueCode: string }>;
}

/** A location entry as stored or mapped (anything may be missing in what is stored). */
interface LocationInput {
  location?: { display?: string };
  status?: string;
  period?: { start?: string; end?: string };
  extension?: ReadonlyArray<{ url?: string; valueCode?: string }>;
}

/**
 * A cancelled transfer (ADT A12), carried on a location entry of the Encounter mapped from it and consumed
 * by `mergeLocations` (never stored): `restore` — the patient is back at this location (PV1-3): the stays
 * after the latest stay there are removed and it is reopened; `cancel` — the latest stay at this location
 * (PV1-6, when PV1-3 is empty) is removed and the one before it reopened.
 */
export const TRANSFER_CANCELLED = 'urn:openicr:feed:transfer-cancelled';

/** The entry that tells `mergeLocations` a transfer was cancelled (see TRANSFER_CANCELLED). */
export function transferCancelled(display: string, how: 'restore' | 'cancel'): LocationEntry {
  return { location: { display }, extension: [{ url: TRANSFER_CANCELLED, valueCode: how }] };
}

function cancellation(entry: LocationInput): 'restore' | 'cancel' | undefined {
  const code = entry.extension?.find((x) => x.url === TRANSFER_CANCELLED)?.valueCode;
  return code === 'restore' || code === 'cancel' ? code : undefined;
}

const time = (t: string | undefined): number => (t ? Date.parse(t) : Number.NaN);

function sameStay(a: LocationEntry, b: LocationEntry): boolean {
  if (a.location.display !== b.location.display) return false;
  const [as, bs] = [a.period?.start, b.period?.start];
  if (as && bs) return time(as) === time(bs);
  // One side does not know when the stay began: it is the same stay if it does not end before the other began.
  const known = as ? a : b;
  const other = as ? b : a;
  const end = other.period?.end;
  return !known.period?.start || !end || time(end) >= time(known.period.start);
}

/**
 * The union of two location lists, one entry per stay, ordered by start; every stay but the last is
 * `completed` and ends when the next one began. The last one's status follows the Encounter's status
 * (finished or cancelled → completed with the Encounter's end; planned → planned; else active). A cancelled
 * transfer's marker (TRANSFER_CANCELLED) removes the stay the transfer began and reopens the one before it.
 */
export function mergeLocations(
  lists: ReadonlyArray<readonly LocationInput[] | undefined>,
  encounterStatus: string,
  encounterEnd: string | undefined,
): LocationEntry[] {
  const out: LocationEntry[] = [];
  const cancelled: Array<{ display: string; how: 'restore' | 'cancel' }> = [];
  for (const list of lists) {
    for (const entry of list ?? []) {
      const display = entry.location?.display;
      if (!display) continue;
      const how = cancellation(entry);
      if (how) {
        cancelled.push({ display, how });
        continue;
      }
      const candidate: LocationEntry = { location: { display }, period: { ...entry.period } };
      // The latest earlier entry for the same stay takes what this one adds.
      const match = [...out].reverse().find((e) => sameStay(e, candidate));
      if (match) {
        match.period = { ...candidate.period, ...match.period };
        if (!match.period.end && candidate.period?.end) match.period.end = candidate.period.end;
      } else {
        out.push(candidate);
      }
    }
  }
  // Entries without a start go where their end puts them, else last (where the patient is now).
  const key = (e: LocationEntry) => time(e.period?.start ?? e.period?.end) || Number.MAX_SAFE_INTEGER;
  out.sort((a, b) => key(a) - key(b));
  for (const c of cancelled) {
    const at = out.findLastIndex((e) => e.location.display === c.display);
    if (at < 0) continue;
    // restore: back at this stay (the later ones never happened); cancel: this stay never happened.
    const back = c.how === 'restore' ? at : at - 1;
    out.splice(c.how === 'restore' ? at + 1 : at);
    const reopened = out[back];
    if (reopened?.period) delete reopened.period.end;
  }
  const closed = encounterStatus === 'finished' || encounterStatus === 'cancelled';
  out.forEach((e, n) => {
    const next = out[n + 1];
    const period = e.period ?? {};
    if (next) {
      if (!period.end && next.period?.start) period.end = next.period.start;
      e.status = 'completed';
    } else if (closed) {
      if (!period.end && encounterEnd) period.end = encounterEnd;
      e.status = 'completed';
    } else {
      e.status = encounterStatus === 'planned' ? 'planned' : 'active';
      // A stay still going on (A13 reopened the encounter) has no end.
      if (encounterStatus === 'in-progress') delete period.end;
    }
    if (period.start && period.end && time(period.end) < time(period.start)) delete period.end;
    if (period.start || period.end) e.period = period;
    else delete e.period;
  });
  return out;
}

/** What a stored resource looks like to the reconcile rule: its content and the source time it came with. */
export interface Current {
  resource: Resource;
  sourceTime?: string | undefined;
}

function withoutMeta(r: Resource): Resource {
  const { meta: _meta, ...rest } = r;
  return rest;
}

/**
 * What to write for `incoming` (mapped from a message whose source event time is `incomingTime`) given
 * what is stored: the incoming resource when it is newer or equal (or either time is unknown); nothing
 * when the stored one is newer — except an Encounter, whose location history takes the older message's
 * stays while everything else stays as the newer message left it. Returns the resource and the source
 * time to keep with it, or undefined when nothing changes.
 */
export function reconcile(
  incoming: Resource,
  incomingTime: string | undefined,
  current: Current | undefined,
): { resource: Resource; sourceTime: string | undefined } | undefined {
  if (!current) {
    // Nothing stored yet: an A12's marker is dropped (there is no history to take it from).
    const list = (incoming as Json).location as LocationInput[] | undefined;
    if (incoming.resourceType !== 'Encounter' || !list?.some((e) => cancellation(e))) {
      return { resource: incoming, sourceTime: incomingTime };
    }
    const b = incoming as Json;
    const status = typeof b.status === 'string' ? b.status : '';
    const location = mergeLocations([list], status, (b.period as { end?: string } | undefined)?.end);
    const { location: _dropped, ...rest } = b;
    const resource = (location.length > 0 ? { ...rest, location } : rest) as Resource;
    return { resource, sourceTime: incomingTime };
  }
  const newer = !incomingTime || !current.sourceTime || time(incomingTime) >= time(current.sourceTime);
  if (incoming.resourceType !== 'Encounter') {
    return newer ? { resource: incoming, sourceTime: incomingTime } : undefined;
  }
  const stored = withoutMeta(current.resource);
  const [base, other] = newer ? [incoming, stored] : [stored, incoming];
  const b = base as Json;
  const lists = [(other as Json).location, b.location] as Array<LocationInput[] | undefined>;
  const status = typeof b.status === 'string' ? b.status : '';
  const location = mergeLocations(lists, status, (b.period as { end?: string } | undefined)?.end);
  const merged = { ...b };
  if (location.length > 0) merged.location = location;
  else delete merged.location;
  if (!newer && JSON.stringify(merged) === JSON.stringify(stored)) return undefined;
  return { resource: merged as Resource, sourceTime: newer ? incomingTime : current.sourceTime };
}

/**
 * The retired record of an A40 merge: what is stored of it (or the stub the message gives when nothing
 * is), made inactive and linked `replaced-by` the surviving record; its identifiers are kept.
 */
export function retirePatient(stub: Resource, existing: Resource | undefined): Resource {
  if (!existing) return stub;
  const s = stub as Json;
  const e = withoutMeta(existing) as Json;
  const link = (s.link as Json[] | undefined) ?? [];
  const keepLinks = ((e.link as Json[] | undefined) ?? []).filter((l) => l.type !== 'replaced-by');
  const ids = [...((e.identifier as Json[] | undefined) ?? [])];
  for (const id of (s.identifier as Json[] | undefined) ?? []) {
    if (!ids.some((x) => x.system === id.system && x.value === id.value)) ids.push(id);
  }
  return { ...e, identifier: ids, active: false, link: [...keepLinks, ...link] } as unknown as Resource;
}

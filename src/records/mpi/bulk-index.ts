/**
 * A bulk link's in-memory index of every held source record (ADR 0054): blocking key → the records holding
 * it, record → its person and match record, person → the NHS numbers of its live records, and the not-same
 * decisions. It answers the write path's two candidate reads (`readCandidates`, `nhsNumbersOfPersons` in
 * src/store/mpi-store-assign.ts) exactly as the SQL does — the same too-common keys, the same ranking by
 * shared keys then patient id (ids are ASCII, so JavaScript's order is PostgreSQL's C order), the same limit
 * taken before retired records are dropped — so `assignPatients` makes the same decisions with it. No I/O:
 * the loader fills it (bulk-link.ts) and the assignment tells it what it wrote.
 */
import type { MatchRecord } from '../../mpi/types.ts';
import type { CandidateQuery, Candidates, CandidateRow } from '../../store/mpi-store-assign.ts';

const NEVER_COMMON = (k: string): boolean => k.startsWith('nhs:') || k.startsWith('src:');

export class BulkIndex {
  /** Record number → patient id, person id (undefined: a key without a link), match record, retired. */
  readonly #patient: string[] = [];
  readonly #person: Array<string | undefined> = [];
  readonly #record: Array<MatchRecord | undefined> = [];
  readonly #retired: boolean[] = [];
  readonly #numberOf = new Map<string, number>();
  /** Blocking key → the record number holding it (most keys have one), or their list. */
  readonly #holders = new Map<string, number | number[]>();
  /** Person → the NHS numbers of its live records (persons with none are absent). */
  readonly #personNhs = new Map<string, string[]>();
  /** Records numbered below this were numbered in patient-id order (the links as read): compared as numbers. */
  #ordered = 0;
  /** Scratch: shared keys per record number for the request being answered (zero between requests). */
  #shared = new Uint16Array(1024);
  /** Not-same decisions, each pair as `a\0b` with a < b. */
  readonly #notSame = new Set<string>();
  /** The not-same decisions by patient. */
  readonly #notSameOf = new Map<string, Array<[string, string]>>();

  /**
   * Every record numbered so far was added in ascending patient-id order (the loader reads the links by
   * primary key): their numbers then order them as their ids do, and ranking compares numbers, not strings.
   */
  markOrdered(): void {
    let n = 1;
    while (n < this.#patient.length && (this.#patient[n - 1] as string) < (this.#patient[n] as string)) n++;
    // A database whose collation does not order ids as C does: the ids in order so far, compared as numbers.
    this.#ordered = Math.min(n, this.#patient.length);
  }

  /** The order of patient ids (PostgreSQL's C order: ids are ASCII), by record number. */
  #compare(a: number, b: number): number {
    if (a < this.#ordered && b < this.#ordered) return a - b;
    const pa = this.#patient[a] as string;
    const pb = this.#patient[b] as string;
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  }

  get records(): number {
    return this.#patient.length;
  }

  get keys(): number {
    return this.#holders.size;
  }

  #number(patientId: string): number {
    let n = this.#numberOf.get(patientId);
    if (n === undefined) {
      n = this.#patient.length;
      this.#patient.push(patientId);
      this.#person.push(undefined);
      this.#record.push(undefined);
      this.#retired.push(false);
      this.#numberOf.set(patientId, n);
    }
    return n;
  }

  /** A held link (a record linked again replaces its person, match record and NHS number). */
  addLink(l: { patientId: string; personId: string; record: MatchRecord; retired: boolean }): void {
    const n = this.#number(l.patientId);
    const before = this.#person[n];
    if (before !== undefined) this.#dropNhs(n, before);
    this.#person[n] = l.personId;
    this.#record[n] = l.record;
    this.#retired[n] = l.retired;
    const nhs = l.record.nhsNumber;
    if (nhs !== undefined && !l.retired) {
      const list = this.#personNhs.get(l.personId);
      if (!list) this.#personNhs.set(l.personId, [nhs]);
      else if (!list.includes(nhs)) list.push(nhs);
    }
  }

  /** Record `n` no longer holds its NHS number for `personId` (a scan of every record: rare, a refresh only). */
  #dropNhs(n: number, personId: string): void {
    const nhs = this.#record[n]?.nhsNumber;
    if (nhs === undefined || this.#retired[n] === true) return;
    const list = this.#personNhs.get(personId);
    if (!list) return;
    // Another live record of the person may hold the same number: then it stays.
    const still = this.#patient.some(
      (_, m) =>
        m !== n && this.#person[m] === personId && this.#retired[m] !== true && this.#record[m]?.nhsNumber === nhs,
    );
    if (!still)
      this.#personNhs.set(
        personId,
        list.filter((x) => x !== nhs),
      );
  }

  /** A linked record's refreshed match record (its person stays). */
  updateRecord(patientId: string, record: MatchRecord): void {
    const n = this.#numberOf.get(patientId);
    const personId = n === undefined ? undefined : this.#person[n];
    if (n === undefined || personId === undefined) return;
    this.addLink({ patientId, personId, record, retired: this.#retired[n] === true });
  }

  /** A held blocking key of a record (a `person_block` row). */
  addKey(key: string, patientId: string): void {
    const n = this.#number(patientId);
    const h = this.#holders.get(key);
    if (h === undefined) this.#holders.set(key, n);
    else if (typeof h === 'number') {
      if (h !== n) this.#holders.set(key, [h, n]);
    } else if (!h.includes(n)) h.push(n);
  }

  /** Removes a blocking key of a record. */
  removeKey(key: string, patientId: string): void {
    const n = this.#numberOf.get(patientId);
    const h = this.#holders.get(key);
    if (n === undefined || h === undefined) return;
    if (typeof h === 'number') {
      if (h === n) this.#holders.delete(key);
    } else {
      const rest = h.filter((x) => x !== n);
      if (rest.length === 0) this.#holders.delete(key);
      else this.#holders.set(key, rest.length === 1 ? (rest[0] as number) : rest);
    }
  }

  /** A held not-same decision between two source records. */
  addNotSame(a: string, b: string): void {
    const [x, y] = a < b ? [a, b] : [b, a];
    const key = `${x}\u0000${y}`;
    if (this.#notSame.has(key)) return;
    this.#notSame.add(key);
    for (const p of [x, y]) {
      const list = this.#notSameOf.get(p);
      if (list) list.push([x, y]);
      else this.#notSameOf.set(p, [[x, y]]);
    }
  }

  /** `readCandidates` answered from memory: the same rows, in the same order. */
  candidates(q: CandidateQuery): Candidates {
    const out: Candidates = { candidates: q.requests.map(() => []), personNhs: [], common: new Set(), notSame: [] };
    // Each key asked is looked up once in the (large) key map: its holders, or none when too common.
    const asked = new Map<string, number | number[] | undefined>();
    const check = (k: string) => {
      if (asked.has(k)) return;
      const h = this.#holders.get(k);
      const count = h === undefined ? 0 : typeof h === 'number' ? 1 : h.length;
      if (!NEVER_COMMON(k) && count > q.maxPerKey) {
        out.common.add(k);
        asked.set(k, undefined);
      } else asked.set(k, h);
    };
    for (const r of q.requests) for (const k of r.keys) check(k);
    for (const k of q.alsoCheck) check(k);
    const persons = new Set(q.persons);
    const withPersonNhs = q.candidatePersonNhs !== false;
    for (let i = 0; i < q.requests.length; i++) {
      const r = q.requests[i] as CandidateQuery['requests'][number];
      const rows: CandidateRow[] = [];
      for (const n of this.#ranked(r.patientId, r.keys, asked, q.limit)) {
        const personId = this.#person[n];
        const record = this.#record[n];
        if (personId === undefined || record === undefined || this.#retired[n] === true) continue;
        rows.push({ patientId: this.#patient[n] as string, personId, record, shared: this.#lastShared[n] as number });
        if (withPersonNhs) persons.add(personId);
      }
      out.candidates[i] = rows;
    }
    out.personNhs = this.nhsOfPersons(persons);
    const seen = new Set<string>();
    for (const p of new Set(q.decisionsFor))
      for (const [a, b] of this.#notSameOf.get(p) ?? []) {
        const key = `${a}\u0000${b}`;
        if (!seen.has(key)) {
          seen.add(key);
          out.notSame.push([a, b]);
        }
      }
    return out;
  }

  /** Scratch of `#ranked`: the records sharing a key with the request, then the same bucketed by shared keys. */
  #hits = new Int32Array(1024);
  #byShared = new Int32Array(1024);
  /** Shared keys of each record ranked by the last `#ranked` call (read back for its rows). */
  #lastShared = new Uint16Array(1024);

  /**
   * The record numbers holding at least one of `keys` (`holders`: none for a too-common key), never the
   * request's own record, ranked as the SQL ranks them — most shared keys first, then patient id — and cut at `limit`
   * (ADR 0058: counted into a scratch array, bucketed by shared count, and only the buckets the limit reaches
   * are sorted, as numbers where every record of the bucket was numbered in id order). Their shared counts are
   * left in `#lastShared`; the answer is a view of scratch memory, valid until the next call.
   */
  #ranked(
    patientId: string,
    keys: readonly string[],
    holders: ReadonlyMap<string, number | number[] | undefined>,
    limit: number,
  ): Int32Array {
    if (this.#shared.length < this.#patient.length) this.#shared = new Uint16Array(this.#patient.length * 2);
    if (this.#lastShared.length < this.#shared.length) this.#lastShared = new Uint16Array(this.#shared.length);
    const counts = this.#shared;
    const own = this.#numberOf.get(patientId) ?? -1;
    let hits = this.#hits;
    let nh = 0;
    let most = 0;
    for (let ki = 0; ki < keys.length; ki++) {
      const k = keys[ki] as string;
      // A key asked twice counts once.
      if (keys.indexOf(k) !== ki) continue;
      const h = holders.get(k);
      if (h === undefined) continue;
      const list = typeof h === 'number' ? undefined : h;
      const len = list === undefined ? 1 : list.length;
      if (hits.length < nh + len) {
        const grown = new Int32Array((nh + len) * 2);
        grown.set(hits.subarray(0, nh));
        this.#hits = hits = grown;
      }
      for (let j = 0; j < len; j++) {
        const n = list === undefined ? (h as number) : (list[j] as number);
        if (n === own) continue;
        const c = (counts[n] as number) + 1;
        if (c === 1) hits[nh++] = n;
        counts[n] = c;
        if (c > most) most = c;
      }
    }
    if (nh === 0) return hits.subarray(0, 0);
    // Counting sort by shared keys, most first (bucket b holds the records sharing most − b keys).
    const start = new Int32Array(most + 2);
    for (let i = 0; i < nh; i++) {
      const b = most - (counts[hits[i] as number] as number) + 1;
      start[b] = (start[b] as number) + 1;
    }
    for (let b = 1; b <= most + 1; b++) start[b] = (start[b] as number) + (start[b - 1] as number);
    if (this.#byShared.length < nh) this.#byShared = new Int32Array(nh * 2);
    const sorted = this.#byShared;
    const fill = start.slice();
    const last = this.#lastShared;
    for (let i = 0; i < nh; i++) {
      const n = hits[i] as number;
      const c = counts[n] as number;
      last[n] = c;
      counts[n] = 0;
      const b = most - c;
      sorted[fill[b] as number] = n;
      fill[b] = (fill[b] as number) + 1;
    }
    // Then patient-id order within the buckets the limit reaches.
    const take = Math.min(limit, nh);
    for (let b = 0; b <= most && (start[b] as number) < take; b++) {
      const bucket = sorted.subarray(start[b], start[b + 1]);
      let ordered = true;
      for (let i = 0; i < bucket.length && ordered; i++) ordered = (bucket[i] as number) < this.#ordered;
      if (ordered) bucket.sort();
      else bucket.sort((x, y) => this.#compare(x, y));
    }
    return sorted.subarray(0, take);
  }

  /** `nhsNumbersOfPersons` answered from memory. */
  nhsOfPersons(personIds: Iterable<string>): Array<{ personId: string; nhsNumber: string }> {
    const out: Array<{ personId: string; nhsNumber: string }> = [];
    for (const personId of personIds instanceof Set ? (personIds as Set<string>) : new Set(personIds))
      for (const nhsNumber of this.#personNhs.get(personId) ?? []) out.push({ personId, nhsNumber });
    return out;
  }
}

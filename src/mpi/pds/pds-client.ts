/**
 * An adapter for the PDS FHIR API (Personal Demographics Service, the Spine): read a patient by NHS
 * number and search by demographics. It returns what PDS said, the confidentiality flag included, and
 * never logs demographics. Failures to reach PDS are ICR_PDS_UNAVAILABLE; PDS's own answers (not found,
 * too many matches, invalid NHS number) are results, not errors. See ADR 0014.
 */
import { randomUUID } from 'node:crypto';
import { IcrError } from '../../shared/errors.ts';
import { type PdsPatient, readPdsPatient, spineErrorCode } from './pds-patient.ts';

export interface PdsClientOptions {
  /** e.g. `https://int.api.service.nhs.uk/personal-demographics/FHIR/R4` (no trailing slash needed). */
  baseUrl: string;
  /** Bearer token (application-restricted or user-restricted access), fetched per request. */
  accessToken?: () => Promise<string | undefined> | string | undefined;
  /** The end user's organisation (`NHSD-End-User-Organisation-ODS`). */
  endUserOds?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
  newRequestId?: () => string;
}

export type PdsReadResult =
  | {
      kind: 'found';
      patient: PdsPatient;
      /** PDS answered with a different (current) NHS number. */ superseded: boolean;
    }
  | { kind: 'not-found' }
  | { kind: 'invalid-nhs-number' };

export interface PdsSearchQuery {
  family?: string;
  given?: string[];
  gender?: 'male' | 'female' | 'other' | 'unknown';
  /** `YYYY-MM-DD`; sent as `eqYYYY-MM-DD`. */
  birthDate?: string;
  postcode?: string;
  fuzzy?: boolean;
  exact?: boolean;
  /** 1–50. */
  maxResults?: number;
}

export type PdsSearchResult =
  { kind: 'matches'; matches: Array<{ patient: PdsPatient; score: number }> } | { kind: 'too-many-matches' };

export interface PdsClient {
  read(nhsNumber: string): Promise<PdsReadResult>;
  search(query: PdsSearchQuery): Promise<PdsSearchResult>;
}

export function searchParams(q: PdsSearchQuery): URLSearchParams {
  const p = new URLSearchParams();
  if (q.fuzzy) p.set('_fuzzy-match', 'true');
  if (q.exact) p.set('_exact-match', 'true');
  if (q.maxResults !== undefined) p.set('_max-results', String(Math.max(1, Math.min(50, Math.trunc(q.maxResults)))));
  if (q.family) p.set('family', q.family);
  for (const g of q.given ?? []) p.append('given', g);
  if (q.gender) p.set('gender', q.gender);
  if (q.birthDate) p.set('birthdate', `eq${q.birthDate}`);
  if (q.postcode) p.set('address-postalcode', q.postcode);
  return p;
}

export function createPdsClient(opts: PdsClientOptions): PdsClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? fetch;

  async function get(path: string): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = {
      accept: 'application/fhir+json',
      'x-request-id': (opts.newRequestId ?? randomUUID)(),
    };
    const token = typeof opts.accessToken === 'function' ? await opts.accessToken() : opts.accessToken;
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.endUserOds) headers['nhsd-end-user-organisation-ods'] = opts.endUserOds;
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
    } catch (cause) {
      throw new IcrError('ICR_PDS_UNAVAILABLE', 'The Spine (PDS) could not be reached', { cause });
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch (cause) {
      throw new IcrError('ICR_PDS_UNAVAILABLE', `The Spine (PDS) answered HTTP ${res.status} without FHIR JSON`, {
        cause,
      });
    }
    return { status: res.status, body };
  }

  function unexpected(status: number, body: unknown): IcrError {
    const code = spineErrorCode(body);
    return new IcrError('ICR_PDS_UNAVAILABLE', `The Spine (PDS) answered HTTP ${status}${code ? ` ${code}` : ''}`);
  }

  return {
    async read(nhsNumber) {
      if (!/^\d{10}$/.test(nhsNumber)) return { kind: 'invalid-nhs-number' };
      const { status, body } = await get(`/Patient/${nhsNumber}`);
      if (status === 200) {
        const patient = readPdsPatient(body);
        if (!patient) throw unexpected(status, body);
        return { kind: 'found', patient, superseded: patient.id !== nhsNumber };
      }
      const code = spineErrorCode(body);
      if (status === 404 || code === 'RESOURCE_NOT_FOUND') return { kind: 'not-found' };
      if (code === 'INVALID_RESOURCE_ID') return { kind: 'invalid-nhs-number' };
      throw unexpected(status, body);
    },

    async search(query) {
      const { status, body } = await get(`/Patient?${searchParams(query).toString()}`);
      if (spineErrorCode(body) === 'TOO_MANY_MATCHES') return { kind: 'too-many-matches' };
      const bundle = body as null | {
        resourceType?: string;
        entry?: Array<{ resource?: unknown; search?: { score?: number } }>;
      };
      if (status !== 200 || bundle?.resourceType !== 'Bundle') throw unexpected(status, body);
      const matches: Array<{ patient: PdsPatient; score: number }> = [];
      for (const e of bundle.entry ?? []) {
        const patient = readPdsPatient(e.resource);
        if (patient) matches.push({ patient, score: typeof e.search?.score === 'number' ? e.search.score : 0 });
      }
      matches.sort((a, b) => b.score - a.score);
      return { kind: 'matches', matches };
    },
  };
}

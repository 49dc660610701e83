/**
 * A local stand-in for the PDS FHIR API, for development and tests (PDS itself cannot be reached from
 * here). It follows the published API's shapes: `GET /Patient/{nhsNumber}` (superseded numbers answer
 * with the current record, whose id differs), `GET /Patient?family=&given=&gender=&birthdate=eq…&
 * address-postalcode=&_fuzzy-match=&_exact-match=&_max-results=` (a searchset Bundle with `search.score`,
 * or TOO_MANY_MATCHES), Spine error codes in OperationOutcomes, and a required `X-Request-ID`. Restricted
 * (R, V) records are served without address, telecom and GP, as PDS does. It also answers
 * `POST /batch-trace` (CSV in, CSV out) in place of the Demographics Batch Service. Synthetic data only.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isValidNhsNumber } from '../normalise/nhs-number.ts';
import { traceWith } from './stand-in-trace.ts';
import {
  CONFIDENTIALITY_SYSTEM,
  NHS_NUMBER_SYSTEM,
  NHS_VERIFICATION_EXTENSION,
  NHS_VERIFICATION_SYSTEM,
  SPINE_ERROR_SYSTEM,
} from './pds-patient.ts';

export interface StandInPerson {
  nhsNumber: string;
  family: string;
  given: string[];
  gender: 'male' | 'female' | 'other' | 'unknown';
  birthDate: string;
  postcode?: string;
  line?: string[];
  phone?: string;
  gpOds?: string;
  security?: 'U' | 'R' | 'V';
  versionId?: string;
}

export interface StandInData {
  people: StandInPerson[];
  /** Superseded NHS number → the current one. */
  superseded?: Record<string, string>;
}

export interface StandInResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const SECURITY_DISPLAY = { U: 'unrestricted', R: 'restricted', V: 'very restricted' } as const;
const BASE = 'https://api.service.nhs.uk/personal-demographics/FHIR/R4';

export function standInPatient(p: StandInPerson): Record<string, unknown> {
  const security = p.security ?? 'U';
  const restricted = security !== 'U';
  const out: Record<string, unknown> = {
    resourceType: 'Patient',
    id: p.nhsNumber,
    meta: {
      versionId: p.versionId ?? '1',
      security: [{ system: CONFIDENTIALITY_SYSTEM, code: security, display: SECURITY_DISPLAY[security] }],
    },
    identifier: [
      {
        system: NHS_NUMBER_SYSTEM,
        value: p.nhsNumber,
        extension: [
          {
            url: NHS_VERIFICATION_EXTENSION,
            valueCodeableConcept: {
              coding: [
                {
                  system: NHS_VERIFICATION_SYSTEM,
                  version: '1.0.0',
                  code: '01',
                  display: 'Number present and verified',
                },
              ],
            },
          },
        ],
      },
    ],
    name: [{ id: '1', use: 'usual', period: { start: '2000-01-01' }, given: p.given, family: p.family }],
    gender: p.gender,
    birthDate: p.birthDate,
  };
  if (!restricted) {
    if (p.postcode || p.line)
      out.address = [
        { id: '1', use: 'home', period: { start: '2000-01-01' }, line: p.line ?? [], postalCode: p.postcode },
      ];
    if (p.phone)
      out.telecom = [{ id: '1', system: 'phone', use: 'home', value: p.phone, period: { start: '2000-01-01' } }];
    if (p.gpOds)
      out.generalPractitioner = [
        {
          id: '1',
          type: 'Organization',
          identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: p.gpOds },
        },
      ];
  }
  return out;
}

function outcome(status: number, issue: string, code: string, display: string, diagnostics?: string): StandInResponse {
  const body = {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: issue,
        details: { coding: [{ system: SPINE_ERROR_SYSTEM, version: '1', code, display }] },
        ...(diagnostics ? { diagnostics } : {}),
      },
    ],
  };
  return { status, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(body) };
}

function norm(s: string | undefined): string {
  return (s ?? '').toLowerCase().replace(/[^a-z]/g, '');
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] as number;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] as number;
      d[j] = Math.min((d[j] as number) + 1, (d[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length] as number;
}

function nameMatches(query: string, value: string, fuzzy: boolean): number {
  const q = norm(query);
  const v = norm(value);
  if (query.endsWith('*')) return v.startsWith(norm(query.slice(0, -1))) ? 1 : 0;
  if (q === v) return 1;
  if (fuzzy && editDistance(q, v) <= 2) return 0.8;
  return 0;
}

/** Scores a person against a search (0 = no match). Exact fields only unless fuzzy. */
export function scorePerson(p: StandInPerson, q: URLSearchParams): number {
  const fuzzy = q.get('_fuzzy-match') === 'true';
  let score = 1;
  const family = q.get('family');
  if (family) score *= nameMatches(family, p.family, fuzzy);
  for (const g of q.getAll('given')) score *= Math.max(0, ...p.given.map((x) => nameMatches(g, x, fuzzy)));
  const gender = q.get('gender');
  if (gender && gender !== p.gender) score *= fuzzy ? 0.9 : 0;
  const birth = q.get('birthdate');
  if (birth) {
    const date = birth.replace(/^eq/, '');
    if (date !== p.birthDate) score *= fuzzy && date.slice(0, 4) === p.birthDate.slice(0, 4) ? 0.7 : 0;
  }
  const postcode = q.get('address-postalcode');
  if (postcode && norm(postcode) !== norm(p.postcode)) score *= fuzzy ? 0.9 : 0;
  return Math.round(score * 100) / 100;
}

/** The stand-in's answer to one request (pure; the server below only adapts HTTP). */
export function handlePdsRequest(
  data: StandInData,
  method: string,
  rawUrl: string,
  headers: Record<string, string | undefined>,
  body = '',
): StandInResponse {
  const requestId = headers['x-request-id'];
  if (!requestId)
    return outcome(
      400,
      'required',
      'MISSING_VALUE',
      'Required value is missing',
      'Invalid request with error - X-Request-ID header must be supplied to access this resource',
    );
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(requestId)) {
    return outcome(
      400,
      'value',
      'INVALID_VALUE',
      'Provided value is invalid',
      'Invalid value - X-Request-ID must be a UUID',
    );
  }
  const url = new URL(rawUrl, 'http://stand-in');
  const path = url.pathname.replace(/\/+$/, '');
  const withId = (r: StandInResponse): StandInResponse => ({
    ...r,
    headers: { ...r.headers, 'x-request-id': requestId },
  });

  if (method === 'POST' && path.endsWith('/batch-trace')) {
    return withId({ status: 200, headers: { 'content-type': 'text/csv' }, body: traceWith(data.people, body) });
  }
  if (method !== 'GET') return withId(outcome(405, 'not-supported', 'UNSUPPORTED_SERVICE', 'Unsupported Service'));

  const read = /\/Patient\/([^/]+)$/.exec(path);
  if (read) {
    const id = decodeURIComponent(read[1] as string);
    if (!isValidNhsNumber(id)) return withId(outcome(400, 'value', 'INVALID_RESOURCE_ID', 'Resource Id is invalid'));
    const current = data.superseded?.[id] ?? id;
    const person = data.people.find((p) => p.nhsNumber === current);
    if (!person) return withId(outcome(404, 'not-found', 'RESOURCE_NOT_FOUND', 'Resource not found'));
    return withId({
      status: 200,
      headers: { 'content-type': 'application/fhir+json', etag: `W/"${person.versionId ?? '1'}"` },
      body: JSON.stringify(standInPatient(person)),
    });
  }

  if (path.endsWith('/Patient')) {
    const q = url.searchParams;
    if (!q.get('birthdate') || !(q.get('family') || q.get('_fuzzy-match') === 'true')) {
      return withId(
        outcome(
          400,
          'value',
          'INVALID_SEARCH_DATA',
          'Search data is invalid',
          'Not enough search parameters were provided to be able to make a search',
        ),
      );
    }
    const max = Number(q.get('_max-results') ?? '1');
    if (!Number.isInteger(max) || max < 1 || max > 50)
      return withId(
        outcome(
          400,
          'value',
          'INVALID_VALUE',
          'Provided value is invalid',
          "Invalid value - '_max-results' must be 1 to 50",
        ),
      );
    const matches = data.people
      .map((p) => ({ p, score: scorePerson(p, q) }))
      .filter((m) => m.score > 0 && (q.get('_exact-match') !== 'true' || m.score === 1))
      .sort((a, b) => b.score - a.score || a.p.nhsNumber.localeCompare(b.p.nhsNumber));
    if (matches.length > max)
      return withId({ ...outcome(200, 'multiple-matches', 'TOO_MANY_MATCHES', 'Too Many Matches'), status: 200 });
    const bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      timestamp: new Date().toISOString(),
      total: matches.length,
      entry: matches.map((m) => ({
        fullUrl: `${BASE}/Patient/${m.p.nhsNumber}`,
        search: { score: m.score },
        resource: standInPatient(m.p),
      })),
    };
    return withId({ status: 200, headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(bundle) });
  }
  return withId(outcome(404, 'not-found', 'RESOURCE_NOT_FOUND', 'Resource not found'));
}

export interface RunningStandIn {
  /** Base URL to give the PDS client, e.g. `http://127.0.0.1:40123/personal-demographics/FHIR/R4`. */
  url: string;
  close(): Promise<void>;
}

/** Starts the stand-in on `host:port` (port 0 picks a free one). */
export async function startPdsStandIn(
  data: StandInData,
  opts: { host?: string; port?: number } = {},
): Promise<RunningStandIn> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
      const out = handlePdsRequest(
        data,
        req.method ?? 'GET',
        req.url ?? '/',
        headers,
        Buffer.concat(chunks).toString('utf8'),
      );
      res.writeHead(out.status, out.headers).end(out.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}/personal-demographics/FHIR/R4`,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

/** `node src/mpi/pds/stand-in.ts [port]`: serves the synthetic people for development. */
if (import.meta.main) {
  const { PDS_PEOPLE } = await import('./stand-in-people.ts');
  const running = await startPdsStandIn(PDS_PEOPLE, { port: Number(process.argv[2] ?? 9876) });
  process.stdout.write(`PDS stand-in at ${running.url}\n`);
}

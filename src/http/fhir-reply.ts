/**
 * Small helpers shared by the route files: FHIR JSON replies, version headers, `Prefer`, `If-Match`,
 * the base URL, and the informational OperationOutcome for `Prefer: return=OperationOutcome`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type OperationOutcome, operationOutcome } from '../fhir/operation-outcome.ts';
import type { StoredResource, WriteResult } from '../records/records-api.ts';
import { IcrError } from '../shared/errors.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Absolute base of the FHIR endpoint as the client reached it, e.g. `http://127.0.0.1:8080/fhir`. */
export function baseUrlOf(req: FastifyRequest): string {
  return `${req.protocol}://${req.host}/fhir`;
}

/** The raw query string of the request (without `?`), exactly as sent. */
export function rawQuery(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return q < 0 ? '' : req.url.slice(q + 1);
}

/**
 * Refuses a query string whose percent-escapes do not decode to UTF-8 text (`%ED%A0%80`, an encoded lone
 * surrogate, or `%FF`): URLSearchParams would quietly turn them into U+FFFD.
 */
export function checkQueryText(query: string): void {
  if (!/%[89a-fA-F][0-9a-fA-F]/.test(query)) return;
  for (const part of query.split('&')) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' ').replace(/%(?![0-9a-fA-F]{2})/g, '%25'));
    } catch {
      throw new IcrError('ICR_INVALID_SEARCH', 'The query string is not percent-encoded UTF-8 text');
    }
  }
}

/** Refuses more than `max` parameters, or more than `max` comma-separated values in one parameter. */
export function checkSearchSize(params: URLSearchParams, max: number): void {
  if (params.size > max) {
    throw new IcrError('ICR_LIMIT_EXCEEDED', `A search may have at most ${max} parameters (it has ${params.size})`);
  }
  for (const [key, value] of params) {
    let commas = 0;
    for (let i = value.indexOf(','); i >= 0 && commas < max; i = value.indexOf(',', i + 1)) commas++;
    if (commas >= max) {
      throw new IcrError(
        'ICR_LIMIT_EXCEEDED',
        `A search parameter may have at most ${max} values (${key.slice(0, 64)})`,
      );
    }
  }
}

/**
 * The request's search parameters, less the format parameters the HTTP layer itself answers; with
 * `maxParams`, at most that many parameters and values per parameter.
 */
export function searchParamsOf(query: string, maxParams?: number): URLSearchParams {
  checkQueryText(query);
  const params = new URLSearchParams(query);
  params.delete('_format');
  params.delete('_pretty');
  if (maxParams !== undefined) checkSearchSize(params, maxParams);
  return params;
}

/** Tokens of the `Prefer` header, e.g. `return=minimal, handling=lenient` → Map{return→minimal, …}. */
function prefer(req: FastifyRequest): Map<string, string> {
  const raw = req.headers.prefer;
  const text = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  const out = new Map<string, string>();
  for (const part of text.split(/[,;]/)) {
    const [k, v] = part.split('=').map((s) => s.trim().replace(/^"|"$/g, ''));
    if (k) out.set(k.toLowerCase(), v ?? '');
  }
  return out;
}

export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

export function preferReturn(req: FastifyRequest): ReturnPreference {
  const v = prefer(req).get('return');
  return v === 'minimal' || v === 'OperationOutcome' ? v : 'representation';
}

export function preferLenient(req: FastifyRequest): boolean {
  return prefer(req).get('handling') === 'lenient';
}

/** `If-Match: W/"3"` (or `"3"`) → 3; absent → undefined; anything else → ICR_BAD_REQUEST. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^(?:W\/)?"(\d{1,9})"$/.exec(header.trim());
  if (!m) throw new IcrError('ICR_BAD_REQUEST', 'If-Match must be a version ETag such as W/"3"');
  return Number(m[1]);
}

export function informational(message: string): OperationOutcome {
  return operationOutcome('information', 'informational', message);
}

/** ETag and Last-Modified for one stored version. */
export function versionHeaders(reply: FastifyReply, r: StoredResource): void {
  reply.header('ETag', `W/"${r.versionId}"`);
  reply.header('Last-Modified', new Date(r.lastUpdated).toUTCString());
}

/** Sends a stored resource's JSON text as it is (never re-serialised). */
export function sendStored(reply: FastifyReply, r: StoredResource, status = 200): FastifyReply {
  versionHeaders(reply, r);
  return reply.code(status).type(FHIR_JSON).send(r.json);
}

/** Replies to a create or update, honouring `Prefer: return=…`. */
export function sendWrite(
  req: FastifyRequest,
  reply: FastifyReply,
  result: WriteResult,
  status: number,
  withLocation: boolean,
): FastifyReply {
  const r = result.resource;
  versionHeaders(reply, r);
  if (withLocation) reply.header('Location', `${baseUrlOf(req)}/${r.resourceType}/${r.id}/_history/${r.versionId}`);
  reply.code(status).type(FHIR_JSON);
  switch (preferReturn(req)) {
    case 'minimal':
      return reply.send('');
    case 'OperationOutcome':
      return reply.send(
        JSON.stringify(informational(`${r.resourceType}/${r.id} version ${r.versionId}: ${result.outcome}`)),
      );
    case 'representation':
      return reply.send(r.json);
  }
}

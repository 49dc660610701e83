/**
 * One Bundle entry, checked and parsed: the method, the resource type and id (or query) from its
 * request URL, and the resource. Anything malformed is an IcrError the caller attributes to the entry.
 */
import type { FhirResource } from '../../fhir/types.ts';
import { IcrError } from '../../shared/errors.ts';
import { checkId, checkType } from '../records-service.ts';

export type EntryMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface ParsedEntry {
  index: number;
  method: EntryMethod;
  fullUrl?: string;
  /** The resource type the request URL names. */
  type: string;
  id?: string;
  vid?: number;
  /** Query string (without `?`) of a conditional update or a search. */
  query?: string;
  resource?: FhirResource;
  ifNoneExist?: string;
  ifMatch?: number;
}

const METHODS = new Set<string>(['GET', 'POST', 'PUT', 'DELETE']);

function bad(message: string, expression: string): IcrError {
  return new IcrError('ICR_INVALID_RESOURCE', message, { details: [{ message, expression }] });
}

/** Request URL relative to the base: strips `baseUrl/` or a leading `/`. */
function relative(url: string, baseUrl: string): string {
  if (url.startsWith(`${baseUrl}/`)) return url.slice(baseUrl.length + 1);
  return url.replace(/^\/+/, '');
}

export function parseEntry(raw: unknown, index: number, baseUrl: string): ParsedEntry {
  const at = `Bundle.entry[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('The entry is not an object', at);
  const entry = raw as { fullUrl?: unknown; resource?: unknown; request?: unknown };
  if (typeof entry.request !== 'object' || entry.request === null)
    throw bad('The entry has no request', `${at}.request`);
  const request = entry.request as Record<string, unknown>;
  const method = typeof request.method === 'string' ? request.method.toUpperCase() : '';
  if (!METHODS.has(method)) {
    const what = typeof request.method === 'string' ? `"${request.method.slice(0, 16)}"` : 'missing';
    throw new IcrError(
      'ICR_BAD_REQUEST',
      `request.method ${what} is not supported in a Bundle (GET, POST, PUT, DELETE)`,
      {
        details: [{ message: 'Unsupported request.method', expression: `${at}.request.method` }],
      },
    );
  }
  if (typeof request.url !== 'string' || request.url === '')
    throw bad('The entry has no request.url', `${at}.request.url`);
  const [path = '', query] = relative(request.url, baseUrl).split(/\?(.*)/s, 2);
  const segments = path.split('/');
  const type = segments[0] ?? '';
  checkType(type);

  const parsed: ParsedEntry = { index, method: method as EntryMethod, type };
  if (typeof entry.fullUrl === 'string' && entry.fullUrl !== '') parsed.fullUrl = entry.fullUrl;
  if (query !== undefined && query !== '') parsed.query = query;
  const [, id, history, vid, ...rest] = segments;
  if (rest.length > 0 || (history !== undefined && (history !== '_history' || vid === undefined))) {
    throw new IcrError('ICR_BAD_REQUEST', `request.url "${request.url.slice(0, 200)}" is not supported in a Bundle`, {
      details: [{ message: 'Unsupported request.url', expression: `${at}.request.url` }],
    });
  }
  if (id !== undefined && id !== '') {
    checkId(id);
    parsed.id = id;
  }
  if (vid !== undefined) {
    if (method !== 'GET' || !/^\d{1,9}$/.test(vid))
      throw bad(`"${vid.slice(0, 16)}" is not a valid version id here`, `${at}.request.url`);
    parsed.vid = Number(vid);
  }

  if (method === 'POST' || method === 'PUT') {
    const resource = entry.resource;
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
      throw bad(`A ${method} entry needs a resource`, `${at}.resource`);
    }
    const rt = (resource as { resourceType?: unknown }).resourceType;
    if (typeof rt !== 'string') throw bad('The resource has no resourceType', `${at}.resource.resourceType`);
    checkType(rt);
    if (rt !== type)
      throw bad(`The resource is a ${rt.slice(0, 64)} but request.url names ${type}`, `${at}.resource.resourceType`);
    parsed.resource = resource as FhirResource;
  }
  switch (method) {
    case 'POST':
      if (parsed.id !== undefined || parsed.query !== undefined)
        throw bad('POST request.url must be the resource type only', `${at}.request.url`);
      if (typeof request.ifNoneExist === 'string' && request.ifNoneExist !== '') {
        parsed.ifNoneExist = request.ifNoneExist.replace(/^[^?]*\?/, '');
      }
      break;
    case 'PUT': {
      if (parsed.id === undefined && parsed.query === undefined)
        throw bad('PUT request.url needs an id or a search query', `${at}.request.url`);
      if (parsed.id !== undefined && parsed.resource?.id !== parsed.id) {
        throw bad('The resource id must equal the id in request.url', `${at}.resource.id`);
      }
      if (typeof request.ifMatch === 'string' && request.ifMatch !== '') {
        const m = /^(?:W\/)?"(\d{1,9})"$/.exec(request.ifMatch.trim());
        if (!m) throw bad('request.ifMatch must be a version ETag such as W/"3"', `${at}.request.ifMatch`);
        parsed.ifMatch = Number(m[1]);
      }
      break;
    }
    case 'DELETE':
      if (parsed.id === undefined) {
        throw new IcrError('ICR_METHOD_NOT_ALLOWED', 'Conditional delete is not supported; delete by id', {
          details: [{ message: 'DELETE needs Type/id', expression: `${at}.request.url` }],
        });
      }
      break;
    case 'GET':
      if (parsed.id !== undefined && parsed.query !== undefined)
        throw bad('GET request.url cannot have both an id and a query', `${at}.request.url`);
      break;
  }
  return parsed;
}

/**
 * Content negotiation. Request bodies: `application/fhir+json` or `application/json` (UTF-8, with or
 * without a charset parameter); anything else is 415. Malformed JSON is 400 ICR_INVALID_JSON; a body over
 * `config.bodyLimit` is 413 (Fastify enforces the limit while reading). Responses are FHIR JSON only: an
 * `Accept` header or `_format` asking for something else (XML, Turtle) is 406.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Limits } from '../../config/config.ts';
import { parseJsonBody } from '../../fhir/json-body.ts';
import type { JsonLimits } from '../../fhir/json-limits.ts';
import { IcrError } from '../../shared/errors.ts';
import { rawQuery } from '../fhir-reply.ts';

const JSON_TYPES = ['application/fhir+json', 'application/json'];
const FORMAT_OK = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);
const ACCEPT_OK = new Set([
  '*/*',
  'application/*',
  'application/json',
  'application/fhir+json',
  'application/json+fhir',
]);

function charsetOf(req: FastifyRequest): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(req.headers['content-type'] ?? '');
  return m?.[1]?.toLowerCase();
}

function checkCharset(req: FastifyRequest): void {
  const charset = charsetOf(req);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new IcrError('ICR_UNSUPPORTED_MEDIA_TYPE', `Only UTF-8 bodies are accepted (got charset ${charset})`);
  }
}

function acceptsFhirJson(accept: string): boolean {
  return accept
    .split(',')
    .map((part) => part.split(';', 1)[0]?.trim().toLowerCase() ?? '')
    .some((t) => t === '' || ACCEPT_OK.has(t));
}

/**
 * Parses a JSON body and holds it to the JSON limits (src/fhir/json-body.ts); the server passes its
 * validation pool's, which does this in a worker thread for a large body (src/workers/validation-pool.ts).
 */
export type BodyParser = (text: string, limits: JsonLimits) => unknown;

export function registerContentTypes(
  app: FastifyInstance,
  limits: Limits,
  parseBody: BodyParser = parseJsonBody,
): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, async (req: FastifyRequest, body: string | Buffer) => {
    checkCharset(req);
    return parseBody(body as string, limits);
  });

  app.addHook('onRequest', async (req) => {
    if (!req.url.startsWith('/fhir')) return;
    if (req.url.length > limits.maxUrlLength) {
      throw new IcrError(
        'ICR_URI_TOO_LONG',
        `The URL is longer than ${limits.maxUrlLength} characters; send a long search as POST /fhir/<type>/_search`,
      );
    }
    const format = new URLSearchParams(rawQuery(req)).get('_format');
    if (format !== null && !FORMAT_OK.has(format.toLowerCase())) {
      throw new IcrError('ICR_NOT_ACCEPTABLE', `_format "${format}" is not offered; this server speaks FHIR JSON only`);
    }
    const accept = req.headers.accept;
    if (format === null && accept !== undefined && accept !== '' && !acceptsFhirJson(accept)) {
      throw new IcrError('ICR_NOT_ACCEPTABLE', 'This server replies in application/fhir+json only');
    }
  });
}

/** Adds the form parser used by `POST /fhir/:type/_search` (call inside that route's own context). */
export function registerFormParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) => {
    try {
      checkCharset(req);
      done(null, body);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

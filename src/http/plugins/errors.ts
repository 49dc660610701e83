/**
 * Every error becomes an OperationOutcome (through the one mapping in src/fhir/operation-outcome.ts).
 * Fastify's own errors (body too large, unsupported media type, bad URL) are first turned into the
 * matching IcrError. Unknown routes are a 404 OperationOutcome. A 500 never carries internal detail:
 * the cause is logged with the request id, and the reply carries only that id.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toOperationOutcome } from '../../fhir/operation-outcome.ts';
import { withDeadline } from '../../shared/deadline.ts';
import { IcrError, isIcrError } from '../../shared/errors.ts';
import { FHIR_JSON } from '../fhir-reply.ts';

const FASTIFY_CODES: Record<string, () => IcrError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new IcrError('ICR_PAYLOAD_TOO_LARGE', 'The request body is larger than this server accepts'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new IcrError('ICR_UNSUPPORTED_MEDIA_TYPE', 'The Content-Type must be application/fhir+json or application/json'),
  FST_ERR_CTP_INVALID_TYPE: () => new IcrError('ICR_UNSUPPORTED_MEDIA_TYPE', 'The Content-Type header is not valid'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new IcrError('ICR_INVALID_JSON', 'The request body is empty'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new IcrError('ICR_BAD_REQUEST', 'Content-Length does not match the body'),
  FST_ERR_BAD_URL: () => new IcrError('ICR_BAD_REQUEST', 'The URL is not valid'),
  FST_ERR_ASYNC_CONSTRAINT: () => new IcrError('ICR_BAD_REQUEST', 'The request could not be routed'),
  FST_CSRF_MISSING_SECRET: () => new IcrError('ICR_CSRF_INVALID', 'The request lacks a valid CSRF token'),
  FST_CSRF_INVALID_TOKEN: () => new IcrError('ICR_CSRF_INVALID', 'The request lacks a valid CSRF token'),
};

/** Maps any thrown value to an IcrError when it is a client fault we recognise; otherwise returns it as is. */
export function classify(err: unknown): unknown {
  if (isIcrError(err)) return err;
  const fe = err as Partial<FastifyError> | null;
  const make = typeof fe?.code === 'string' ? FASTIFY_CODES[fe.code] : undefined;
  if (make) return make();
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.statusCode === 413) return FASTIFY_CODES.FST_ERR_CTP_BODY_TOO_LARGE?.();
    if (fe.statusCode === 415) return FASTIFY_CODES.FST_ERR_CTP_INVALID_MEDIA_TYPE?.();
    return new IcrError('ICR_BAD_REQUEST', 'The request is not valid');
  }
  return err;
}

/** Sends the OperationOutcome for an error (also used by Fastify's frameworkErrors hook). */
export function replyWithError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const mapped = classify(err);
  // A 500 carries only the request id, so support can find the log line.
  const { status, body } = toOperationOutcome(mapped, { requestId: req.id });
  if (status >= 500) {
    req.log.error({ err, reqId: req.id }, 'request failed');
  } else {
    req.log.info({ code: isIcrError(mapped) ? mapped.code : undefined, status }, 'request refused');
  }
  if (status === 401) {
    const given = req.headers.authorization !== undefined;
    reply.header(
      'WWW-Authenticate',
      given ? 'Bearer realm="openicr", error="invalid_token"' : 'Bearer realm="openicr"',
    );
  }
  return reply.code(status).type(FHIR_JSON).send(JSON.stringify(body));
}

export function registerErrors(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => replyWithError(err, req, reply));
  app.setNotFoundHandler((req, reply) => {
    const path = (req.url.split('?', 1)[0] ?? '').slice(0, 200);
    return replyWithError(new IcrError('ICR_NOT_FOUND', `There is no ${req.method} ${path} endpoint`), req, reply);
  });
}

/** Node's HTTP parser errors that are the client's fault, each with its own answer. */
function parserError(code: unknown): IcrError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new IcrError('ICR_HEADERS_TOO_LARGE', 'The request line and headers are larger than 16 KB');
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return new IcrError(
        'ICR_BAD_REQUEST',
        'The request body framing (chunked encoding or Content-Length) is not valid',
      );
    default:
      return new IcrError('ICR_BAD_REQUEST', 'The request is not valid HTTP/1.1');
  }
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser refused the request before any route (a request
 * line with a raw non-ASCII byte, bad chunking, headers over 16 KB). The answer is an OperationOutcome
 * like every other error, and the connection is closed (its framing can no longer be trusted).
 */
export function clientErrorReply(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const { status, body } = toOperationOutcome(parserError(err.code));
  const text = JSON.stringify(body);
  const reason = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${FHIR_JSON}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();

/**
 * The time budget of a FHIR request in code: a request not answered within `ms` gets a 503
 * ICR_REQUEST_TIMEOUT. The rest of the request runs under that deadline (src/shared/deadline.ts), so a
 * validation worker still busy is stopped and a write not yet committed is rolled back rather than
 * committed after the client was answered — this is what bounds a request on PGlite, which cannot cut a
 * statement. (PostgreSQL also has `statement_timeout`.)
 */
export function registerRequestTimeout(app: FastifyInstance, ms: number): void {
  if (ms <= 0) return;
  app.addHook('onRequest', (req, _reply, done) => {
    if (!req.url.startsWith('/fhir')) {
      done();
      return;
    }
    withDeadline(ms, done);
  });
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/fhir')) return;
    const timer = setTimeout(() => {
      if (reply.sent || reply.raw.headersSent) return;
      replyWithError(new IcrError('ICR_REQUEST_TIMEOUT', `The request did not finish within ${ms} ms`), req, reply);
    }, ms);
    timer.unref();
    timers.set(req, timer);
  });
  app.addHook('onResponse', async (req) => {
    clearTimeout(timers.get(req));
  });
}

/**
 * Logging rules for the HTTP layer (STYLE.md §4): structured pino logs carrying the request id and the
 * actor's id, never bodies, names, NHS numbers, addresses or authorisation headers. Request lines log
 * the route template (e.g. `/fhir/:type/:id`), never the URL: a query string can hold an NHS number.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import pino, { type Logger, type LoggerOptions } from 'pino';

/** Paths pino removes from any log object, whatever a caller passes in by mistake. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'body',
  'req.body',
  'res.body',
  'resource',
  'query',
  'url',
  'req.url',
  'name',
  'birthDate',
  'address',
  'telecom',
  'identifier',
  'nhsNumber',
  'token',
];

export const loggerRedaction: LoggerOptions['redact'] = { paths: REDACT_PATHS, censor: '[redacted]' };

/** The product logger with redaction (for main.ts). */
export function createLogger(level: string): Logger {
  return pino({ level, redact: loggerRedaction, base: { service: 'openicr' } });
}

/** A caller's logger, made safe: redaction applies even if the caller's root logger has none. */
export function safeLogger(logger: Logger): Logger {
  return logger.child({}, { redact: loggerRedaction });
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/** Request ids: the caller's `X-Request-Id` when it is a safe token, otherwise a new UUID. */
export function genReqId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

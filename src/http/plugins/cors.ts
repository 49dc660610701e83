/**
 * CORS for browser SMART apps (docs/sign-in.md "Browser apps and CORS", ADR 0044), with `@fastify/cors`:
 * `/fhir` (with the SMART configuration), the token endpoint and the server's JWKS answer preflight and
 * requests from the origins registered for SMART apps (`icr apps add … --allowed-origin <origin>`) only.
 * Any other origin, and every other path, gets no CORS headers at all. No credentials (cookies) are
 * allowed cross-origin: a SMART app sends its bearer token. The preflight is answered before the
 * authentication hook (a browser sends it without the Authorization header).
 */
import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The paths a browser SMART app calls from its own origin. */
export function corsPath(url: string): boolean {
  const path = url.split('?', 1)[0] ?? '';
  return path === '/fhir' || path.startsWith('/fhir/') || path === '/oauth/token' || path === '/.well-known/jwks.json';
}

export function registerSmartCors(app: FastifyInstance, opts: { allowed: (origin: string) => Promise<boolean> }): void {
  const off = { origin: false as const };
  void app.register(cors, {
    hook: 'onRequest',
    delegator: async (req: FastifyRequest) => {
      const origin = req.headers.origin;
      if (typeof origin !== 'string' || origin.length > 300 || !corsPath(req.url)) return off;
      if (!(await opts.allowed(origin))) return off;
      return {
        origin,
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
        allowedHeaders: ['authorization', 'content-type', 'accept', 'prefer', 'if-match', 'if-none-exist'],
        exposedHeaders: ['location', 'etag', 'last-modified', 'content-location', 'x-request-id', 'www-authenticate'],
        credentials: false,
        maxAge: 600,
        strictPreflight: true,
      };
    },
  });
}

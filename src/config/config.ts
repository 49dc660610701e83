/**
 * Configuration is read once (in main.ts or the CLI entry) from the environment, validated and frozen,
 * then passed down. Nothing else reads process.env.
 */
import path from 'node:path';
import { availableParallelism } from 'node:os';

export interface Config {
  /** PostgreSQL connection string; when absent the embedded PGlite database in dataDir is used. */
  databaseUrl: string | undefined;
  dataDir: string;
  httpHost: string;
  httpPort: number;
  mllpPort: number;
  /** PEM certificate and key files for MLLP over TLS (ICR_MLLP_TLS_CERT, ICR_MLLP_TLS_KEY); both or neither. */
  mllpTlsCert: string | undefined;
  mllpTlsKey: string | undefined;
  /** An MLLP connection silent for this long is closed (ICR_MLLP_IDLE_SECONDS, default 600). */
  mllpIdleSeconds: number;
  /**
   * Rejected HL7 v2 messages (AR/AE) are kept this many days (ICR_REJECTED_RETENTION_DAYS, default 30) and at
   * most this many (ICR_REJECTED_MAX, default 10000), for integration engineers to read and replay.
   */
  rejected: { retentionDays: number; maxRows: number };
  /** Folder of FHIR ValueSet files listing sensitive codes never stored (ICR_SENSITIVE_CODES). */
  sensitiveCodes: string | undefined;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** The limits every request is held to (docs/limits.md). */
  limits: Limits;
  /** Where CPU-heavy validation of large bodies runs (src/workers/validation-pool.ts, docs/limits.md). */
  validation: ValidationOffload;
  /**
   * Development tokens (`icr token`, HS256 with the dev secret): ICR_ALLOW_DEV_TOKENS=true allows them,
   * `false` forbids them; unset (undefined): allowed in the demo (`npm start`) only.
   */
  allowDevTokens: boolean | undefined;
  /** HS256 secret for development tokens (ICR_TOKEN_SECRET, at least 32 characters); when absent one is
   *  generated once and kept in `<dataDir>/token-secret` (mode 0600). */
  tokenSecret: string | undefined;
  /** Longest accepted lifetime of any bearer token, `exp - iat` (ICR_TOKEN_MAX_TTL, seconds; default 8 h). */
  tokenMaxTtlSeconds: number;
  /**
   * The server's public base URL (ICR_PUBLIC_URL; default http://<host>:<port>): the `aud` of launch
   * tokens, the OIDC redirect URI's base; `https://` turns on Secure cookies and HSTS.
   */
  publicUrl: string;
  /**
   * Trust X-Forwarded-* from the reverse proxy in front (ICR_TRUST_PROXY=true): the client address for rate
   * limits, and https for Secure cookies when TLS ends at the proxy. Default false.
   */
  trustProxy: boolean;
  /** Secret signing the session cookie (ICR_SESSION_SECRET, ≥ 32 characters; default `<dataDir>/session-secret`). */
  sessionSecret: string | undefined;
  /**
   * The viewer is embedded in a frame by a registered host system (ICR_SESSION_EMBEDDED=true): the session
   * cookie is `SameSite=None; Secure` so the browser sends it inside the host system's page. Needs an https
   * ICR_PUBLIC_URL. Default false (`SameSite=Lax`).
   */
  sessionEmbedded: boolean;
  /** A browser session ends after this long without a request (ICR_SESSION_IDLE_MINUTES, default 30). */
  sessionIdleSeconds: number;
  /** A browser session ends this long after sign-in whatever happens (ICR_SESSION_MAX_HOURS, default 12). */
  sessionMaxSeconds: number;
  /** Requests per minute per client address to sign-in, launch and token endpoints (ICR_SIGNIN_RATE_LIMIT, default 20). */
  signInRateLimit: number;
  /** OpenID Connect sign-in (e.g. NHS CIS2): issuer URL, client id and secret; all three or none. */
  oidcIssuer: string | undefined;
  oidcClientId: string | undefined;
  oidcClientSecret: string | undefined;
  /** Folder of public test data beside the checkout (../shared/data), used for the demo load. */
  sharedDataDir: string;
  logLevel: string;
  /** The Spine PDS FHIR API base URL (ICR_PDS_URL); unset: no PDS calls are made. */
  pdsUrl: string | undefined;
  /** Bearer token for PDS (ICR_PDS_TOKEN), when the deployment's access mode needs one. */
  pdsToken: string | undefined;
  /** ODS code sent to PDS as the end user's organisation (ICR_PDS_ODS). */
  pdsOds: string | undefined;
  /** The operator's role → categories matrix file (ICR_ACCESS_MATRIX); unset: the default (docs/access.md). */
  accessMatrixFile: string | undefined;
  /** How long a declared relationship or emergency access lasts, in hours (ICR_ACCESS_GRANT_HOURS, 1–168). */
  accessGrantHours: number;
  /** The audit trail's signals and sealer (ICR_AUDIT_*; docs/audit.md). */
  audit: AuditConfig;
}

export interface AuditConfig {
  /** How often the server links new audit entries into the hash chain (ICR_AUDIT_SEAL_INTERVAL_MS). */
  sealIntervalMs: number;
  /** Working hours, local time, `HH:MM-HH:MM` (ICR_AUDIT_WORKING_HOURS, default 08:00-18:00). */
  workingHours: { start: number; end: number };
  /** Working days, ISO numbers 1 (Monday) to 7 (ICR_AUDIT_WORKING_DAYS, default 1-5). */
  workingDays: readonly number[];
  /** IANA time zone the working hours are in (ICR_AUDIT_TIME_ZONE, default Europe/London). */
  timeZone: string;
  /** More distinct persons than this viewed by one user in one day is a signal (ICR_AUDIT_VOLUME_PER_DAY, default 50). */
  volumePerDay: number;
  /**
   * How a read's audit entry is committed before the answer (ICR_AUDIT_READ_COMMIT): `durable` (default,
   * flushed to disk) or `async` (committed, flushed within PostgreSQL's WAL writer delay; ADR 0049).
   */
  readCommit: 'durable' | 'async';
}

function minutesOf(hhmm: string): number | null {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(hhmm);
  if (!m) return null;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return v <= 24 * 60 ? v : null;
}

export function auditConfig(env: NodeJS.ProcessEnv): AuditConfig {
  const hoursRaw = env.ICR_AUDIT_WORKING_HOURS || '08:00-18:00';
  const [a, b] = hoursRaw.split('-');
  const start = minutesOf(a ?? '');
  const end = minutesOf(b ?? '');
  if (start === null || end === null || start >= end) {
    throw new Error(
      `Configuration error: ICR_AUDIT_WORKING_HOURS must be HH:MM-HH:MM, start before end (got "${hoursRaw}")`,
    );
  }
  const daysRaw = env.ICR_AUDIT_WORKING_DAYS || '1-5';
  const dm = /^([1-7])-([1-7])$/.exec(daysRaw);
  const days = dm
    ? Array.from({ length: Number(dm[2]) - Number(dm[1]) + 1 }, (_, i) => Number(dm[1]) + i)
    : daysRaw.split(',').map((d) => Number(d.trim()));
  if (days.length === 0 || days.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) {
    throw new Error(
      `Configuration error: ICR_AUDIT_WORKING_DAYS must be a range like 1-5 or a list like 1,2,3 (got "${daysRaw}")`,
    );
  }
  const readCommit = env.ICR_AUDIT_READ_COMMIT || 'durable';
  if (readCommit !== 'durable' && readCommit !== 'async') {
    throw new Error(
      `Configuration error: ICR_AUDIT_READ_COMMIT must be durable or async (got "${readCommit.slice(0, 40)}")`,
    );
  }
  const timeZone = env.ICR_AUDIT_TIME_ZONE || 'Europe/London';
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
  } catch {
    throw new Error(`Configuration error: ICR_AUDIT_TIME_ZONE must be an IANA time zone (got "${timeZone}")`);
  }
  return Object.freeze({
    sealIntervalMs: int(env, 'ICR_AUDIT_SEAL_INTERVAL_MS', 1000, 50, 3_600_000),
    workingHours: { start, end },
    workingDays: Object.freeze(days),
    timeZone,
    volumePerDay: int(env, 'ICR_AUDIT_VOLUME_PER_DAY', 50, 1, 1_000_000),
    readCommit,
  });
}

/** Worker threads for large bodies, so that validating one never holds the event loop (docs/limits.md). */
export interface ValidationOffload {
  /** Validation worker threads (ICR_VALIDATION_THREADS; default one fewer than the CPUs, 1–4); 0: inline. */
  threads: number;
  /** Bodies of at least this many characters are parsed and checked in a worker first (ICR_WORKER_BODY_BYTES). */
  workerBytes: number;
  /** Resources of more JSON values than this are validated in a worker (ICR_WORKER_NODES). */
  workerNodes: number;
}

/** Bounds on the work one request may cause; each has a documented error (docs/limits.md). */
export interface Limits {
  /** Most search parameters in one search (GET query and POST `_search` form together), and most comma-separated values in one. */
  maxSearchParams: number;
  /** Deepest nesting of objects and arrays in a JSON body. */
  maxJsonDepth: number;
  /** Longest array in a JSON body. */
  maxArrayLength: number;
  /** Longest string in a JSON body, in characters (base64Binary `data` excepted: the body limit bounds it). */
  maxStringLength: number;
  /** Longest request URL, in characters (longer searches go as POST `_search`). */
  maxUrlLength: number;
  /** Time budget of one FHIR request in code, in milliseconds; 0: none. */
  requestTimeoutMs: number;
  /** Time budget of one SQL statement of the server, in milliseconds (PostgreSQL `statement_timeout`); 0: none. */
  statementTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxSearchParams: 100,
  maxJsonDepth: 100,
  maxArrayLength: 10_000,
  maxStringLength: 1_048_576,
  maxUrlLength: 8_192,
  requestTimeoutMs: 30_000,
  statementTimeoutMs: 20_000,
});

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = 65535): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`Configuration error: ${name} must be an integer between ${min} and ${max} (got "${raw}")`);
  }
  return n;
}

function pdsUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  if (!/^https?:\/\/[^\s]+$/.test(raw)) {
    throw new Error(`Configuration error: ICR_PDS_URL must be an http(s) URL (got "${raw.slice(0, 80)}")`);
  }
  return raw;
}

function httpUrl(name: string, raw: string | undefined, fallback: string, stripSlash = true): string {
  if (!raw) return fallback;
  if (!/^https?:\/\/[^\s?#]+$/.test(raw)) {
    throw new Error(`Configuration error: ${name} must be an http(s) URL (got "${raw.slice(0, 80)}")`);
  }
  return stripSlash ? raw.replace(/\/+$/, '') : raw;
}

function sessionEmbedded(env: NodeJS.ProcessEnv): boolean {
  const raw = env.ICR_SESSION_EMBEDDED;
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw !== 'true') throw new Error('Configuration error: ICR_SESSION_EMBEDDED must be true or false');
  if (!(env.ICR_PUBLIC_URL ?? '').startsWith('https://')) {
    throw new Error(
      'Configuration error: ICR_SESSION_EMBEDDED=true needs an https ICR_PUBLIC_URL (SameSite=None cookies must be Secure)',
    );
  }
  return true;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Readonly<Config> {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error('Configuration error: DATABASE_URL must start with postgres:// or postgresql://');
  }
  const tokenSecret = env.ICR_TOKEN_SECRET || undefined;
  if (tokenSecret !== undefined && tokenSecret.length < 32) {
    throw new Error('Configuration error: ICR_TOKEN_SECRET must be at least 32 characters');
  }
  const httpHost = env.ICR_HTTP_HOST || '127.0.0.1';
  const httpPort = int(env, 'ICR_HTTP_PORT', 8080);
  const devTokens = env.ICR_ALLOW_DEV_TOKENS;
  if (devTokens !== undefined && devTokens !== '' && devTokens !== 'true' && devTokens !== 'false') {
    throw new Error(
      `Configuration error: ICR_ALLOW_DEV_TOKENS must be true or false (got "${devTokens.slice(0, 20)}")`,
    );
  }
  const sessionSecret = env.ICR_SESSION_SECRET || undefined;
  if (sessionSecret !== undefined && sessionSecret.length < 32) {
    throw new Error('Configuration error: ICR_SESSION_SECRET must be at least 32 characters');
  }
  const oidc = [env.ICR_OIDC_ISSUER, env.ICR_OIDC_CLIENT_ID, env.ICR_OIDC_CLIENT_SECRET].map((v) => v || undefined);
  if (oidc.some((v) => v !== undefined) && !oidc.every((v) => v !== undefined)) {
    throw new Error(
      'Configuration error: ICR_OIDC_ISSUER, ICR_OIDC_CLIENT_ID and ICR_OIDC_CLIENT_SECRET must be set together',
    );
  }
  const mllpTlsCert = env.ICR_MLLP_TLS_CERT || undefined;
  const mllpTlsKey = env.ICR_MLLP_TLS_KEY || undefined;
  if ((mllpTlsCert === undefined) !== (mllpTlsKey === undefined)) {
    throw new Error('Configuration error: set both ICR_MLLP_TLS_CERT and ICR_MLLP_TLS_KEY, or neither');
  }
  const config: Config = {
    databaseUrl,
    dataDir: path.resolve(cwd, env.ICR_DATA_DIR || './data'),
    httpHost,
    httpPort,
    mllpPort: int(env, 'ICR_MLLP_PORT', 2575),
    mllpTlsCert: mllpTlsCert ? path.resolve(cwd, mllpTlsCert) : undefined,
    mllpTlsKey: mllpTlsKey ? path.resolve(cwd, mllpTlsKey) : undefined,
    mllpIdleSeconds: int(env, 'ICR_MLLP_IDLE_SECONDS', 600, 1, 86400),
    rejected: {
      retentionDays: int(env, 'ICR_REJECTED_RETENTION_DAYS', 30, 1, 3650),
      maxRows: int(env, 'ICR_REJECTED_MAX', 10_000, 1, 10_000_000),
    },
    sensitiveCodes: env.ICR_SENSITIVE_CODES ? path.resolve(cwd, env.ICR_SENSITIVE_CODES) : undefined,
    bodyLimit: int(env, 'ICR_BODY_LIMIT', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    limits: Object.freeze({
      maxSearchParams: int(env, 'ICR_MAX_SEARCH_PARAMS', DEFAULT_LIMITS.maxSearchParams, 1, 10_000),
      maxJsonDepth: int(env, 'ICR_MAX_JSON_DEPTH', DEFAULT_LIMITS.maxJsonDepth, 8, 10_000),
      maxArrayLength: int(env, 'ICR_MAX_ARRAY_LENGTH', DEFAULT_LIMITS.maxArrayLength, 1, 10_000_000),
      maxStringLength: int(env, 'ICR_MAX_STRING_LENGTH', DEFAULT_LIMITS.maxStringLength, 64, 1024 * 1024 * 1024),
      maxUrlLength: int(env, 'ICR_MAX_URL_LENGTH', DEFAULT_LIMITS.maxUrlLength, 256, 1_000_000),
      requestTimeoutMs: int(env, 'ICR_REQUEST_TIMEOUT_MS', DEFAULT_LIMITS.requestTimeoutMs, 0, 3_600_000),
      statementTimeoutMs: int(env, 'ICR_STATEMENT_TIMEOUT_MS', DEFAULT_LIMITS.statementTimeoutMs, 0, 3_600_000),
    }),
    validation: Object.freeze({
      threads: int(env, 'ICR_VALIDATION_THREADS', Math.max(1, Math.min(4, availableParallelism() - 1)), 0, 64),
      workerBytes: int(env, 'ICR_WORKER_BODY_BYTES', 65_536, 0, 1024 * 1024 * 1024),
      workerNodes: int(env, 'ICR_WORKER_NODES', 2_000, 0, 100_000_000),
    }),
    allowDevTokens: devTokens === 'true' ? true : devTokens === 'false' ? false : undefined,
    tokenSecret,
    tokenMaxTtlSeconds: int(env, 'ICR_TOKEN_MAX_TTL', 8 * 3600, 60, 7 * 24 * 3600),
    publicUrl: httpUrl(
      'ICR_PUBLIC_URL',
      env.ICR_PUBLIC_URL,
      `http://${httpHost.includes(':') ? `[${httpHost}]` : httpHost}:${httpPort}`,
    ),
    trustProxy: env.ICR_TRUST_PROXY === 'true',
    sessionSecret,
    sessionEmbedded: sessionEmbedded(env),
    sessionIdleSeconds: 60 * int(env, 'ICR_SESSION_IDLE_MINUTES', 30, 1, 24 * 60),
    sessionMaxSeconds: 3600 * int(env, 'ICR_SESSION_MAX_HOURS', 12, 1, 7 * 24),
    signInRateLimit: int(env, 'ICR_SIGNIN_RATE_LIMIT', 20, 1, 100000),
    oidcIssuer: oidc[0] === undefined ? undefined : httpUrl('ICR_OIDC_ISSUER', oidc[0], '', false),
    oidcClientId: oidc[1],
    oidcClientSecret: oidc[2],
    sharedDataDir: path.resolve(cwd, env.ICR_SHARED_DATA_DIR || '../shared/data'),
    logLevel: env.ICR_LOG_LEVEL || 'info',
    pdsUrl: pdsUrl(env.ICR_PDS_URL),
    pdsToken: env.ICR_PDS_TOKEN || undefined,
    pdsOds: env.ICR_PDS_ODS || undefined,
    accessMatrixFile: env.ICR_ACCESS_MATRIX ? path.resolve(cwd, env.ICR_ACCESS_MATRIX) : undefined,
    accessGrantHours: int(env, 'ICR_ACCESS_GRANT_HOURS', 12, 1, 168),
    audit: auditConfig(env),
  };
  return Object.freeze(config);
}

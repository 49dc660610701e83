/**
 * Configuration is read once (in main.ts or the CLI entry) from the environment, validated and frozen,
 * then passed down. Nothing else reads process.env.
 */
import path from 'node:path';

export interface Config {
  /** PostgreSQL connection string; when absent the embedded PGlite database in dataDir is used. */
  databaseUrl: string | undefined;
  dataDir: string;
  httpHost: string;
  httpPort: number;
  mllpPort: number;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
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
}

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
  const config: Config = {
    databaseUrl,
    dataDir: path.resolve(cwd, env.ICR_DATA_DIR || './data'),
    httpHost,
    httpPort,
    mllpPort: int(env, 'ICR_MLLP_PORT', 2575),
    bodyLimit: int(env, 'ICR_BODY_LIMIT', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
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
  };
  return Object.freeze(config);
}

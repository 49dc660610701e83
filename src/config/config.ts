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
  /** PEM certificate and key files for MLLP over TLS (ICR_MLLP_TLS_CERT, ICR_MLLP_TLS_KEY); both or neither. */
  mllpTlsCert: string | undefined;
  mllpTlsKey: string | undefined;
  /** An MLLP connection silent for this long is closed (ICR_MLLP_IDLE_SECONDS, default 600). */
  mllpIdleSeconds: number;
  /** Folder of FHIR ValueSet files listing sensitive codes never stored (ICR_SENSITIVE_CODES). */
  sensitiveCodes: string | undefined;
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** Allow `icr token` / dev token issuing (scripts and tests). */
  allowDevTokens: boolean;
  /** HS256 secret for bearer tokens (ICR_TOKEN_SECRET, at least 32 characters); when absent one is
   *  generated once and kept in `<dataDir>/token-secret` (mode 0600). */
  tokenSecret: string | undefined;
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Readonly<Config> {
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error('Configuration error: DATABASE_URL must start with postgres:// or postgresql://');
  }
  const tokenSecret = env.ICR_TOKEN_SECRET || undefined;
  if (tokenSecret !== undefined && tokenSecret.length < 32) {
    throw new Error('Configuration error: ICR_TOKEN_SECRET must be at least 32 characters');
  }
  const mllpTlsCert = env.ICR_MLLP_TLS_CERT || undefined;
  const mllpTlsKey = env.ICR_MLLP_TLS_KEY || undefined;
  if ((mllpTlsCert === undefined) !== (mllpTlsKey === undefined)) {
    throw new Error('Configuration error: set both ICR_MLLP_TLS_CERT and ICR_MLLP_TLS_KEY, or neither');
  }
  const config: Config = {
    databaseUrl,
    dataDir: path.resolve(cwd, env.ICR_DATA_DIR || './data'),
    httpHost: env.ICR_HTTP_HOST || '127.0.0.1',
    httpPort: int(env, 'ICR_HTTP_PORT', 8080),
    mllpPort: int(env, 'ICR_MLLP_PORT', 2575),
    mllpTlsCert: mllpTlsCert ? path.resolve(cwd, mllpTlsCert) : undefined,
    mllpTlsKey: mllpTlsKey ? path.resolve(cwd, mllpTlsKey) : undefined,
    mllpIdleSeconds: int(env, 'ICR_MLLP_IDLE_SECONDS', 600, 1, 86400),
    sensitiveCodes: env.ICR_SENSITIVE_CODES ? path.resolve(cwd, env.ICR_SENSITIVE_CODES) : undefined,
    bodyLimit: int(env, 'ICR_BODY_LIMIT', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    allowDevTokens: (env.ICR_ALLOW_DEV_TOKENS ?? 'true') !== 'false',
    tokenSecret,
    sharedDataDir: path.resolve(cwd, env.ICR_SHARED_DATA_DIR || '../shared/data'),
    logLevel: env.ICR_LOG_LEVEL || 'info',
    pdsUrl: pdsUrl(env.ICR_PDS_URL),
    pdsToken: env.ICR_PDS_TOKEN || undefined,
    pdsOds: env.ICR_PDS_ODS || undefined,
  };
  return Object.freeze(config);
}

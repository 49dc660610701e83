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
  /** The operator's role → categories matrix file (ICR_ACCESS_MATRIX); unset: the default (docs/access.md). */
  accessMatrixFile: string | undefined;
  /** How long a declared relationship or emergency access lasts, in hours (ICR_ACCESS_GRANT_HOURS, 1–168). */
  accessGrantHours: number;
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
  const config: Config = {
    databaseUrl,
    dataDir: path.resolve(cwd, env.ICR_DATA_DIR || './data'),
    httpHost: env.ICR_HTTP_HOST || '127.0.0.1',
    httpPort: int(env, 'ICR_HTTP_PORT', 8080),
    mllpPort: int(env, 'ICR_MLLP_PORT', 2575),
    bodyLimit: int(env, 'ICR_BODY_LIMIT', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    allowDevTokens: (env.ICR_ALLOW_DEV_TOKENS ?? 'true') !== 'false',
    tokenSecret,
    sharedDataDir: path.resolve(cwd, env.ICR_SHARED_DATA_DIR || '../shared/data'),
    logLevel: env.ICR_LOG_LEVEL || 'info',
    pdsUrl: pdsUrl(env.ICR_PDS_URL),
    pdsToken: env.ICR_PDS_TOKEN || undefined,
    pdsOds: env.ICR_PDS_ODS || undefined,
    accessMatrixFile: env.ICR_ACCESS_MATRIX ? path.resolve(cwd, env.ICR_ACCESS_MATRIX) : undefined,
    accessGrantHours: int(env, 'ICR_ACCESS_GRANT_HOURS', 12, 1, 168),
  };
  return Object.freeze(config);
}

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
  });
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
    audit: auditConfig(env),
  };
  return Object.freeze(config);
}

/**
 * CLI error reporting: a clear one-line message (naming the file and line when there is one), no stack
 * trace, and a distinct exit code (2 for usage and input errors).
 */
import { isIcrError } from '../shared/errors.ts';

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Runs a command action, turning any error into a message on stderr and an exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof CliError) {
        process.stderr.write(`icr: ${err.message}\n`);
        process.exitCode = err.exitCode;
      } else if (isIcrError(err)) {
        process.stderr.write(`icr: ${err.code}: ${err.message}\n`);
        for (const d of err.details) process.stderr.write(`  ${d.expression ? `${d.expression}: ` : ''}${d.message}\n`);
        process.exitCode = 2;
      } else {
        const msg = err instanceof Error ? err.message : String(err);
        process.stderr.write(`icr: unexpected error: ${msg}\n`);
        process.exitCode = 1;
      }
    }
  };
}

/**
 * Runs `icr mpi …` sub-commands in-process: `register` adds them to a fresh `mpi` command with an `out`
 * that the runner collects; the runner resolves to what the command printed (errors go to stderr and
 * `process.exitCode`, as in the real CLI).
 */
import { Command } from 'commander';

export function mpiCommandRunner(
  register: (mpi: Command, out: (text: string) => void) => void,
): (...args: string[]) => Promise<string> {
  return async (...args) => {
    let output = '';
    process.exitCode = undefined;
    const program = new Command().exitOverride();
    register(program.command('mpi'), (s) => void (output += s));
    await program.parseAsync(['node', 'icr', 'mpi', ...args]);
    return output;
  };
}

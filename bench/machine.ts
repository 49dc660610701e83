/**
 * One line describing the machine a benchmark ran on, for bench/README.md: CPUs, CPU model, memory,
 * Node version, date and the load average when the run started (a shared 2-core machine is noisy).
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

export function machine(): string {
  const cpu =
    /model name\s*:\s*(.+)/.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ??
    os.cpus()[0]?.model ??
    'unknown';
  const load = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  return `${os.availableParallelism()} CPUs (nproc), ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}; load average at start ${load}`;
}

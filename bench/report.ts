/**
 * Helpers for the benchmarks' reports. `machine()`: one line describing the machine a benchmark ran on, for bench/README.md: CPUs, CPU model, memory,
 * Node version, date and the load average when the run started (a shared 2-core machine is noisy).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * Where a section's hand-written readings begin: a paragraph whose first line starts "Reading (" (no
 * benchmark writes one). They, and everything after them in the section, are kept when the section is
 * rewritten, so a bench run never loses what someone wrote about earlier runs.
 */
const READING = /^Reading \(/m;

/** The hand-written readings of `section` (from its first "Reading (" paragraph to its end), or ''. */
export function readingsOf(section: string): string {
  const m = READING.exec(section);
  return m ? section.slice(m.index).trimEnd() : '';
}

/**
 * Replaces the section headed `heading` (a `## ` line, matched whole) of the Markdown file with `text`
 * followed by the section's hand-written readings (`readingsOf`), or appends it, leaving every other section
 * as it is; then formats the file as `npm run lint` expects (Prettier with the project's settings).
 */
export async function writeSection(file: string, heading: string, text: string): Promise<void> {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const escaped = heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const start = current.search(new RegExp(`^${escaped}$`, 'm'));
  let next: string;
  if (start < 0) next = `${current.trimEnd()}\n\n${text}`;
  else {
    const after = current.indexOf('\n## ', start + 1);
    const readings = readingsOf(current.slice(start, after < 0 ? undefined : after + 1));
    const section = readings === '' ? text : `${text.trimEnd()}\n\n${readings}\n`;
    next = current.slice(0, start) + section + (after < 0 ? '' : `\n${current.slice(after + 1)}`);
  }
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(`${next.trimEnd()}\n`, { ...options, filepath: file }));
}

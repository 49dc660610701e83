/**
 * Expands the paths given to `icr import` into the files to read: files as given, folders recursively,
 * in a stable sorted order. Each file gets a source key (its path relative to the folder it was found
 * in, or its name when given directly) from which deterministic ids are derived, so that importing the
 * same folder again from another working directory gives the same ids.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export type SourceKind = 'json' | 'ndjson' | 'hl7' | 'other';

export interface SourceFile {
  /** Path as it can be opened (and shown to the user). */
  path: string;
  sourceKey: string;
  kind: SourceKind;
  size: number;
}

export class InputPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputPathError';
  }
}

export function kindOf(file: string): SourceKind {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.hl7') return 'hl7';
  return 'other';
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function walk(dir: string, root: string, out: SourceFile[]): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => byCodePoint(a.name, b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue; // hidden files and folders (.git, .DS_Store)
    const full = path.join(dir, e.name);
    if (e.isDirectory()) await walk(full, root, out);
    else if (e.isFile()) {
      const { size } = await stat(full);
      out.push({
        path: full,
        sourceKey: path.relative(root, full).split(path.sep).join('/'),
        kind: kindOf(e.name),
        size,
      });
    }
  }
}

/** The files to import, in order. Throws InputPathError when a path does not exist. */
export async function listSourceFiles(inputs: readonly string[]): Promise<SourceFile[]> {
  const out: SourceFile[] = [];
  for (const input of inputs) {
    let st;
    try {
      st = await stat(input);
    } catch {
      throw new InputPathError(`${input}: no such file or folder`);
    }
    if (st.isDirectory()) await walk(input, input, out);
    else out.push({ path: input, sourceKey: path.basename(input), kind: kindOf(input), size: st.size });
  }
  return out;
}

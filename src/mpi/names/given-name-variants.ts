/**
 * UK given-name variants and short forms (`uk-given-name-variants.txt` beside this file: its header names
 * the source and the licence). Two names are variants when a line of the file holds both. Read once, on
 * first use.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const GIVEN_NAME_VARIANTS_PATH = fileURLToPath(new URL('./uk-given-name-variants.txt', import.meta.url));

export interface NameVariants {
  /** True when `x` and `y` are the same name or variants of one another. */
  same(x: string, y: string): boolean;
  /** The groups `name` belongs to (ids), empty when the list does not know it. */
  groups(name: string): readonly number[];
}

/** Parses the variants file format: one group per line, names separated by spaces, `#` comments. */
export function parseNameVariants(text: string): NameVariants {
  const groupsOf = new Map<string, number[]>();
  let id = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim().toLowerCase();
    if (line === '') continue;
    const names = [...new Set(line.split(/\s+/))];
    if (names.length < 2) continue;
    for (const n of names) groupsOf.set(n, [...(groupsOf.get(n) ?? []), id]);
    id++;
  }
  const none: number[] = [];
  return {
    same(x, y) {
      if (x === y) return true;
      const gx = groupsOf.get(x);
      if (gx === undefined) return false;
      const gy = groupsOf.get(y);
      return gy !== undefined && gx.some((g) => gy.includes(g));
    },
    groups: (name) => groupsOf.get(name) ?? none,
  };
}

let loaded: NameVariants | undefined;

/** The bundled list. */
export function givenNameVariants(): NameVariants {
  loaded ??= parseNameVariants(readFileSync(GIVEN_NAME_VARIANTS_PATH, 'utf8'));
  return loaded;
}

/**
 * The ids of the resources of one type that some resources refer to (`{"reference": "Organization/x"}`,
 * looked for down to a small depth). No I/O.
 */

const REF = /^([A-Za-z]{1,64})\/([A-Za-z0-9\-.]{1,64})$/;

/** The ids that `resources` refer to as `<type>/<id>`, each once, in the order first met, at most `max`. */
export function referencedIds(
  resources: ReadonlyArray<unknown>,
  type: string,
  opts: { max?: number; depth?: number } = {},
): string[] {
  const max = opts.max ?? 100;
  const maxDepth = opts.depth ?? 4;
  const out = new Set<string>();
  const walk = (v: unknown, depth: number): void => {
    if (out.size >= max || depth > maxDepth || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    const ref = (v as { reference?: unknown }).reference;
    if (typeof ref === 'string') {
      const m = REF.exec(ref);
      if (m?.[1] === type && m[2] && out.size < max) out.add(m[2]);
    }
    for (const x of Object.values(v)) walk(x, depth + 1);
  };
  for (const r of resources) walk(r, 0);
  return [...out];
}

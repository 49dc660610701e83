/**
 * Jaro–Winkler similarity (Winkler 1990): Jaro similarity plus a bonus for a common prefix of up to four
 * characters (scale 0.1), applied when the Jaro similarity is above 0.7. Returns 0..1, 1 for equal strings.
 *
 * Hand-written rather than imported: it is on the hot path of every comparison, this version allocates
 * nothing per call (two reused flag buffers), and it is checked against the published reference values.
 */

let flagsA = new Uint8Array(64);
let flagsB = new Uint8Array(64);

export function jaro(a: string, b: string): number {
  if (a === b) return a.length === 0 ? 0 : 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  if (flagsA.length < la) flagsA = new Uint8Array(la * 2);
  if (flagsB.length < lb) flagsB = new Uint8Array(lb * 2);
  flagsA.fill(0, 0, la);
  flagsB.fill(0, 0, lb);
  const window = Math.max(0, Math.floor(Math.max(la, lb) / 2) - 1);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = Math.max(0, i - window);
    const hi = Math.min(lb - 1, i + window);
    const c = a.charCodeAt(i);
    for (let j = lo; j <= hi; j++) {
      if (flagsB[j] === 0 && b.charCodeAt(j) === c) {
        flagsA[i] = 1;
        flagsB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (flagsA[i] === 0) continue;
    while (flagsB[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const t = transpositions / 2;
  return (matches / la + matches / lb + (matches - t) / matches) / 3;
}

export function jaroWinkler(a: string, b: string): number {
  const j = jaro(a, b);
  if (j <= 0.7) return j;
  const max = Math.min(4, a.length, b.length);
  let prefix = 0;
  while (prefix < max && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return j + prefix * 0.1 * (1 - j);
}

/** Character counts of the first string (ASCII), zeroed again after each bound. */
const charCounts = new Int32Array(128);
const SPACE = 32;

/**
 * An upper bound of `jaroWinkler(a, b)` — of the two strings with their spaces removed when `squashed` —
 * found without matching (ADR 0058): Jaro's matches pair equal characters one to one, so there are at most as
 * many as the characters the two strings have in common (counted with repeats; the shorter length for
 * non-ASCII text), and with no transpositions and that many matches Jaro–Winkler is at its largest — it grows
 * with the Jaro similarity, the common prefix being fixed. Computed with the same arithmetic as `jaroWinkler`,
 * so for strings it reaches exactly it is the same number. O(length), allocates nothing; lets a threshold test
 * skip the comparison when even the bound falls short.
 */
export function jaroWinklerBound(a: string, b: string, squashed = false): number {
  const skip = squashed ? SPACE : -1;
  let la = 0;
  let lb = 0;
  let common = 0;
  let ascii = true;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c === skip) continue;
    la++;
    if (c < 128) charCounts[c] = (charCounts[c] as number) + 1;
    else ascii = false;
  }
  for (let j = 0; j < b.length; j++) {
    const c = b.charCodeAt(j);
    if (c === skip) continue;
    lb++;
    if (c < 128 && (charCounts[c] as number) > 0) {
      charCounts[c] = (charCounts[c] as number) - 1;
      common++;
    }
  }
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c < 128) charCounts[c] = 0;
  }
  if (la === 0 || lb === 0) return 0;
  if (a === b) return 1;
  const matches = ascii ? common : Math.min(la, lb);
  if (matches === 0) return 0;
  const j = (matches / la + matches / lb + matches / matches) / 3;
  if (j <= 0.7) return j;
  // The common prefix (up to four characters) of the strings as compared.
  const max = Math.min(4, la, lb);
  let prefix = 0;
  for (let x = 0, y = 0; prefix < max; x++, y++) {
    while (a.charCodeAt(x) === skip) x++;
    while (b.charCodeAt(y) === skip) y++;
    if (a.charCodeAt(x) !== b.charCodeAt(y)) break;
    prefix++;
  }
  return j + prefix * 0.1 * (1 - j);
}

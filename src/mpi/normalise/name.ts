/**
 * Person names: folded to lower-case ASCII, titles and suffixes removed, apostrophes dropped
 * (O'Brien → obrien), hyphens and full stops become spaces (Smith-Jones → smith jones, J. → j).
 * Placeholders that front-line systems use for an unknown name (`unknown`, `baby`, `xx`) become missing.
 */
import { foldText } from './text.ts';

// prettier-ignore
const TITLES = new Set([
  'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'professor', 'rev', 'revd', 'sir', 'dame', 'lady', 'lord',
  'master', 'fr', 'sr', 'jr', 'snr', 'jnr', 'ii', 'iii', 'phd', 'md', 'frcs', 'mbe', 'obe', 'cbe',
]);

// prettier-ignore
const PLACEHOLDERS = new Set([
  'unknown', 'unk', 'nk', 'not known', 'baby', 'infant', 'newborn', 'test', 'dummy', 'patient',
  'anonymous', 'anon', 'none', 'null', 'na', 'n a', 'zz', 'zzz', 'xx', 'xxx', 'xxxx',
]);

/** Name words with titles removed, or an empty list when nothing usable is left. */
export function nameTokens(raw: string | undefined | null): string[] {
  if (raw == null) return [];
  const folded = foldText(raw)
    .replace(/['’`]/g, '')
    .replace(/[^a-z\s]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (folded === '' || PLACEHOLDERS.has(folded)) return [];
  return folded.split(' ').filter((w) => !TITLES.has(w) && !PLACEHOLDERS.has(w));
}

/** A whole name part (family name, or one given name) as one string; multi-word names keep their spaces. */
export function normaliseName(raw: string | undefined | null): string | undefined {
  const tokens = nameTokens(raw);
  return tokens.length === 0 ? undefined : tokens.join(' ');
}

/** First given name and the rest as middle names, from a list of given names or one string. */
export function splitGivenNames(raw: readonly string[] | string | undefined | null): {
  given?: string;
  middle?: string;
} {
  const parts = raw == null ? [] : typeof raw === 'string' ? [raw] : raw;
  const tokens = parts.flatMap((p) => nameTokens(p));
  const [first, ...rest] = tokens;
  if (first === undefined) return {};
  return rest.length === 0 ? { given: first } : { given: first, middle: rest.join(' ') };
}

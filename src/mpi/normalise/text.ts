/** Shared text folding: Unicode compatibility form, diacritics removed, lower case, spaces collapsed. */

const COMBINING = /[\u0300-\u036f]/g;
const SPECIAL: Readonly<Record<string, string>> = { ß: 'ss', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ł: 'l', þ: 'th' };

export function foldText(raw: string): string {
  return raw
    .normalize('NFKD')
    .replace(COMBINING, '')
    .toLowerCase()
    .replace(/[ßæœøđłþ]/g, (c) => SPECIAL[c] ?? c)
    .replace(/\s+/g, ' ')
    .trim();
}

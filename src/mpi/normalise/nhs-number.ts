/**
 * NHS numbers: ten digits, the last a Modulus 11 check digit over the first nine (weights 10 down to 2).
 * Input may carry spaces or dashes (`999 123 4567`, `999-123-4567`); anything else is not an NHS number.
 */

const WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2] as const;

/** The check digit for nine leading digits, or undefined when none exists (remainder gives 10). */
export function nhsCheckDigit(first9: string): number | undefined {
  if (!/^\d{9}$/.test(first9)) return undefined;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (first9.charCodeAt(i) - 48) * (WEIGHTS[i] ?? 0);
  const check = 11 - (sum % 11);
  if (check === 11) return 0;
  if (check === 10) return undefined;
  return check;
}

/** True for ten digits whose check digit is right. Ten identical digits are refused as placeholders. */
export function isValidNhsNumber(digits: string): boolean {
  if (!/^\d{10}$/.test(digits)) return false;
  if (/^(\d)\1{9}$/.test(digits)) return false;
  return nhsCheckDigit(digits.slice(0, 9)) === digits.charCodeAt(9) - 48;
}

/** Ten digits when `raw` is a valid NHS number once spaces and dashes are removed, else undefined. */
export function normaliseNhsNumber(raw: string | undefined | null): string | undefined {
  if (raw == null) return undefined;
  const trimmed = raw.trim();
  if (!/^[\d\s-]+$/.test(trimmed)) return undefined;
  const digits = trimmed.replace(/[\s-]/g, '');
  return isValidNhsNumber(digits) ? digits : undefined;
}

/** The 3-3-4 display form, `999 123 4567`. */
export function formatNhsNumber(digits: string): string {
  return `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`;
}

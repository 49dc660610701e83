/**
 * NHS Common User Interface display rules, pure: dates as `14-Jul-1945`, times 24-hour, age as `81y`
 * (months under 2 years, weeks under 4 months, days under 4 weeks), the name as `FAMILY, Given (Title)`,
 * NHS numbers as `943 476 5919`. Times are shown in UK time (Europe/London).
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const TZ = 'Europe/London';

/** `2026-12-06` or `2026-12-06T10:32:00Z` → `06-Dec-2026`; partial dates `1979` / `1979-09` as they are. */
export function cuiDate(value: string | undefined): string {
  if (!value) return '';
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!m) return value;
  const [, y, mo, d] = m;
  if (value.length > 10 && value.includes('T')) {
    const dt = new Date(value);
    if (!Number.isNaN(dt.getTime())) {
      const parts = londonParts(dt);
      return `${parts.day}-${MONTHS[Number(parts.month) - 1] ?? ''}-${parts.year}`;
    }
  }
  if (!mo) return y ?? value;
  const month = MONTHS[Number(mo) - 1];
  if (!month) return value;
  return d ? `${d}-${month}-${y ?? ''}` : `${month}-${y ?? ''}`;
}

function londonParts(dt: Date): Record<'year' | 'month' | 'day' | 'hour' | 'minute', string> {
  const f = new Intl.DateTimeFormat('en-GB', {
    timeZone: TZ,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(dt)) out[p.type] = p.value;
  return out;
}

/** `06-Dec-2026 10:32` for instants (date only when no time is given). */
export function cuiDateTime(value: string | undefined): string {
  if (!value) return '';
  if (!value.includes('T')) return cuiDate(value);
  const dt = new Date(value);
  if (Number.isNaN(dt.getTime())) return value;
  const p = londonParts(dt);
  return `${p.day}-${MONTHS[Number(p.month) - 1] ?? ''}-${p.year} ${p.hour}:${p.minute}`;
}

/** `10:32` today, else `06-Dec-2026 10:32` ("updated …" of a source). */
export function cuiFreshness(value: string, now: Date): string {
  const dt = new Date(value);
  if (Number.isNaN(dt.getTime())) return 'unknown';
  const a = londonParts(dt);
  const b = londonParts(now);
  const time = `${a.hour}:${a.minute}`;
  return a.year === b.year && a.month === b.month && a.day === b.day ? time : `${cuiDate(value)} ${time}`;
}

/** Age per CUI: years from 2, months under 2 years, weeks under 4 months... from a full birth date. */
export function cuiAge(birthDate: string | undefined, now: Date, deceased?: string): string {
  const m = birthDate ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate) : null;
  if (!m) return '';
  const end = deceased ? new Date(deceased) : now;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  let years = end.getUTCFullYear() - y;
  let months = end.getUTCMonth() + 1 - mo;
  if (end.getUTCDate() < d) months -= 1;
  if (months < 0) {
    years -= 1;
    months += 12;
  }
  if (years >= 2) return `${years}y`;
  const totalMonths = years * 12 + months;
  const days = Math.floor((end.getTime() - Date.UTC(y, mo - 1, d)) / 86_400_000);
  if (totalMonths >= 4) return `${totalMonths}m`;
  if (days >= 28) return `${Math.floor(days / 7)}w`;
  return `${Math.max(days, 0)}d`;
}

/** `DEMO-PATEL, Asha (Mrs)`: family in capitals, then given names, then title. */
export function cuiName(family: string, given: readonly string[], prefix: readonly string[] = []): string {
  const f = family.toUpperCase();
  const g = given.join(' ');
  const t = prefix.length > 0 ? ` (${prefix.join(' ')})` : '';
  if (!f) return `${g}${t}` || 'Name not recorded';
  return g ? `${f}, ${g}${t}` : `${f}${t}`;
}

/** `9434765919` → `943 476 5919` (anything else as it is). */
export function cuiNhsNumber(digits: string): string {
  return /^\d{10}$/.test(digits) ? `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}` : digits;
}

const GENDER: Record<string, string> = { male: 'Male', female: 'Female', other: 'Other', unknown: 'Not known' };

export function cuiGender(g: string | undefined): string {
  return g ? (GENDER[g] ?? g) : 'Not recorded';
}

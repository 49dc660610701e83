/**
 * How the admin portal writes times, ages and numbers (NHS style: `6 Dec 2026, 14:05`, "4 minutes ago").
 * No I/O here.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `6 Dec 2026, 14:05` in UTC (the server's audit and feed times are UTC); '' for a missing or bad value. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${hh}:${mm} UTC`;
}

/** A duration in seconds in words: `45 seconds`, `3 minutes`, `2 hours 5 minutes`, `3 days`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (s < 60) return plural(s, 'second');
  const m = Math.floor(s / 60);
  if (m < 60) return plural(m, 'minute');
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 === 0 ? plural(h, 'hour') : `${plural(h, 'hour')} ${plural(m % 60, 'minute')}`;
  return plural(Math.floor(h / 24), 'day');
}

/** How long ago `iso` was, seen at `now`: `never` when there is no time. */
export function ago(iso: string | null | undefined, now: Date): string {
  if (!iso) return 'never';
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return 'never';
  const s = (now.getTime() - t) / 1000;
  return s < 1 ? 'just now' : `${duration(s)} ago`;
}

/** `943 476 5919` for ten digits; anything else as it is. */
export function nhsNumber(s: string | null | undefined): string {
  if (!s) return '';
  return /^\d{10}$/.test(s) ? `${s.slice(0, 3)} ${s.slice(3, 6)} ${s.slice(6)}` : s;
}

/** A weight or score with its sign and at most two decimals: `+7.25`, `−3.1`, `0`. */
export function signed(n: number): string {
  const r = Math.round(n * 100) / 100;
  if (r === 0) return '0';
  return r > 0 ? `+${r}` : `\u2212${Math.abs(r)}`;
}

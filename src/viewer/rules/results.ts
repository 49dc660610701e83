/**
 * Results for the viewer, pure: observations grouped by test (code), each test's points in time order with
 * the latest value, reference range and abnormal flag; tests with two or more numeric values get a trend.
 */
import type { ResultItem } from '../../records/viewer/patient-view.ts';

export interface ResultSeries {
  code: string;
  name: string;
  unit?: string;
  /** Oldest first. */
  points: ResultItem[];
  latest: ResultItem;
  /** Two or more numeric values: a trend chart is drawn. */
  trend: boolean;
  low?: number;
  high?: number;
  abnormal: boolean;
}

export function groupResults(items: readonly ResultItem[]): ResultSeries[] {
  const byCode = new Map<string, ResultItem[]>();
  for (const r of items) {
    const list = byCode.get(r.code) ?? [];
    list.push(r);
    byCode.set(r.code, list);
  }
  const out: ResultSeries[] = [];
  for (const [code, list] of byCode) {
    const points = [...list].sort((a, b) => (a.date ?? '').localeCompare(b.date ?? ''));
    const latest = points[points.length - 1];
    if (!latest) continue;
    const withRange = [...points].reverse().find((p) => p.low !== undefined || p.high !== undefined);
    const s: ResultSeries = {
      code,
      name: latest.text,
      points,
      latest,
      trend: points.filter((p) => p.value !== undefined).length >= 2,
      abnormal: latest.flag !== undefined && latest.flag !== 'N',
    };
    const unit = latest.unit ?? points.find((p) => p.unit)?.unit;
    if (unit) s.unit = unit;
    if (withRange?.low !== undefined) s.low = withRange.low;
    if (withRange?.high !== undefined) s.high = withRange.high;
    out.push(s);
  }
  return out.sort((a, b) => (b.latest.date ?? '').localeCompare(a.latest.date ?? ''));
}

const FLAG_TEXT: Record<string, string> = {
  H: 'High',
  HH: 'Critically high',
  L: 'Low',
  LL: 'Critically low',
  A: 'Abnormal',
  AA: 'Critically abnormal',
  HU: 'Very high',
  LU: 'Very low',
};

export function flagText(flag: string | undefined): string | undefined {
  return flag === undefined || flag === 'N' ? undefined : (FLAG_TEXT[flag] ?? flag);
}

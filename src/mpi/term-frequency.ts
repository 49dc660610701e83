/**
 * Value counts per field, for the term-frequency adjustment. Kept incrementally: adding a record updates
 * the count of its value and the running sum of squared counts, so `randomAgreement` costs nothing.
 */
import type { MatchField, MatchRecord, TermFrequencies } from './types.ts';

interface FieldCounts {
  counts: Map<string, number>;
  total: number;
  sumSquares: number;
}

export class TermFrequencyTable implements TermFrequencies {
  readonly #fields = new Map<MatchField, FieldCounts>();

  constructor(fields: readonly MatchField[]) {
    for (const f of fields) this.#fields.set(f, { counts: new Map(), total: 0, sumSquares: 0 });
  }

  add(record: MatchRecord): void {
    for (const [field, fc] of this.#fields) {
      const v = record[field];
      if (typeof v !== 'string') continue;
      const c = fc.counts.get(v) ?? 0;
      fc.counts.set(v, c + 1);
      fc.sumSquares += 2 * c + 1;
      fc.total++;
    }
  }

  frequency(field: MatchField, value: string): number | undefined {
    const fc = this.#fields.get(field);
    if (!fc || fc.total === 0) return undefined;
    return Math.max(1, fc.counts.get(value) ?? 0) / fc.total;
  }

  randomAgreement(field: MatchField): number | undefined {
    const fc = this.#fields.get(field);
    if (!fc || fc.total === 0) return undefined;
    return fc.sumSquares / (fc.total * fc.total);
  }
}

/**
 * Medicine reconciliation for the viewer, pure: the same medicine recorded by several sources is one group
 * (by dm+d/SNOMED code, else by the medicine's name without its strength); within a group, what each source
 * says now (its latest entry), and the differences a clinician must see: a dose that differs between
 * sources, a medicine stopped in one source but active in another, a medicine only one source has.
 */
import type { MedicineItem } from '../../records/viewer/patient-view.ts';
import { medicineKey } from '../../records/viewer/patient-view.ts';

export type Difference = 'dose-differs' | 'stopped-in-one-source' | 'one-source-only';

export interface MedicineGroup {
  /** The name shown (from the latest active entry, else the latest). */
  name: string;
  key: string;
  /** Each source's latest entry, newest first. */
  bySource: MedicineItem[];
  /** Every entry of the group (all sources, all dates), newest first. */
  all: MedicineItem[];
  active: boolean;
  differences: Difference[];
}

/** The strength in a product name ("Amlodipine 10mg tablets" → "10mg"), lower case, no spaces. */
export function strengthOf(name: string): string {
  const m = /(\d+(?:\.\d+)?)\s*(mg\/ml|mg\/5ml|micrograms?|mcg|mg|g|ml|units?|%)/i.exec(name);
  return m ? `${m[1] ?? ''}${(m[2] ?? '').toLowerCase()}` : '';
}

/** What must agree between sources: the strength of the product and the dose instructions. */
function normaliseDose(name: string, d: string | undefined): string {
  const dose = (d ?? '')
    .toLowerCase()
    .replace(/\bone\b/g, '1')
    .replace(/\btwo\b/g, '2')
    .replace(/\s+/g, ' ')
    .replace(/\.$/, '')
    .trim();
  return `${strengthOf(name)}|${dose}`;
}

/** Groups the medicines: same code, or same name without strength, is the same medicine. */
export function reconcileMedicines(items: readonly MedicineItem[]): MedicineGroup[] {
  // Names join groups too: a coded entry and an uncoded one of the same medicine belong together.
  const keyOf = new Map<string, string>();
  const groups = new Map<string, MedicineItem[]>();
  for (const m of items) {
    const nameKey = `name:${medicineKey(m.text)}`;
    const codeKey = m.code && m.code.includes('|') ? `code:${m.code}` : undefined;
    const key = (codeKey && keyOf.get(codeKey)) ?? keyOf.get(nameKey) ?? codeKey ?? nameKey;
    if (codeKey) keyOf.set(codeKey, key);
    keyOf.set(nameKey, key);
    const list = groups.get(key) ?? [];
    list.push(m);
    groups.set(key, list);
  }
  const out: MedicineGroup[] = [];
  for (const [key, list] of groups) {
    const all = [...list].sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
    const latest = new Map<string, MedicineItem>();
    for (const m of all) if (!latest.has(m.source)) latest.set(m.source, m);
    const bySource = [...latest.values()];
    const differences: Difference[] = [];
    const activeOnes = bySource.filter((m) => m.active);
    const doses = new Set(activeOnes.map((m) => normaliseDose(m.text, m.dose)).filter((d) => d !== '|'));
    if (doses.size > 1) differences.push('dose-differs');
    if (activeOnes.length > 0 && activeOnes.length < bySource.length) differences.push('stopped-in-one-source');
    if (bySource.length === 1 && latest.size === 1) differences.push('one-source-only');
    const shown = activeOnes[0] ?? all[0];
    out.push({
      name: shown?.text ?? key,
      key,
      bySource,
      all,
      active: activeOnes.length > 0,
      differences,
    });
  }
  return out.sort((a, b) => Number(b.active) - Number(a.active) || a.name.localeCompare(b.name));
}

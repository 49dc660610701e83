/**
 * What the viewer's summary filters and sorts a resource by, computed once at write time and kept as two
 * plain columns of the `resource` row (ADR 0052): the item's status and its date. The summary's read
 * (store/person-summary.ts) then filters and sorts on columns instead of parsing every candidate row's JSON
 * on each request. Migration 0028 backfills the columns with the same rules written in SQL; a test checks
 * both agree. No I/O here.
 */
import type { FhirResource } from './types.ts';

/** The summary's columns of one resource: null where the type has none (or the element is absent or empty). */
export interface SummaryFacts {
  /**
   * `status` (a code), or for AllergyIntolerance and Condition the first non-empty code of
   * `clinicalStatus.coding`.
   */
  status: string | null;
  /** The date the summary sorts the item by, exactly as the resource gives it (ISO text, partial or not). */
  date: string | null;
}

type Json = Record<string, unknown>;

/** A string element, or null when absent, not a string or empty (as the viewer's `str`). */
function text(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function child(v: unknown, key: string): unknown {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json)[key] : undefined;
}

/** The first coding's code of a CodeableConcept that is a non-empty string (as the viewer's `codingCode`). */
function firstCode(concept: unknown): string | null {
  const coding = child(concept, 'coding');
  if (!Array.isArray(coding)) return null;
  for (const c of coding) {
    const code = text(child(c, 'code'));
    if (code !== null) return code;
  }
  return null;
}

function first(...values: unknown[]): string | null {
  for (const v of values) {
    const t = text(v);
    if (t !== null) return t;
  }
  return null;
}

/**
 * The summary's status and date of `resource`. Only the types the summary cards show have them: allergies,
 * medicines, problems, alerts, encounters, appointments, care teams and episodes of care.
 */
export function summaryFactsOf(resource: FhirResource): SummaryFacts {
  const r = resource as Json;
  switch (resource.resourceType) {
    case 'AllergyIntolerance':
      return { status: firstCode(r.clinicalStatus), date: first(r.recordedDate, r.onsetDateTime) };
    case 'MedicationRequest':
    case 'MedicationStatement':
      return {
        status: text(r.status),
        date: first(r.authoredOn, r.effectiveDateTime, child(r.effectivePeriod, 'start'), r.dateAsserted),
      };
    case 'Condition':
      return {
        status: firstCode(r.clinicalStatus),
        date: first(r.onsetDateTime, child(r.onsetPeriod, 'start'), r.recordedDate),
      };
    case 'Encounter':
      return { status: text(r.status), date: text(child(r.period, 'start')) };
    case 'Appointment':
      return { status: text(r.status), date: text(r.start) };
    case 'Flag':
    case 'CareTeam':
    case 'EpisodeOfCare':
      return { status: text(r.status), date: null };
    default:
      return { status: null, date: null };
  }
}

/**
 * Validation of every write against the FHIR R4 StructureDefinitions.
 *
 * The rules of @medplum/core's validator do the bulk of the work (unknown elements, JSON types and
 * primitive formats, cardinality, choice types, contained resources, FHIRPath invariants);
 * validation-checks.ts adds what it misses (reference targets, required bindings, id and dateTime
 * formats, empty values, narrative XHTML, dom-3, org-1). Both run in one pass over the elements present
 * (validation-walk.ts, with medplum's checks ported in validation-structure.ts). See
 * docs/adr/0012-validation.md and docs/adr/0015-single-pass-validation.md.
 *
 * The R4 definitions are indexed once, lazily on first use or up front with `initValidation()`.
 */

import { IcrError } from '../shared/errors.ts';
import type { FhirResource } from './types.ts';
import { isSupportedType } from './types.ts';
import { loadR4Definitions } from './validation-definitions.ts';
import type { ValidationInitTimings } from './validation-definitions.ts';
import type { ValidationIssue } from './validation-issue.ts';
import { hardeningIssues } from './validation-hardening.ts';
import { mergeIssues } from './validation-merge.ts';
import { walkResource } from './validation-walk.ts';

export type { ValidationIssue } from './validation-issue.ts';
export type { ValidationInitTimings } from './validation-definitions.ts';

type Envelope = 'ok' | 'invalid' | 'unsupported';

/** Loads and indexes the R4 definitions now rather than on the first write; returns how long that took. */
export function initValidation(): ValidationInitTimings {
  return loadR4Definitions().timings;
}

/** Every problem with a resource (errors and warnings); an empty array means it may be stored. */
export function validateResource(resource: unknown): ValidationIssue[] {
  return validate(resource).issues;
}

/**
 * Throws unless the resource is a valid R4 resource of a type OpenICR stores:
 * ICR_INVALID_RESOURCE when it is not a resource at all (no or unknown resourceType),
 * ICR_UNSUPPORTED_TYPE for an R4 type OpenICR does not store, ICR_VALIDATION_FAILED otherwise.
 * The error's details hold every issue, each with its FHIRPath expression.
 */
export function assertValid(resource: unknown): asserts resource is FhirResource {
  const { envelope, issues } = validate(resource);
  const errors = issues.filter((i) => i.severity === 'error');
  if (envelope === 'ok' && errors.length === 0) return;
  const details = capIssues(issues).map((i) => ({ ...i }));
  if (envelope === 'invalid')
    throw new IcrError('ICR_INVALID_RESOURCE', errors[0]?.message ?? 'Invalid resource', { details });
  if (envelope === 'unsupported')
    throw new IcrError('ICR_UNSUPPORTED_TYPE', errors[0]?.message ?? 'Unsupported type', { details });
  const type = (resource as FhirResource).resourceType;
  const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
  throw new IcrError('ICR_VALIDATION_FAILED', `${type} failed validation (${count})`, { details });
}

/** The most issues an error carries; one more says how many were left out. */
export const MAX_ISSUES = 100;

/** At most MAX_ISSUES issues (errors first), then one saying how many more there were. */
export function capIssues(issues: readonly ValidationIssue[]): ValidationIssue[] {
  if (issues.length <= MAX_ISSUES) return [...issues];
  const errors = issues.filter((i) => i.severity === 'error');
  const kept = (
    errors.length >= MAX_ISSUES ? errors : [...errors, ...issues.filter((i) => i.severity !== 'error')]
  ).slice(0, MAX_ISSUES);
  const more = issues.length - kept.length;
  return [
    ...kept,
    {
      severity: 'information',
      issue: 'informational',
      message: `${more} more ${more === 1 ? 'problem was' : 'problems were'} found and not listed`,
    },
  ];
}

function validate(resource: unknown): { envelope: Envelope; issues: ValidationIssue[] } {
  const { resourceTypes } = loadR4Definitions();
  const envelope = checkEnvelope(resource, resourceTypes);
  if (envelope.kind !== 'ok') return { envelope: envelope.kind, issues: envelope.issues };
  const containedProblem = checkContained(resource as Record<string, unknown>, resourceTypes);
  if (containedProblem) return { envelope: 'ok', issues: [containedProblem] };
  const { medplum, extra } = walkResource(resource as Record<string, unknown>, resourceTypes);
  const issues = mergeIssues(medplum, extra, resource as Record<string, unknown>);
  const flagged = new Set(issues.map((i) => i.expression));
  for (const i of hardeningIssues(resource as Record<string, unknown>)) {
    if (!flagged.has(i.expression)) issues.push(i);
  }
  return { envelope: 'ok', issues };
}

/** A JSON object with a resourceType that R4 defines and OpenICR stores. */
function checkEnvelope(
  resource: unknown,
  resourceTypes: ReadonlySet<string>,
): { kind: 'ok' } | { kind: 'invalid' | 'unsupported'; issues: ValidationIssue[] } {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    return { kind: 'invalid', issues: [structure(undefined, 'A resource must be a JSON object')] };
  }
  const { resourceType } = resource as { resourceType?: unknown };
  if (typeof resourceType !== 'string') {
    return { kind: 'invalid', issues: [structure('resourceType', 'Missing resourceType')] };
  }
  if (!resourceTypes.has(resourceType)) {
    return { kind: 'invalid', issues: [structure('resourceType', `Unknown resource type "${resourceType}"`)] };
  }
  if (!isSupportedType(resourceType)) {
    const message = `OpenICR does not store ${resourceType} resources`;
    return {
      kind: 'unsupported',
      issues: [{ severity: 'error', issue: 'not-supported', expression: 'resourceType', message }],
    };
  }
  return { kind: 'ok' };
}

/**
 * Contained resources must themselves be R4 resources before the schema validators can run
 * (medplum throws on an unknown type there), and may not nest (dom-2).
 */
function checkContained(
  resource: Record<string, unknown>,
  resourceTypes: ReadonlySet<string>,
): ValidationIssue | undefined {
  const { resourceType, contained } = resource;
  if (contained === undefined) return undefined;
  if (!Array.isArray(contained))
    return structure(`${String(resourceType)}.contained`, 'Expected array of values for property');
  for (const [i, c] of contained.entries()) {
    const path = `${String(resourceType)}.contained[${i}]`;
    if (typeof c !== 'object' || c === null || Array.isArray(c)) {
      return structure(path, 'A contained resource must be a JSON object');
    }
    const { resourceType: t, contained: nested } = c as { resourceType?: unknown; contained?: unknown };
    if (typeof t !== 'string') return structure(`${path}.resourceType`, 'Missing resourceType');
    if (!resourceTypes.has(t)) return structure(`${path}.resourceType`, `Unknown resource type "${t}"`);
    if (nested !== undefined) {
      return {
        severity: 'error',
        issue: 'invariant',
        expression: `${path}.contained`,
        message: 'Constraint dom-2 not met: a contained resource SHALL NOT contain resources',
      };
    }
  }
  return undefined;
}

function structure(expression: string | undefined, message: string): ValidationIssue {
  return { severity: 'error', issue: 'structure', message, ...(expression === undefined ? {} : { expression }) };
}

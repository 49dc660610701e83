/**
 * Validation of every write against the FHIR R4 StructureDefinitions.
 *
 * @medplum/core's validator does the bulk of the work (unknown elements, JSON types and primitive
 * formats, cardinality, choice types, contained resources, FHIRPath invariants); validation-checks.ts
 * adds what it misses (reference targets, required bindings, id and dateTime formats, empty values,
 * narrative XHTML, dom-3, org-1). See docs/adr/0012-validation.md.
 *
 * The R4 definitions are indexed once, lazily on first use or up front with `initValidation()`.
 */

import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { OperationOutcomeError, validateResource as medplumValidate } from '@medplum/core';
import { IcrError } from '../shared/errors.ts';
import type { FhirResource } from './types.ts';
import { isSupportedType } from './types.ts';
import { loadR4Definitions } from './validation-definitions.ts';
import type { ValidationInitTimings } from './validation-definitions.ts';
import { runExtraChecks } from './validation-checks.ts';
import type { ValidationIssue } from './validation-issue.ts';
import { toFhirPath } from './validation-paths.ts';

export type { ValidationIssue } from './validation-issue.ts';
export type { ValidationInitTimings } from './validation-definitions.ts';

/** Medplum messages that OpenICR replaces with its own, stricter checks (validation-checks.ts). */
const REPLACED = [/^Invalid reference: /, /^Conflicting choice of type properties/];
const NOT_AN_OBJECT = 'Invalid JSON type: expected an object';

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
  const details = issues.map((i) => ({ ...i }));
  if (envelope === 'invalid')
    throw new IcrError('ICR_INVALID_RESOURCE', errors[0]?.message ?? 'Invalid resource', { details });
  if (envelope === 'unsupported')
    throw new IcrError('ICR_UNSUPPORTED_TYPE', errors[0]?.message ?? 'Unsupported type', { details });
  const type = (resource as FhirResource).resourceType;
  const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
  throw new IcrError('ICR_VALIDATION_FAILED', `${type} failed validation (${count})`, { details });
}

function validate(resource: unknown): { envelope: Envelope; issues: ValidationIssue[] } {
  const { resourceTypes } = loadR4Definitions();
  const envelope = checkEnvelope(resource, resourceTypes);
  if (envelope.kind !== 'ok') return { envelope: envelope.kind, issues: envelope.issues };
  const containedProblem = checkContained(resource as Record<string, unknown>, resourceTypes);
  if (containedProblem) return { envelope: 'ok', issues: [containedProblem] };
  const r = resource as Record<string, unknown>;
  const root = r.resourceType as string;

  let extra: ValidationIssue[];
  try {
    extra = runExtraChecks(r, resourceTypes);
  } catch {
    extra = [
      { severity: 'error', issue: 'processing', expression: root, message: 'The resource could not be validated' },
    ];
  }
  const wrongJsonType = extra.filter((i) => i.message.startsWith(NOT_AN_OBJECT)).map((i) => `${i.expression ?? ''}.`);

  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const raw of runMedplum(r)) {
    const text = raw.details?.text ?? raw.diagnostics ?? 'Invalid resource';
    if (REPLACED.some((re) => re.test(text))) continue;
    const expression = toFhirPath(raw.expression?.[0] ?? root, r);
    if (wrongJsonType.some((p) => expression.startsWith(p))) continue;
    push(issues, seen, {
      severity: raw.severity === 'fatal' ? 'error' : raw.severity,
      issue: text === 'Missing required property' ? 'required' : raw.code,
      expression,
      message: text,
    });
  }
  // One problem per element is enough: where medplum already refused an element, OpenICR's stricter check adds nothing.
  const flagged = new Set(issues.map((i) => i.expression));
  for (const i of extra) {
    const expression = toFhirPath(i.expression ?? root, r);
    if (!flagged.has(expression)) push(issues, seen, { ...i, expression });
  }
  return { envelope: 'ok', issues };
}

function runMedplum(resource: Record<string, unknown>): OperationOutcomeIssue[] {
  try {
    // Medplum refuses base64Binary over 1 MiB by default; R4 sets no limit, and the HTTP body limit
    // (ICR_BODY_LIMIT) already bounds what can arrive, so a Binary or Attachment may be as large as that.
    return medplumValidate(resource as unknown as Resource, { base64BinaryMaxBytes: Number.POSITIVE_INFINITY });
  } catch (e) {
    if (e instanceof OperationOutcomeError) return e.outcome.issue;
    return [
      {
        severity: 'error',
        code: 'processing',
        details: { text: 'The resource could not be validated' },
        expression: [String(resource.resourceType)],
      },
    ];
  }
}

function push(issues: ValidationIssue[], seen: Set<string>, issue: ValidationIssue): void {
  const key = `${issue.expression ?? ''}\u0000${issue.message}`;
  if (seen.has(key)) return;
  seen.add(key);
  issues.push(issue);
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

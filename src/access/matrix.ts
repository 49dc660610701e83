/**
 * The role → categories matrix (DESIGN.md §6 step 5): which categories of data each role sees. The
 * default is `default-matrix.json`; an operator replaces it with `ICR_ACCESS_MATRIX=<file>`, validated at
 * start with a precise error. No I/O here: the caller reads the file and passes its text.
 */
import { CATEGORIES, type Category } from '../fhir/access-facts.ts';
import { IcrError } from '../shared/errors.ts';
import defaultMatrix from './default-matrix.json' with { type: 'json' };
import { ROLE_CODES, type RoleCode } from './roles.ts';

export type AccessMatrix = Readonly<Record<RoleCode, readonly Category[]>>;

function invalid(source: string, message: string): IcrError {
  return new IcrError('ICR_ACCESS_MATRIX_INVALID', `${source}: ${message}`);
}

/** Validates a parsed matrix document (`{"roles": {"<role>": ["<category>", …]}}`). */
export function parseMatrix(doc: unknown, source: string): AccessMatrix {
  const roles = (doc as { roles?: unknown } | null)?.roles;
  if (typeof roles !== 'object' || roles === null || Array.isArray(roles)) {
    throw invalid(source, 'expected an object with "roles": {"<role code>": ["<category>", …]}');
  }
  const out: Partial<Record<RoleCode, Category[]>> = {};
  for (const [role, cats] of Object.entries(roles)) {
    if (!(ROLE_CODES as string[]).includes(role)) {
      throw invalid(source, `unknown role "${role}" (known roles: ${ROLE_CODES.join(', ')})`);
    }
    if (!Array.isArray(cats) || cats.some((c) => typeof c !== 'string')) {
      throw invalid(source, `roles.${role} must be an array of category names`);
    }
    for (const c of cats as string[]) {
      if (!(CATEGORIES as readonly string[]).includes(c)) {
        throw invalid(source, `roles.${role}: unknown category "${c}" (categories: ${CATEGORIES.join(', ')})`);
      }
    }
    out[role as RoleCode] = [...new Set(cats as Category[])];
  }
  const missing = ROLE_CODES.filter((r) => !out[r]);
  if (missing.length > 0) throw invalid(source, `every role must be listed; missing: ${missing.join(', ')}`);
  return Object.freeze(out as Record<RoleCode, Category[]>);
}

/** Parses the text of a matrix file. */
export function parseMatrixText(text: string, source: string): AccessMatrix {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalid(source, `not valid JSON (${(err as Error).message})`);
  }
  return parseMatrix(doc, source);
}

export const DEFAULT_MATRIX: AccessMatrix = parseMatrix(defaultMatrix, 'default-matrix.json');

// ESLint flat config for OpenICR.
//
// typescript-eslint's strict, type-checked rules for all TypeScript, plus a small local rule,
// `icr/layers`, that enforces the direction of imports between the layers in docs/architecture.md:
// a lower layer never imports a higher one, and `http` / `ingest/jobs` reach clinical data only
// through `records`. The rule resolves each relative import against the importing file, so a
// sub-folder that happens to share a layer's name (say `mpi/store/`) is not mistaken for that layer.
import path from 'node:path';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;
const src = path.join(root, 'src');

/**
 * Which layers each layer may import. `values`: any import; `types`: `import type` only (erased at
 * run time, so it adds no dependency). A layer may always import from itself. `*` means anything.
 * The most specific key wins (`ingest/jobs` before `ingest`).
 */
const LOWER = ['shared', 'config', 'fhir'];
const LAYERS = {
  shared: { values: [], types: [] },
  config: { values: ['shared'], types: [] },
  fhir: { values: ['shared', 'config'], types: [] },
  // Bearer tokens and users: who is calling (verification, not the access decision).
  auth: { values: ['shared', 'config'], types: [] },
  // The store is the only code that writes SQL, so it persists the domain types of the layers above it.
  store: { values: [...LOWER], types: ['access', 'audit', 'queue', 'mpi'] },
  access: { values: [...LOWER, 'auth'], types: ['store'] },
  audit: { values: [...LOWER, 'store', 'access'], types: [] },
  queue: { values: [...LOWER, 'store'], types: [] },
  mpi: { values: [...LOWER, 'store', 'queue'], types: [] },
  records: { values: [...LOWER, 'auth', 'store', 'access', 'audit', 'queue', 'mpi'], types: [] },
  ingest: { values: [...LOWER, 'store', 'queue', 'mpi', 'records'], types: ['access', 'audit'] },
  'ingest/jobs': { values: [...LOWER, 'queue', 'records', 'ingest'], types: ['store', 'access', 'audit', 'mpi'] },
  // The viewer's pages are registered with the HTTP app (src/viewer/routes.ts), hence `viewer`.
  http: {
    values: [...LOWER, 'auth', 'records', 'ingest', 'viewer'],
    types: ['store', 'access', 'audit', 'queue', 'mpi'],
  },
  // The viewer: server-rendered pages over the records service, using http's session and page helpers and
  // the pure role catalogue of access/ (docs/adr/0040-viewer-skeleton.md).
  viewer: { values: [...LOWER, 'auth', 'records', 'http', 'access'], types: ['store', 'audit', 'queue', 'mpi'] },
  // Loads the demo data set through the records service, like an import.
  demo: { values: [...LOWER, 'auth', 'records', 'ingest'], types: ['store'] },
  cli: { values: ['*'], types: [] },
  main: { values: ['*'], types: [] },
};

/** The layer a file in src/ belongs to: `main` (top-level files), `ingest/jobs`, or its top folder. */
function layerOf(file) {
  const rel = path.relative(src, file).split(path.sep);
  if (rel[0] === '..' || rel.length === 0) return undefined;
  // main.ts and the other files at the top of src/ (server.ts, compose.ts) are composition roots.
  if (rel.length === 1) return 'main';
  if (rel[0] === 'ingest' && rel[1] === 'jobs' && rel.length > 2) return 'ingest/jobs';
  return rel[0];
}

/** The layer key a target layer is matched against in an allow list (`ingest/jobs` counts as `ingest`). */
function baseLayer(layer) {
  return layer === 'ingest/jobs' ? 'ingest' : layer;
}

const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the direction of imports between src/ layers (docs/architecture.md).' },
    schema: [],
    messages: {
      upward: 'Layer "{{from}}" must not import from "{{to}}" (see docs/architecture.md).',
      typeOnly: 'Layer "{{from}}" may import only types from "{{to}}": use `import type` (see docs/architecture.md).',
      outside: 'Product code in src/ must not import from "{{to}}/".',
    },
  },
  create(context) {
    const file = context.filename;
    const from = layerOf(file);
    if (from === undefined || /\.test\.ts$/.test(file)) return {};
    const rules = LAYERS[from];

    function check(node, source, typeOnly) {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source);
      const top = path.relative(root, target).split(path.sep)[0];
      if (top === 'test' || top === 'web' || top === 'bench') {
        context.report({ node, messageId: 'outside', data: { to: top } });
        return;
      }
      const to = layerOf(target);
      if (to === undefined || rules === undefined || to === from) return;
      const key = baseLayer(to);
      if (rules.values.includes('*') || rules.values.includes(key) || rules.values.includes(to)) return;
      if (rules.types.includes(key) || rules.types.includes(to)) {
        if (!typeOnly) context.report({ node, messageId: 'typeOnly', data: { from, to } });
        return;
      }
      context.report({ node, messageId: 'upward', data: { from, to } });
    }

    return {
      ImportDeclaration(node) {
        check(node, node.source.value, node.importKind === 'type');
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value, node.exportKind === 'type');
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === 'type');
      },
      ImportExpression(node) {
        if (node.source.type === 'Literal') check(node, node.source.value, false);
      },
    };
  },
};

export default defineConfig(
  globalIgnores([
    'node_modules/',
    'data/',
    'coverage/',
    'bench/out/',
    'test-results/',
    // The viewer is its own package with its own lint configuration.
    'web/',
    // Personal scratch space (never committed).
    '.scratch*/',
    '**/.tmp*',
  ]),
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: root },
    },
    plugins: { icr: { rules: { layers: layersRule } } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'icr/layers': 'error',
      // Promises: never dropped, never passed where a void callback is expected.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // Every switch over a union handles every member (or says why it has a default).
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      // Type-only imports are written `import type` (erased by Node's type stripping).
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports', disallowTypeAnnotations: true },
      ],
      '@typescript-eslint/consistent-type-exports': 'error',
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // Erasable syntax only: no enums, namespaces or parameter properties (they need a compiler).
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object, not an enum (erasable syntax only).' },
        {
          selector: 'TSModuleDeclaration[kind!="global"][declare!=true]',
          message: 'Namespaces are not erasable syntax.',
        },
        {
          selector: 'TSParameterProperty',
          message: 'Parameter properties are not erasable syntax; assign fields in the constructor.',
        },
      ],
      // Numbers and booleans read fine in messages; objects and nullish values do not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      // Row types are declared by the caller, not checked by the driver: a defensive Number() on a
      // column typed `number` (int8, numeric) is deliberate.
      '@typescript-eslint/no-unnecessary-type-conversion': 'off',
      // An async method that implements an async interface need not await anything.
      '@typescript-eslint/require-await': 'off',
      // Style, not safety: `(x) => list.push(x)` and `delete obj[key]` on records are fine.
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      'no-console': ['error', { allow: ['warn', 'error'] }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // The CLI, benchmarks and scripts talk to a terminal.
    files: ['src/cli/**/*.ts', 'src/main.ts', 'bench/**/*.ts', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      // Tests may assert what they have just checked, and poke at parsed JSON freely.
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
  {
    // The viewer's own browser scripts (served as they are, no build).
    files: ['src/viewer/static/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: {
        window: 'readonly',
        document: 'readonly',
        fetch: 'readonly',
        HTMLElement: 'readonly',
        HTMLInputElement: 'readonly',
        URLSearchParams: 'readonly',
        uPlot: 'readonly',
      },
    },
  },
);

#!/usr/bin/env node
// Entry for `npx icr`: runs the TypeScript CLI directly (Node >= 22.18 strips types).
import '../src/cli/index.ts';

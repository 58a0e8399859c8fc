#!/usr/bin/env node
// `naf-ros` command: runs src/cli.ts through tsx (no build step needed).
import { register } from 'tsx/esm/api';
import { fileURLToPath } from 'node:url';
register();
await import(fileURLToPath(new URL('../src/cli.ts', import.meta.url)));

#!/usr/bin/env node
// The `orderflow` command. Runs the compiled CLI when `npm run build` made one, else the
// TypeScript sources through tsx (a runtime dependency), so a fresh clone needs no build step.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/index.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/index.ts', import.meta.url).href);
}

#!/usr/bin/env node
// The `orderflow` command: runs the compiled CLI in dist/ (`npm run build`; `npm ci` runs it).
// A build older than the sources is refused, not run: old code must never pass for the current
// one, in development or in the tests. `npm run dev` runs the sources, reloading on change.
import { fileURLToPath } from 'node:url';
import { buildState } from './build-state.js';

const build = buildState(fileURLToPath(new URL('..', import.meta.url)));
if (build.state !== 'built') {
  const why = build.state === 'missing' ? 'the server is not built (no finished build in dist/)' : `the build in dist/ is older than ${build.newer}`;
  process.stderr.write(`orderflow: ${why}: run \`npm run build\`\n`);
  process.exit(1);
}
// Stack traces name src/*.ts and their lines, as they did when tsx ran the sources; the maps are
// read only for the modules loaded, and a trace is mapped only when an error's stack is read.
process.setSourceMapsEnabled(true);
await import(new URL('../dist/cli/index.js', import.meta.url).href);

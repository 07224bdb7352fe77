// `npm run build:server`: compiles src/ into dist/ with tsc (tsconfig.build.json), without the
// specs and their helpers. dist/ is emptied first, so it never keeps the output of a removed
// source; the stamp written last (bin/build-state.js) marks a build that finished without errors.
// `--if-stale` builds only when dist/ is missing or older than src/ (the tests' global set-up).
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildState, STAMP } from '../bin/build-state.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

function fail(message) {
  console.error(`orderflow build: ${message}`);
  process.exit(1);
}

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  fail('TypeScript is not installed (an install without dev dependencies?): build with them, `npm ci`, then `npm prune --omit=dev` (README, Deploy).');
}

if (process.argv.includes('--if-stale') && buildState(root).state === 'built') process.exit(0);

// A source saved while tsc runs is newer than the build's start, hence stale at the next run.
const startedAt = new Date();
rmSync(dist, { recursive: true, force: true });
const tscRun = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (tscRun.status !== 0) fail(`tsc failed (${tscRun.status ?? tscRun.signal}); dist/ is not a build bin/orderflow.js will run.`);

// tsc compiles what src/ imports even when tsconfig.build.json excludes it.
const testCode = readdirSync(dist, { recursive: true }).filter((path) => /(^|\/)spec-[^/]*\.js$|\.spec\.js$/.test(path));
if (testCode.length > 0) fail(`test code would ship (${testCode.join(', ')}): a file of src/ imports it.`);

const stamp = join(dist, STAMP);
writeFileSync(stamp, `built from src/ by scripts/build.mjs; this file's mtime is when the build began\n`);
utimesSync(stamp, startedAt, startedAt);

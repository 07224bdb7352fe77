// Vitest's global set-up. The suites spawn `orderflow` as a user runs it, bin/orderflow.js, which
// runs the compiled build and refuses one older than src/: build it here, once, before any test
// and only when the sources changed since the last build (a run on an unchanged tree costs a few
// stat calls). In watch mode, again before each rerun. One build instead of tsx compiling the
// sources again in every process the tests start.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const script = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));
const web = fileURLToPath(new URL('../../web/', import.meta.url));

function build(): void {
  const result = spawnSync(process.execPath, [script, '--if-stale'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('the server build failed (above); the tests would run an old build or none');
  buildConsoleIfStale();
}

/** Newest modification time of a file under `path` (the path itself when it is a file). */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((latest, name) => Math.max(latest, newest(join(path, name))), 0);
}

/**
 * The console's browser suites serve web/dist: build it again when a source of the console
 * changed after it (once here, not in each suite: suites running side by side would build into
 * the same folder). Without this, those suites tested the console of an older checkout.
 */
function buildConsoleIfStale(): void {
  const built = join(web, 'dist', 'index.html');
  const sources = ['src', 'index.html', 'vite.config.ts', 'tsconfig.json'].map((p) => join(web, p)).filter((p) => existsSync(p));
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest))) return;
  const result = spawnSync('npm', ['run', 'build:web'], { cwd: join(web, '..'), stdio: 'inherit' });
  if (result.status !== 0) throw new Error('the console build failed (above); the browser suites would test an old console or none');
}

export default function setup(project: TestProject): void {
  build();
  project.onTestsRerun(() => build());
}

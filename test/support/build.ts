// Vitest's global set-up. The suites spawn `orderflow` as a user runs it, bin/orderflow.js, which
// runs the compiled build and refuses one older than src/: build it here, once, before any test
// and only when the sources changed since the last build (a run on an unchanged tree costs a few
// stat calls). In watch mode, again before each rerun. One build instead of tsx compiling the
// sources again in every process the tests start.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const script = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));

function build(): void {
  const result = spawnSync(process.execPath, [script, '--if-stale'], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error('the server build failed (above); the tests would run an old build or none');
}

export default function setup(project: TestProject): void {
  build();
  project.onTestsRerun(() => build());
}

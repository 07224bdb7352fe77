// npm's `prepare` hook (npm ci, npm install): `npm run build`, the server into dist/ (tsc) and the
// console into web/dist (Vite). Both compilers are dev dependencies. An install without them
// (npm ci --omit=dev) is said, not failed: a production install builds first and drops them
// after, `npm ci && npm prune --omit=dev` (README, Deploy). Without a build, bin/orderflow.js
// says to run `npm run build`, and the server's / says to run `npm run build:web`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';

// `npx orderflow` in this folder: npm runs a local bin from node_modules/.bin at once; without
// one it links the whole project into its own cache first (and builds it again there).
mkdirSync('node_modules/.bin', { recursive: true });
rmSync('node_modules/.bin/orderflow', { force: true });
symlinkSync('../../bin/orderflow.js', 'node_modules/.bin/orderflow');

const require = createRequire(import.meta.url);
const missing = ['typescript', 'vite'].filter((name) => {
  try {
    require.resolve(name);
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  console.warn(
    `orderflow: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed (an install without dev dependencies?), so nothing was built and dist/ and web/dist are as they were; ` +
      'to install for production, build with them and drop them after: `npm ci && npm prune --omit=dev`.',
  );
  process.exit(0);
}
const result = spawnSync('npm', ['run', 'build'], { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);

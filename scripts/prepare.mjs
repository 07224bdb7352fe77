// npm's `prepare` hook (npm ci, npm install): `npm run build`, the server into dist/ (tsc) and the
// console into web/dist (Vite). Both compilers are dev dependencies. An install without them
// (npm ci --omit=dev) is said, not failed: a production install builds first and drops them
// after, `npm ci && npm prune --omit=dev` (README, Deploy). Without a build, bin/orderflow.js
// says to run `npm run build`, and the server's / says to run `npm run build:web`.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

// `npx orderflow` in this folder installs the project itself into npm's exec cache (a link),
// which runs this script again with npm_command=exec: the build is already here; building it a
// second time made the first `npx orderflow` take 10-30 s.
if (process.env.npm_command === 'exec') process.exit(0);

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

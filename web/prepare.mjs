// npm's `prepare` hook (npm ci, npm install): builds the console into web/dist. An install
// without dev dependencies (npm ci --omit=dev) has no Vite: it is said, not failed, and the
// server's / then tells how to build the console.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

try {
  createRequire(import.meta.url).resolve('vite');
} catch {
  console.warn('orderflow: Vite is not installed (an install without dev dependencies?), so the console was not built; run `npm run build:web` after `npm install`.');
  process.exit(0);
}
const result = spawnSync('npm', ['run', 'build:web'], { stdio: 'inherit', shell: process.platform === 'win32' });
process.exit(result.status ?? 1);

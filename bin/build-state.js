// Whether dist/ holds a finished build of the sources in src/ as they are now. bin/orderflow.js
// asks before every run (a few hundred stat calls, a few milliseconds), so neither a developer nor
// the tests ever run code older than the sources; scripts/build.mjs asks for --if-stale.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Written into dist/ by scripts/build.mjs once tsc succeeded; its mtime is when that build began. */
export const STAMP = '.build-stamp';

/** Files of src/ that are not compiled into dist/: the specs and their helpers (`spec-*.ts`). */
export function isTestOnly(fileName) {
  return fileName.endsWith('.spec.ts') || /^spec-.*\.ts$/.test(fileName);
}

/**
 * `{ state: 'built' }`, `{ state: 'missing' }`, or `{ state: 'stale', newer }` when a source file,
 * a folder of src/ (a file added, removed or renamed) or a tsconfig changed after the build
 * began; `newer` is its path. Without src/ (a copy of the build alone) there is nothing to compare.
 */
export function buildState(root) {
  let builtAt;
  try {
    builtAt = statSync(join(root, 'dist', STAMP)).mtimeMs;
  } catch {
    return { state: 'missing' };
  }
  if (!existsSync(join(root, 'dist', 'cli', 'index.js'))) return { state: 'missing' };
  const src = join(root, 'src');
  if (!existsSync(src)) return { state: 'built' };
  const inputs = [join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json'), src];
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory() || (entry.isFile() && !isTestOnly(entry.name))) inputs.push(join(entry.parentPath, entry.name));
  }
  for (const path of inputs) {
    let changedAt;
    try {
      changedAt = statSync(path).mtimeMs;
    } catch {
      changedAt = Infinity; // removed while we looked: something is changing the sources
    }
    if (changedAt > builtAt) return { state: 'stale', newer: relative(root, path) };
  }
  return { state: 'built' };
}

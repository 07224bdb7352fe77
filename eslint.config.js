// @ts-check
import js from '@eslint/js';
import { dirname, relative, resolve, sep } from 'node:path';
import tseslint from 'typescript-eslint';

const root = resolve(import.meta.dirname, 'src');

/** Which layer of src/ a file is in: kernel, platform, modules/<name>, http, cli or the root files. */
function layerOf(file) {
  const parts = relative(root, file).split(sep);
  if (parts[0] === '..') return undefined;
  if (parts[0] === 'modules') return { layer: 'modules', module: parts[1], rest: parts.slice(2).join('/') };
  return { layer: parts.length > 1 ? parts[0] : 'root' };
}

/**
 * Keeps the architecture of STYLE.md: the kernel imports nothing else in src/; the platform
 * knows no module; a module reaches another module only through its index.ts.
 */
const architecture = {
  meta: { type: 'problem', schema: [], messages: { crossing: '{{from}} may not import {{to}}: {{why}}' } },
  create(context) {
    const from = layerOf(context.filename);
    if (!from) return {};
    return {
      ImportDeclaration(node) {
        const source = String(node.source.value);
        if (!source.startsWith('.')) return;
        const to = layerOf(resolve(dirname(context.filename), source));
        if (!to) return;
        const report = (why) => context.report({ node, messageId: 'crossing', data: { from: from.layer, to: source, why } });
        if (from.layer === 'kernel' && to.layer !== 'kernel') report('the kernel imports nothing else in src/');
        if (from.layer === 'platform' && (to.layer === 'modules' || to.layer === 'http' || to.layer === 'cli')) report('the platform knows no module');
        if (from.layer === 'modules' && to.layer === 'modules' && to.module !== from.module && !/^index\.(js|ts)$/.test(to.rest)) {
          report(`another module is reached only through its index.ts`);
        }
      },
    };
  },
};

export default tseslint.config(
  { ignores: ['.scratch/**', 'dist/**', 'node_modules/**', 'coverage/**', 'data/**', 'bench/results/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { orderflow: { rules: { architecture } } },
    rules: {
      'orderflow/architecture': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'Name each export (no `export *`).' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts', 'src/**/*.spec.ts'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only src/config.ts reads process.env.' }] },
  },
  { files: ['bin/**/*.js', 'eslint.config.js', 'scripts/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } } },
  {
    // The console runs in the browser and reaches the server only through its HTTP API.
    files: ['web/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/src/*', '**/src/**', 'node:*'], message: 'The console talks to the server through the HTTP API only.' }] }] },
  },
);

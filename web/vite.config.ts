import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is built into web/dist, which the API server serves at / (src/http/static.ts).
// `npm run dev:web` serves it with hot reload and sends API calls to an orderflow on :3000.
const api = process.env.ORDERFLOW_URL ?? 'http://localhost:3000';
const apiPaths = ['/api', '/orders', '/products', '/inventory', '/sagas', '/shipments', '/health', '/metrics', '/openapi.json', '/docs', '/problems'];

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  server: { proxy: Object.fromEntries(apiPaths.map((path) => [path, { target: api, changeOrigin: false }])) },
});

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { withProblems } from './schemas/common.js';

/** Where `npm run build:web` writes the console (web/dist beside src/ or dist/). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

// The page loads only its own script, styles and API: no inline code, no other origin.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>orderflow console: not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>The orderflow console is not built</h1>
<p>The API is running, but the web console has not been built into <code>web/dist</code>.</p>
<p>Run <code>npm run build:web</code> (<code>npm ci</code> does it for you), then reload this page.</p>
<p>Meanwhile the API and its documentation are at <a href="/docs">/docs</a>.</p>
</body></html>
`;

const Html = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } });

export const AssetParams = Type.Object({
  file: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', maxLength: 200, description: 'a file of web/dist/assets (names carry a content hash)' }),
});

/**
 * The operator console (web/, built by Vite into web/dist): GET / is the page and
 * GET /assets/:file its hashed scripts and styles, all public: the page signs in with a token
 * and calls the same authorized API as any client. Without a build, / says how to make one.
 */
export function consoleRoutes(webRoot: string = DEFAULT_WEB_ROOT): FastifyPluginAsync {
  return async (app) => {
    // Only reply.sendFile (ranges, ETags, no path escapes); the routes are ours.
    await app.register(fastifyStatic, { serve: false });
    app.get(
      '/',
      {
        config: { access: 'public' },
        schema: { tags: ['console'], summary: 'The operator console (sign in with a token)', response: { 200: Html('the console page'), 503: Html('the console is not built: run npm run build:web') } },
      },
      async (_request, reply) => sendConsolePage(reply, webRoot),
    );
    app.get<{ Params: Static<typeof AssetParams> }>(
      '/assets/:file',
      {
        config: { access: 'public' },
        schema: {
          tags: ['console'],
          summary: 'A script, style sheet or image of the console',
          params: AssetParams,
          response: { ...withProblems({}, 400, 404), 200: { description: 'the file, cacheable forever (its name changes with its content)', content: { '*/*': { schema: Type.String() } } } },
        },
      },
      async (request, reply) => reply.sendFile(request.params.file, join(webRoot, 'assets'), { immutable: true, maxAge: '365d', dotfiles: 'deny' }),
    );
  };
}

/**
 * For the not-found handler: a browser asking for a page at an unknown path (a bookmarked
 * client route) gets the console, which routes it; API clients still get a 404 problem.
 */
export function consoleFallback(webRoot: string = DEFAULT_WEB_ROOT): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply> | undefined {
  return (request, reply) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    if (!/\btext\/html\b/.test(request.headers.accept ?? '')) return undefined;
    const path = request.url.split('?')[0] ?? '';
    // API paths, the docs and file names keep their 404.
    if (/^\/(api|docs)(\/|$)/.test(path) || /\.[A-Za-z0-9]+$/.test(path)) return undefined;
    return sendConsolePage(reply, webRoot);
  };
}

async function sendConsolePage(reply: FastifyReply, webRoot: string): Promise<FastifyReply> {
  const html = await readFile(join(webRoot, 'index.html'), 'utf8').catch(() => undefined);
  reply.header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
  if (html === undefined) return reply.code(503).type('text/html; charset=utf-8').send(NOT_BUILT);
  return reply.header('content-security-policy', CSP).type('text/html; charset=utf-8').send(html);
}

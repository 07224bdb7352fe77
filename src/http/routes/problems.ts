import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, isErrorCode, type ErrorCode } from '../../kernel/errors.js';
import { API_ERROR_CODES, problem, sendProblem } from '../problem.js';
import { withProblems } from '../schemas/common.js';

const ProblemTypeSchema = Type.Object(
  {
    code: Type.String({ description: 'the stable code, e.g. ORDER_NOT_FOUND' }),
    status: Type.Integer({ description: 'the HTTP status of every problem with this code' }),
    title: Type.String({ description: 'what the code means' }),
    action: Type.String({ description: 'what to do about it' }),
    type: Type.String({ description: 'this page: /problems/<code>' }),
  },
  { additionalProperties: false },
);

const CodeParams = Type.Object({ code: Type.String({ maxLength: 100, description: 'an error code (ORDER_NOT_FOUND; order-not-found is read the same)' }) });

/**
 * The problem types: each problem's `type` (`/problems/<code>`) is a page here saying what the
 * code means and what to do, as JSON or, for a browser, HTML. `/problems` lists them all.
 */
export function problemRoutes(): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/problems',
      {
        config: { access: 'public' },
        schema: { tags: ['problems'], summary: 'Every error code the API answers with (an HTML page when Accept prefers text/html)', response: { 200: Type.Array(ProblemTypeSchema) } },
      },
      async (request, reply) => {
        const types = API_ERROR_CODES.map(describe);
        return wantsHtml(request) ? reply.type('text/html; charset=utf-8').send(listPage(types)) : types;
      },
    );

    app.get(
      '/problems/:code',
      {
        config: { access: 'public' },
        schema: { tags: ['problems'], summary: 'What an error code means and what to do (an HTML page when Accept prefers text/html)', params: CodeParams, response: withProblems({ 200: ProblemTypeSchema }, 404) },
      },
      async (request, reply) => {
        const code = (request.params as { code: string }).code.toUpperCase().replace(/-/g, '_');
        if (!isErrorCode(code)) {
          return sendProblem(reply, { problem: problem('ROUTE_NOT_FOUND', `no error code ${code}: /problems lists them`, { instance: request.url }), headers: {}, serverFault: false });
        }
        const type = describe(code);
        return wantsHtml(request) ? reply.type('text/html; charset=utf-8').send(page(type)) : type;
      },
    );
  };
}

type ProblemType = { code: string; status: number; title: string; action: string; type: string };

function describe(code: ErrorCode): ProblemType {
  const { status, title, action } = ERROR_CATALOGUE[code];
  return { code, status, title, action, type: `/problems/${code}` };
}

/** A browser (text/html before any JSON in Accept) gets a page; anything else JSON. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  const html = accept.indexOf('text/html');
  const json = accept.search(/application\/(problem\+)?json/);
  return html >= 0 && (json < 0 || html < json);
}

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot' }[c]};`);
// Backticks in the catalogue's text mark code.
const prose = (text: string) => escape(text).replace(/`([^`]+)`/g, '<code>$1</code>');

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · orderflow</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
${body}
</body></html>
`;
}

function page(t: ProblemType): string {
  return layout(
    t.code,
    `<h1><code>${t.code}</code></h1>
<p><strong>${t.status}</strong> · ${prose(t.title)}</p>
<h2>What to do</h2>
<p>${prose(t.action)}</p>
<p>A problem with this code answers with status ${t.status}, <code>"type": "${t.type}"</code> and a <code>detail</code> about the request. <a href="/problems">Every code</a> · <a href="/docs">API docs</a></p>`,
  );
}

function listPage(types: readonly ProblemType[]): string {
  const rows = types.map((t) => `<tr><td><a href="${t.type}"><code>${t.code}</code></a></td><td>${t.status}</td><td>${prose(t.title)}</td></tr>`).join('\n');
  return layout('Error codes', `<h1>Error codes</h1>\n<table>\n<tr><th>code</th><th>status</th><th>meaning</th></tr>\n${rows}\n</table>`);
}

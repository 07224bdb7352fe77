import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postWebhook, RESPONSE_BODY_LIMIT } from './post-webhook.js';

// Against real HTTP servers on ephemeral ports of this machine.
describe('postWebhook', () => {
  const servers: Server[] = [];
  let hits = 0;
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve)))));
    hits = 0;
  });
  async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
    const server = createServer((request, response) => {
      hits += 1;
      handler!(request, response);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }
  const open = { allowHttp: true, allowPrivate: true };
  const strict = { allowHttp: true, allowPrivate: false };

  it('refuses, at connection time, a name that resolves to loopback: nothing reaches the server', async () => {
    const port = await serve((_, response) => response.end('ok'));
    const outcome = await postWebhook({ url: `http://localhost:${port}/`, headers: {}, body: '{}', timeoutMs: 2000, policy: strict });
    expect(outcome).toMatchObject({ ok: false, statusCode: null });
    expect(outcome.error).toMatch(/^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback, private/);
    const literal = await postWebhook({ url: `http://127.0.0.1:${port}/`, headers: {}, body: '{}', timeoutMs: 2000, policy: strict });
    expect(literal.error).toMatch(/^refused: 127\.0\.0\.1 is a loopback, private/);
    expect(hits).toBe(0);
    expect((await postWebhook({ url: `http://localhost:${port}/`, headers: {}, body: '{}', timeoutMs: 2000, policy: open })).ok).toBe(true);
    expect(hits).toBe(1);
  });

  it('gives up after the timeout', async () => {
    const port = await serve(() => undefined); // never answers
    const outcome = await postWebhook({ url: `http://127.0.0.1:${port}/`, headers: {}, body: '{}', timeoutMs: 300, policy: open });
    expect(outcome).toMatchObject({ ok: false, statusCode: null, error: 'timed out after 300 ms' });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(290);
  });

  it('keeps at most the first 1 KiB of a response body, and sends the headers and body it is given', async () => {
    let seen: { headers: Record<string, unknown>; body: string } | undefined;
    const port = await serve((request, response) => {
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString()));
      request.on('end', () => {
        seen = { headers: request.headers, body };
        response.writeHead(500);
        response.end('x'.repeat(100_000));
      });
    });
    const outcome = await postWebhook({ url: `http://127.0.0.1:${port}/`, headers: { 'webhook-id': 'msg_1' }, body: '{"a":1}', timeoutMs: 2000, policy: open });
    expect(outcome).toMatchObject({ ok: false, statusCode: 500, error: 'HTTP 500' });
    expect(outcome.responseBody).toHaveLength(RESPONSE_BODY_LIMIT);
    expect(seen).toMatchObject({ body: '{"a":1}', headers: { 'webhook-id': 'msg_1', 'content-type': 'application/json' } });
  });
});

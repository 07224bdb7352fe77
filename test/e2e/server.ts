import { spawnCli, type RunningCli } from '../cli/cli.js';
import type { ScratchDatabase } from '../support/databases.js';

/**
 * Starts `orderflow start` on `scratch` and a free port; resolves with its base URL. Every
 * accepted order must complete in these tests: on a loaded machine an order caught by a restart
 * can take longer than the default 30 s saga deadline, which would cancel it instead.
 */
export async function startServer(scratch: ScratchDatabase, secret: string): Promise<{ server: RunningCli; url: string }> {
  const server = spawnCli(['start'], { DATABASE_URL: scratch.url, JWT_SECRET: secret, PORT: '0', LOG_LEVEL: 'info', ORDER_RATE_LIMIT: '0', SAGA_TIMEOUT_MS: '600000' });
  const [, url] = await server.waitFor(/"address":"(http:\/\/[^"]+)"/);
  return { server, url: url!.replace('0.0.0.0', '127.0.0.1') };
}

/** One JSON request with a bearer token; the status and the parsed body. */
export async function call(url: string, method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

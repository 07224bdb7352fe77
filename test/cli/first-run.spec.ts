import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyToken } from '../../src/http/auth.js';
import { claimsOf, runCli, spawnCli, type RunningCli } from './cli.js';

/** What the start banner told the user. */
interface Banner {
  url: string;
  adminToken: string;
  customerToken: string;
  orderBody: unknown;
}

async function bannerOf(child: RunningCli): Promise<Banner> {
  await child.waitFor(/curl -s http:\/\/localhost:\d+\/orders\/\$ORDER_ID/);
  const out = child.stdout();
  return {
    url: out.match(/orderflow is running at (http:\/\/localhost:\d+)/)![1]!,
    adminToken: out.match(/export ADMIN_TOKEN=(\S+)/)![1]!,
    customerToken: out.match(/export CUSTOMER_TOKEN=(\S+)/)![1]!,
    orderBody: JSON.parse(out.match(/-d '(\{.*\})'/)![1]!),
  };
}

function hasCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('orderflow start, first run in the embedded mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-first-run-'));
  const env = { DATABASE_URL: `sqlite:${join(dir, 'data', 'orderflow.db')}`, PORT: '0' };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a 0600 secret, seeds the demo catalog and prints tokens and an order that work as pasted', async () => {
    const server = spawnCli(['start'], env);
    try {
      const banner = await bannerOf(server);
      const file = join(dir, 'data', 'jwt-secret');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const secret = readFileSync(file, 'utf8').trim();
      expect(server.stdout()).toContain(`made a token secret in ${file}`);
      expect(server.stdout()).toContain('5 demo products seeded (product-001, product-002, product-003, product-004, product-005)');

      expect(verifyToken(secret, banner.adminToken)).toEqual({ sub: 'admin', role: 'admin' });
      expect(verifyToken(secret, banner.customerToken)).toEqual({ sub: 'customer-001', role: 'customer' });
      const claims = claimsOf(banner.customerToken);
      expect(Number(claims.exp) - Number(claims.iat)).toBe(24 * 3600);

      // The order of the banner, as its curl sends it, then read back as its second curl does.
      const auth = { authorization: `Bearer ${banner.customerToken}` };
      const placed = await fetch(`${banner.url}/orders`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(banner.orderBody) });
      expect(placed.status).toBe(201);
      const { orderId } = (await placed.json()) as { orderId: string };
      const read = await fetch(`${banner.url}/orders/${orderId}`, { headers: auth });
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ orderId, customerId: 'customer-001', items: [{ productId: 'product-001', quantity: 1 }] });

      expect(server.stdout() + server.stderr()).not.toContain(secret);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it.skipIf(!hasCurl())('the banner\u2019s commands run as pasted into a POSIX shell', async () => {
    const server = spawnCli(['start'], env);
    try {
      await bannerOf(server);
      // Every indented command line of the banner, the prose between them left out.
      const script = server
        .stdout()
        .split('\n')
        .filter((line) => /^ {4}\S/.test(line) || /^ {6}-d /.test(line))
        .join('\n');
      const output = execFileSync('sh', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(JSON.parse(output.trim())).toMatchObject({ customerId: 'customer-001', items: [{ productId: 'product-001' }] });
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it('reuses the secret and the catalog on the next start: earlier tokens stay valid', async () => {
    const secret = readFileSync(join(dir, 'data', 'jwt-secret'), 'utf8');
    const mintedEarlier = await runCli(['token', '--role', 'admin'], env);
    const server = spawnCli(['start'], env);
    try {
      const banner = await bannerOf(server);
      expect(readFileSync(join(dir, 'data', 'jwt-secret'), 'utf8')).toBe(secret);
      expect(server.stdout()).toContain(`tokens are signed with the secret in ${join(dir, 'data', 'jwt-secret')}`);
      expect(server.stdout()).toContain('products already in the catalog');
      const events = await fetch(`${banner.url}/api/events?limit=1`, { headers: { authorization: `Bearer ${mintedEarlier.stdout.trim()}` } });
      expect(events.status).toBe(200);
      const products = await fetch(`${banner.url}/products`, { headers: { authorization: `Bearer ${banner.customerToken}` } });
      expect(((await products.json()) as { products: unknown[] }).products).toHaveLength(5);
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it('refuses to start the PostgreSQL mode without JWT_SECRET, saying why, without a stack trace', async () => {
    const result = await runCli(['start'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/not_used', PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('JWT_SECRET is not set');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  // A supervisor (or a test) may send SIGTERM as soon as it reads the first line: the process must
  // stop as it does later, not die of the signal. The handler used to be installed only after the
  // banner was written, and a SIGTERM sent on reading it killed the process 2 times in 3.
  it('stops cleanly (exit 0, "orderflow stopped") on a SIGTERM sent the moment its first output is read, or its banner', async () => {
    for (const moment of [/\S/, /orderflow is running at/, /\S/, /orderflow is running at/]) {
      const server = spawnCli(['start'], { ...env, LOG_LEVEL: 'info' });
      await server.waitFor(moment);
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(server.stdout()).toContain('"msg":"orderflow stopped"');
    }
  });

  // A request in flight when SIGTERM comes is answered, and its keep-alive connection then ends:
  // Fastify keeps connections 72 s after a response, and close() waited for this one that long
  // (a campaign's process did not stop within 30 s of SIGTERM, 2 runs in 3 of one seed).
  it('answers a request in flight at SIGTERM with Connection: close and stops without waiting for the client to hang up', async () => {
    const server = spawnCli(['start'], { ...env, LOG_LEVEL: 'info' });
    const banner = await bannerOf(server);
    const { hostname, port } = new URL(banner.url);
    const socket = connect(Number(port), hostname);
    const body = JSON.stringify(banner.orderBody);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    // The headers now (the request is in flight), the body after the signal.
    socket.write(`POST /orders HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${banner.customerToken}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stopped = server.stop('SIGTERM');
    await server.waitFor(/"msg":"shutting down"/);
    socket.write(body);
    // The server hangs up after its answer (the socket closes without the client ending it).
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 201 /);
    expect(text.toLowerCase()).toContain('connection: close');
    const stillRunning = new Promise((resolve) => setTimeout(() => resolve('still running 30 s after SIGTERM'), 30_000).unref());
    expect(await Promise.race([stopped, stillRunning])).toBe(0);
  }, 60_000);

  // A connection that was opened and has sent nothing (a client that connected while the process
  // was paused, a load balancer's spare connection) held close() for ever: Node counts it as a
  // request starting, and the timeout that would end it stops with the server. Found by the
  // distributed campaign (seed 2035714896): api-a killed 30 s after SIGTERM, 2 replays in 5.
  it('stops on SIGTERM while a client holds a connection on which it has sent nothing, and hangs it up', async () => {
    const server = spawnCli(['start'], { ...env, LOG_LEVEL: 'info' });
    const banner = await bannerOf(server);
    const { hostname, port } = new URL(banner.url);
    const socket = connect(Number(port), hostname);
    const hungUp = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stillRunning = new Promise((resolve) => setTimeout(() => resolve('still running 30 s after SIGTERM'), 30_000).unref());
    expect(await Promise.race([server.stop('SIGTERM'), stillRunning])).toBe(0);
    await hungUp;
  }, 60_000);
});

import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startProxy, type Proxy } from '../../chaos/proxy.js';

/** An upstream that echoes, or, told so, ends every new connection at once (as PostgreSQL ending a session). */
async function startUpstream(): Promise<{ port: number; endNew: boolean; server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const upstream = {
    port: 0,
    endNew: false,
    server: createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      if (upstream.endNew) socket.end();
      else socket.pipe(socket);
    }),
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise<void>((resolve) => upstream.server.close(() => resolve()));
    },
  };
  await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
  upstream.port = (upstream.server.address() as { port: number }).port;
  return upstream;
}

/** A client of the proxy that keeps its side open when the other side ends (a process that has not closed yet). */
function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1', allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

const closedOf = (socket: Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
const endOf = (socket: Socket) => new Promise<void>((resolve) => socket.once('end', () => resolve()));

describe('the campaign\'s PostgreSQL proxy (chaos/proxy.ts)', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let proxy: Proxy;
  const clients: Socket[] = [];
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.destroy());
    await proxy?.close();
    await upstream?.close();
  });

  async function echo(socket: Socket, text: string): Promise<string> {
    const answer = new Promise<string>((resolve) => socket.once('data', (data) => resolve(String(data))));
    socket.write(text);
    return answer;
  }

  // Regression: a client whose upstream had ended first was no longer tracked, and cut() waited
  // for the server to drain — for ever: the 30-minute distributed campaign of 2026-12-06 hung there.
  it('cuts at once with a client still open whose upstream ended first, refuses new connections, and takes them again after restore', async () => {
    upstream = await startUpstream();
    proxy = await startProxy({ host: '127.0.0.1', port: upstream.port });
    upstream.endNew = true;
    const halfOpen = await connect(proxy.port);
    clients.push(halfOpen);
    await endOf(halfOpen); // the upstream ended; this client keeps its side open
    await proxy.cut();
    await expect(connect(proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    upstream.endNew = false;
    await proxy.restore();
    const again = await connect(proxy.port);
    clients.push(again);
    expect(await echo(again, 'ping')).toBe('ping');
  });

  it('closes the PostgreSQL side when the process side dies (no session left behind)', async () => {
    upstream = await startUpstream();
    proxy = await startProxy({ host: '127.0.0.1', port: upstream.port });
    const accepted = new Promise<Socket>((resolve) => upstream.server.once('connection', resolve));
    const client = await connect(proxy.port);
    clients.push(client);
    expect(await echo(client, 'ping')).toBe('ping');
    const session = await accepted;
    // The process is killed: its socket resets. The proxy must not keep the session open.
    client.resetAndDestroy();
    await closedOf(session);
  });
});

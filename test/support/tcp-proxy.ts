import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a server (PostgreSQL), which a test can break two ways:
 * - `cut()` destroys every open connection and stops listening (new ones are refused);
 *   `restore()` listens again on the same port: a database that is down, or unreachable.
 * - `blackhole()` keeps every connection open and accepts new ones, but drops every byte in
 *   both directions; `heal()` forwards again (what was dropped stays lost): a database that
 *   stops answering, the case drivers wait longest on. As on a real network, a side that
 *   closes its connection during the silence is not heard by the other: that one stays open
 *   (a PostgreSQL backend keeps its transaction and its locks) until the proxy closes.
 */
export interface TcpProxy {
  port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  blackhole(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let holed = false;
  const forward = (from: Socket, to: Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (!holed) to.write(chunk);
    });
  const server: Server = createServer((client) => {
    const upstream = createConnection(target.port, target.host);
    const hangUp = () => {
      if (holed) return;
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => {
        sockets.delete(s);
        hangUp();
      });
      s.on('error', hangUp);
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  const cut = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    port,
    cut,
    restore: async () => void (await listen(port)),
    blackhole: () => {
      holed = true;
    },
    heal: () => {
      holed = false;
    },
    close: async () => {
      holed = false;
      if (server.listening) await cut();
    },
  };
}

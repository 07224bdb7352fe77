import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of PostgreSQL for one process. `cut()` resets every open
 * connection and refuses new ones; `blackhole()` keeps connections open but passes no byte
 * either way (new ones are accepted and hang), as a network partition does; `restore()`
 * heals both (what a black hole held back then flows, as TCP retransmits after a partition).
 */
export interface Proxy {
  port: number;
  cut(): Promise<void>;
  blackhole(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<Proxy> {
  const pairs = new Set<[Socket, Socket]>();
  // Every accepted connection until it is closed, whatever became of its upstream: `cut()`
  // destroys them all. (Tracked through `pairs` only, a client whose upstream had closed first
  // stayed open, and waiting for the server to drain hung a 30-minute campaign for good.)
  const clients = new Set<Socket>();
  let holding = false;
  const server: Server = createServer((client) => {
    clients.add(client);
    client.once('close', () => clients.delete(client));
    const upstream = createConnection(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    for (const s of pair) {
      s.once('close', () => {
        pairs.delete(pair);
        // One side gone (a process killed, a session ended by the server): the other goes too,
        // after what it still has to write, or at once when held. Left alone, it stayed open
        // and out of `pairs`, holding a PostgreSQL session nobody used.
        for (const other of pair) {
          if (other === s) continue;
          if (holding) other.destroy();
          else other.destroySoon();
        }
      });
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    if (!holding) flow(pair);
  });
  const flow = ([client, upstream]: [Socket, Socket]) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const hold = ([client, upstream]: [Socket, Socket]) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const port = await listen(0);
  // Refuses new connections at once (the listening socket closes now; the server's 'close'
  // comes only once every connection is gone, which nothing here waits for) and resets the open ones.
  const cut = async () => {
    if (server.listening) server.close();
    for (const pair of pairs) pair.forEach((s) => s.destroy());
    for (const client of clients) client.destroy();
  };
  return {
    port,
    cut,
    blackhole() {
      holding = true;
      pairs.forEach(hold);
    },
    async restore() {
      if (holding) pairs.forEach(flow);
      holding = false;
      if (!server.listening) await listen(port);
    },
    close: cut,
  };
}

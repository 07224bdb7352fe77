/**
 * What the bench asks of orderflow: a catalog with plenty of stock, and orders of 1 to 3
 * lines paid with the test card `tok_visa` (always succeeds), drawn from a seeded generator
 * so that every run places the same sequence of orders.
 */
import { Agent, request } from 'node:http';
import { mintToken } from '../../src/http/auth.js';

export const JWT_SECRET = 'orderflow-bench-secret-0123456789abcdef';
export const PRODUCTS = 50;
const STOCK = 1_000_000;
const CUSTOMERS = 100;

export interface HttpResponse {
  status: number;
  body: string;
}

/** A keep-alive HTTP/1.1 client for one server; requests beyond `maxSockets` wait in the agent's queue. */
export class Client {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(
    baseUrl: string,
    maxSockets: number,
    private readonly timeoutMs = 60_000,
  ) {
    const url = new URL(baseUrl);
    this.host = url.hostname;
    this.port = Number(url.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  send(method: string, path: string, token: string | undefined, body?: unknown): Promise<HttpResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer in ${this.timeoutMs} ms`)));
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Deterministic pseudo-random numbers (mulberry32). */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const productId = (i: number) => `bench-product-${String(i).padStart(3, '0')}`;

/** Creates the catalog through the API, as an admin would. */
export async function seedCatalog(client: Client, adminToken: string): Promise<void> {
  const random = generator(42);
  for (let i = 1; i <= PRODUCTS; i++) {
    const price = Math.round(100 + random() * 9900) / 100;
    const created = await client.send('POST', '/products', adminToken, { productId: productId(i), name: `Bench product ${i}`, price, currency: 'USD', stock: STOCK });
    if (created.status !== 201) throw new Error(`POST /products answered ${created.status}: ${created.body}`);
  }
}

export interface OrderRequest {
  token: string;
  body: unknown;
}

/** The orders of a run, in the same sequence every time. */
export class OrderSource {
  private readonly random = generator(7);
  private readonly tokens = Array.from({ length: CUSTOMERS }, (_, i) => mintToken(JWT_SECRET, { sub: `bench-customer-${i + 1}`, role: 'customer', expiresInSeconds: 6 * 3600 }));
  private next = 0;

  order(): OrderRequest {
    const lines = 1 + Math.floor(this.random() * 3);
    const chosen = new Set<number>();
    while (chosen.size < lines) chosen.add(1 + Math.floor(this.random() * PRODUCTS));
    const items = [...chosen].map((i) => ({ productId: productId(i), quantity: 1 + Math.floor(this.random() * 2) }));
    const token = this.tokens[this.next++ % CUSTOMERS]!;
    return {
      token,
      body: {
        items,
        currency: 'USD',
        shippingAddress: { street: '1 Bench Street', city: 'Springfield', postalCode: '12345', country: 'US' },
        paymentMethod: { token: 'tok_visa' },
        sourceChannel: 'web',
      },
    };
  }
}

export const adminToken = () => mintToken(JWT_SECRET, { sub: 'bench-admin', role: 'admin', expiresInSeconds: 6 * 3600 });

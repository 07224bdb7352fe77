// The seeded workload of a campaign, through the HTTP API only: placements with every card
// token, idempotent retries with the same Idempotency-Key, cancels at every status, restocks
// of products that run out, dispatch and delivery of shipped orders.
import { createRng, type Rng } from './random.js';

export interface CallResult {
  status: number | 'error';
  body: Record<string, unknown>;
}

/** One request; an unreachable or paused server gives `error` after `timeoutMs`, never a hang. */
export async function call(url: string, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}, timeoutMs = 8000): Promise<CallResult> {
  try {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { text };
    }
    return { status: response.status, body: parsed };
  } catch (error) {
    return { status: 'error', body: { error: (error as Error).message } };
  }
}

/** Plenty of stock; scarce products run out (their orders are REJECTED) until a restock; `rare` runs out at once. */
export const CATALOG = [
  { productId: 'plenty-1', name: 'Plenty one', price: 12.5, stock: 1_000_000 },
  { productId: 'plenty-2', name: 'Plenty two', price: 3.99, stock: 1_000_000 },
  { productId: 'plenty-3', name: 'Plenty three', price: 149, stock: 1_000_000 },
  { productId: 'scarce-1', name: 'Scarce one', price: 99.99, stock: 30, reorderPoint: 10 },
  { productId: 'scarce-2', name: 'Scarce two', price: 45, stock: 15, reorderPoint: 5 },
  { productId: 'rare', name: 'Rare', price: 1000, stock: 3 },
] as const;

/** Every token of the simulated gateway, and none (random outcome). */
export const CARD_TOKENS = ['tok_visa', 'tok_chargeDeclined', 'tok_timeout', undefined] as const;
export type CardToken = (typeof CARD_TOKENS)[number];

/** An order the API answered 201 for. */
export interface AcceptedOrder {
  orderId: string;
  token: CardToken;
  caller: string;
  idempotencyKey?: string;
}

/** What the workload saw, for the checks and the figures. */
export interface WorkloadRecord {
  accepted: Map<string, AcceptedOrder>;
  /** Placements never answered 201 (an error, a 5xx, a timeout): they may or may not exist. */
  unanswered: number;
  /** Idempotency-Key → the orderId its first 201 carried. */
  keys: Map<string, string>;
  requests: Record<string, number>;
  violations: string[];
}

export interface WorkloadOptions {
  /** Base URLs of the HTTP processes. */
  urls: readonly string[];
  adminToken: string;
  customers: readonly { sub: string; token: string }[];
  /** Operations per second aimed at, all workers together. */
  rate: number;
  workers: number;
  seed: number;
}

const ADDRESS = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

export function createWorkload(options: WorkloadOptions) {
  const { urls, adminToken, customers, seed } = options;
  const record: WorkloadRecord = { accepted: new Map(), unanswered: 0, keys: new Map(), requests: {}, violations: [] };
  const recent: AcceptedOrder[] = [];
  let running = true;
  let keyNo = 0;
  // An outage or a full disk is a 503 problem; a 500 is a bug.
  const count = (what: string) => {
    record.requests[what] = (record.requests[what] ?? 0) + 1;
    if (/ 5\d\d$/.test(what) && !what.endsWith(' 503') && record.requests[what] === 1) record.violations.push(`${what.replace(/ (\d+)$/, ' answered $1')}: an unexpected server error (see the figures for how often)`);
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /** The operations of one worker, drawing from its own stream (`rng`). */
  function operations(rng: Rng) {
    const url = () => rng.pick(urls);

    function orderBody(admin: boolean, customerSub: string): { body: Record<string, unknown>; token: CardToken } {
      const lines = rng.int(1, 2);
      const products = [...CATALOG.map((p) => p.productId)];
      const items = Array.from({ length: lines }, () => products.splice(rng.int(0, products.length - 1), 1)[0]!).map((productId) => ({ productId, quantity: rng.int(1, 3) }));
      const token = rng.pick(CARD_TOKENS);
      const body: Record<string, unknown> = { items, shippingAddress: ADDRESS, sourceChannel: rng.pick(['web', 'mobile', 'chat']) };
      if (token) body.paymentMethod = { token };
      if (admin) body.customerId = customerSub;
      return { body, token };
    }

    async function place(): Promise<void> {
      const customer = rng.pick(customers);
      const admin = rng.chance(0.2);
      const caller = admin ? adminToken : customer.token;
      const { body, token } = orderBody(admin, customer.sub);
      const key = rng.chance(0.4) ? `chaos-${seed}-${Date.now()}-${++keyNo}` : undefined;
      // With a key, a failed attempt is retried (up to 3 times, maybe on another process), and a success sometimes replayed.
      const attempts = key ? 4 : 1;
      let first: string | undefined;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        const result = await call(url(), 'POST', '/orders', caller, body, key ? { 'idempotency-key': key } : {});
        count(`POST /orders ${result.status}`);
        if (result.status === 201) {
          const orderId = result.body.orderId as string;
          if (first !== undefined && first !== orderId) record.violations.push(`Idempotency-Key ${key}: answered ${first}, then ${orderId}`);
          if (key) {
            const known = record.keys.get(key);
            if (known !== undefined && known !== orderId) record.violations.push(`Idempotency-Key ${key}: answered ${known}, then ${orderId}`);
            record.keys.set(key, orderId);
          }
          first = orderId;
          const order: AcceptedOrder = { orderId, token, caller, ...(key ? { idempotencyKey: key } : {}) };
          if (!record.accepted.has(orderId)) {
            record.accepted.set(orderId, order);
            recent.push(order);
            if (recent.length > 200) recent.shift();
          }
          if (!key || !rng.chance(0.3)) return;
          continue; // replay a success: the same answer, nothing new
        }
        if (typeof result.status === 'number' && result.status < 500 && result.status !== 409) {
          record.violations.push(`POST /orders refused a valid order: ${result.status} ${JSON.stringify(result.body).slice(0, 300)}`);
          return;
        }
        if (attempt < attempts) await sleep(rng.int(100, 1500));
      }
      if (first === undefined) record.unanswered++;
    }

    async function cancel(): Promise<void> {
      if (recent.length === 0) return;
      const order = rng.pick(recent);
      const result = await call(url(), 'POST', `/orders/${order.orderId}/cancel`, order.caller, { reason: 'chaos' });
      count(`cancel ${result.status}`);
      if (typeof result.status === 'number' && result.status < 500 && result.status !== 202 && result.status !== 409) record.violations.push(`cancel ${order.orderId}: ${result.status} ${JSON.stringify(result.body).slice(0, 300)}`);
    }

    async function restock(): Promise<void> {
      const product = rng.pick(CATALOG.filter((p) => p.stock < 100));
      const result = await call(url(), 'POST', `/products/${product.productId}/stock`, adminToken, { delta: rng.int(1, 8), reason: 'restock' });
      count(`restock ${result.status}`);
    }

    /** Dispatches (and sometimes delivers) the shipment of a shipped order. */
    async function ship(): Promise<void> {
      if (recent.length === 0) return;
      const order = rng.pick(recent);
      const base = url();
      const read = await call(base, 'GET', `/orders/${order.orderId}`, adminToken);
      const shipmentId = read.body.shipmentId as string | null | undefined;
      if (read.status !== 200 || read.body.status !== 'SHIPPED' || !shipmentId) return;
      const dispatched = await call(base, 'POST', `/shipments/${shipmentId}/dispatch`, adminToken);
      count(`dispatch ${dispatched.status}`);
      if (dispatched.status === 200 && rng.chance(0.7)) count(`deliver ${(await call(base, 'POST', `/shipments/${shipmentId}/deliver`, adminToken)).status}`);
    }

    return { place, cancel, restock, ship };
  }

  async function worker(n: number): Promise<void> {
    const rng = createRng(seed, `workload-${n}`);
    const { place, cancel, restock, ship } = operations(rng);
    const pause = (1000 * options.workers) / options.rate;
    while (running) {
      const op = rng.weighted({ place: 70, cancel: 12, restock: 6, ship: 12 });
      const started = performance.now();
      if (op === 'place') await place();
      else if (op === 'cancel') await cancel();
      else if (op === 'restock') await restock();
      else await ship();
      await sleep(Math.max(0, pause * (0.5 + rng.next()) - (performance.now() - started)));
    }
  }

  let done: Promise<unknown> = Promise.resolve();
  return {
    record,
    start() {
      done = Promise.all(Array.from({ length: options.workers }, (_, n) => worker(n)));
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

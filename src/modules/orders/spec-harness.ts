// Test support for the orders integration specs (not used by the module at runtime): an
// engine running only the orders module on a scratch database, a fake catalog, and helpers
// that append the other modules' events as they would. It imports nothing from test/ (the
// build compiles src/ alone); the specs hand in the scratch database and `eventually`.
import { AppError } from '../../kernel/errors.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { createEngine, type Engine } from '../../platform/engine.js';
import type { Storage } from '../../platform/storage/database.js';
import { createOrdersModule, type CatalogPort, type OrdersApi, type OrderStatus, type OrderView, type PlaceOrderInput } from './index.js';

/** The products the fake catalog knows: price in minor units and currency. */
export const PRODUCTS: Readonly<Record<string, { name: string; unitPrice: number; currency: string }>> = {
  'p-widget': { name: 'Widget', unitPrice: 1250, currency: 'USD' },
  'p-gadget': { name: 'Gadget', unitPrice: 999, currency: 'USD' },
  'p-croissant': { name: 'Croissant', unitPrice: 180, currency: 'EUR' },
};

/** Pure lookup, as inventory's quote does it: unknown products and mixed currencies are refused. */
export const fakeCatalog: CatalogPort = {
  async quote(items) {
    const lines = items.map(({ productId, quantity }) => {
      const product = PRODUCTS[productId];
      if (!product) throw new AppError('validation', 'UNKNOWN_PRODUCT', `unknown product ${productId}`);
      return { productId, name: product.name, quantity, unitPrice: product.unitPrice, currency: product.currency };
    });
    const currencies = new Set(lines.map((l) => l.currency));
    if (currencies.size > 1) throw new AppError('validation', 'MIXED_CURRENCY', 'products are priced in different currencies');
    return { currency: [...currencies][0]!, lines: lines.map(({ currency: _c, ...line }) => line) };
  },
};

export const address = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

export function orderInput(overrides: Partial<PlaceOrderInput> = {}): PlaceOrderInput {
  return {
    customerId: 'customer-1',
    items: [
      { productId: 'p-widget', quantity: 2 },
      { productId: 'p-gadget', quantity: 1 },
    ],
    shippingAddress: address,
    paymentMethod: { token: 'tok_visa' },
    sourceChannel: 'web',
    ...overrides,
  };
}

export interface OrdersHarness {
  engine: Engine;
  api: OrdersApi;
  /** Appends an event as `source` would, in the order's flow. */
  emit(source: string, order: OrderView, eventType: string, aggregate: { type: 'Order' | 'Payment' | 'Shipment'; id: string }, payload: Record<string, unknown>): Promise<EventEnvelope>;
  /** Waits until the order is in `status` and returns it. */
  statusOf(orderId: string, status: OrderStatus): Promise<OrderView>;
  /** Every event of a correlation id, in log order. */
  flow(correlationId: string): Promise<EventEnvelope[]>;
  close(): Promise<void>;
}

/** The parts of test/support the harness uses, handed in by the spec. */
export interface HarnessSupport {
  scratch: { open(): Promise<Storage>; drop(): Promise<void> };
  eventually(probe: () => Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
}

export async function createOrdersHarness({ scratch, eventually }: HarnessSupport, sagaTimeoutMs: number): Promise<OrdersHarness> {
  const storage = await scratch.open();
  const orders = createOrdersModule({ catalog: fakeCatalog, sagaTimeoutMs });
  const engine = createEngine({ storage, modules: [orders], pollMs: 25, retry: { maxRetries: 2, baseDelayMs: 20, maxDelayMs: 200 } });
  await engine.migrate();
  await engine.start();
  const api = orders.connect(engine.runtime);
  return {
    engine,
    api,
    emit: (source, order, eventType, aggregate, payload) =>
      engine.unitOfWork.run(source, async (tx) =>
        tx.emit({ eventType, aggregateType: aggregate.type, aggregateId: aggregate.id, correlationId: order.correlationId, payload }),
      ),
    async statusOf(orderId, status) {
      let seen: OrderView | undefined;
      await eventually(async () => (seen = await api.getOrder(orderId))?.status === status, `order ${orderId} to be ${status} (is ${seen?.status})`);
      return seen!;
    },
    async flow(correlationId) {
      return (await engine.log.query({ correlationId, limit: 1000 })).events;
    },
    async close() {
      await engine.stop();
      await storage.close();
      await scratch.drop();
    },
  };
}

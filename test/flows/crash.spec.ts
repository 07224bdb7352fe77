import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/platform/storage/database.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';
import { createBusinessModules } from '../../src/composition.js';
import { loadConfig } from '../../src/config.js';
import { createEngine } from '../../src/platform/engine.js';
import { fulfilmentViolations } from '../support/invariants.js';
import { eventually } from '../support/kernel-test-module.js';
import { businessConsumers, untilSettled } from '../support/settle.js';
import { killChildren, spawnTs } from '../support/processes.js';

const node = new URL('../fixtures/flow-node.ts', import.meta.url);

describe.each(dialects)('an order survives its process being killed mid-flow on %s', (dialect) => {
  let scratch: ScratchDatabase;
  let storage: Storage | undefined;
  beforeEach(async () => {
    scratch = await createScratchDatabase(dialect);
  });
  /** The fulfilment invariants over what the processes left in the database. */
  async function violations(): Promise<string[]> {
    const modules = createBusinessModules(loadConfig({}));
    const engine = createEngine({ storage: storage!, modules: modules.engineModules([]) });
    return fulfilmentViolations(modules.connect(engine.runtime), engine);
  }

  afterEach(async () => {
    await killChildren();
    await storage?.close();
    storage = undefined;
    await scratch.drop();
  });

  it.each(['OrderConfirmed', 'PaymentProcessed'])('SIGKILL right after %s commits: after a restart the order completes, charged once', async (crashOn) => {
    const env = { DATABASE_URL: scratch.url, SAGA_TIMEOUT_MS: '60000', LOG_LEVEL: 'error' };
    const first = spawnTs(node, { ...env, MODE: 'place', CRASH_ON: crashOn });
    const { placed } = await first.waitFor('placed');
    expect((await first.exited).signal).toBe('SIGKILL');

    storage = await scratch.open();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db = storage.db as Kysely<any>;
    const typesSoFar = (await db.selectFrom('events').select('event_type').where('correlation_id', 'is not', null).orderBy('sequence').execute()).map((r) => r.event_type as string);
    expect(typesSoFar).toContain(crashOn);
    // On SQLite a delivery round goes on, in the same transaction, with the events it appended
    // (for the consumers whose effects all stay in it): the rest of the flow, after the payment,
    // may have committed with PaymentProcessed. The probe sees an event only once committed.
    if (dialect === 'postgres' || crashOn !== 'PaymentProcessed') expect(typesSoFar).not.toContain('OrderShipped');

    const second = spawnTs(node, { ...env, MODE: 'run' });
    await second.waitFor('running');
    const status = async () => (await db.selectFrom('orders').select('status').where('order_id', '=', placed as string).executeTakeFirst())?.status;
    await eventually(async () => (await status()) === 'SHIPPED', 'the order to ship after the restart', 30_000);
    // SHIPPED is the orders consumer's view: inventory ships the stock on ShipmentCreated on its own time.
    await untilSettled(db, businessConsumers());
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    const count = async (type: string) => Number((await db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('event_type', '=', type).executeTakeFirstOrThrow()).n);
    expect(await count('PaymentProcessed')).toBe(1);
    expect(await count('OrderShipped')).toBe(1);
    const charges = await db.selectFrom('payment_gateway_charges').selectAll().execute();
    expect(charges.filter((c) => String(c.idempotency_key).includes(placed as string))).toHaveLength(1);
    expect(await violations()).toEqual([]);
  });

  it.each(['ReturnReceived', 'PaymentPartiallyRefunded'])('a return survives a SIGKILL right after %s commits: restocked once, refunded once, REFUNDED after the restart', async (crashOn) => {
    const env = { DATABASE_URL: scratch.url, SAGA_TIMEOUT_MS: '60000', LOG_LEVEL: 'error' };
    const first = spawnTs(node, { ...env, MODE: 'return', CRASH_ON: crashOn });
    const { placed, returnId } = await first.waitFor('returnId');
    expect((await first.exited).signal).toBe('SIGKILL');

    storage = await scratch.open();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db = storage.db as Kysely<any>;
    const returned = async () => db.selectFrom('order_returns').selectAll().where('return_id', '=', returnId as string).executeTakeFirst();
    // Where the kill fell among the consumers of that event is up to the delivery round (the
    // orders consumer may have recorded the refund just before it): what must hold is the end state.

    const second = spawnTs(node, { ...env, MODE: 'run' });
    await second.waitFor('running');
    await eventually(async () => (await returned())?.status === 'REFUNDED', 'the return refunded after the restart', 30_000);
    await untilSettled(db, businessConsumers());
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    const count = async (type: string) => Number((await db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('event_type', '=', type).executeTakeFirstOrThrow()).n);
    expect(await count('ReturnReceived')).toBe(1);
    expect(await count('PaymentPartiallyRefunded')).toBe(1);
    const refunds = await db.selectFrom('payment_gateway_charges').selectAll().where('operation', '=', 'refund').where('reference', '=', placed as string).execute();
    expect(refunds.map((r) => [r.idempotency_key, Number(r.amount), r.outcome])).toEqual([[`return:${returnId as string}`, 5000, 'succeeded']]);
    expect(Number((await returned())?.refunded_amount)).toBe(5000);
    // 10 on hand, 3 shipped, 2 back: 9, and the ledger explains it.
    const widget = await db.selectFrom('inventory_products').selectAll().where('product_id', '=', 'widget').executeTakeFirstOrThrow();
    expect([Number(widget.on_hand), Number(widget.reserved)]).toEqual([9, 0]);
    expect(await violations()).toEqual([]);
  });

  it('an address edit survives a SIGKILL right after OrderUpdated commits: the shipment is readdressed after the restart', async () => {
    const env = { DATABASE_URL: scratch.url, SAGA_TIMEOUT_MS: '60000', LOG_LEVEL: 'error' };
    const first = spawnTs(node, { ...env, MODE: 'edit', CRASH_ON: 'OrderUpdated' });
    const { placed, shipmentId } = await first.waitFor('shipmentId');
    expect((await first.exited).signal).toBe('SIGKILL');

    storage = await scratch.open();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db = storage.db as Kysely<any>;
    const cityOf = async (table: 'orders' | 'shipments') =>
      (JSON.parse((await db.selectFrom(table).select('shipping_address').where('order_id', '=', placed as string).executeTakeFirstOrThrow()).shipping_address) as { city: string }).city;
    expect(await cityOf('orders')).toBe('Shelbyville');

    const second = spawnTs(node, { ...env, MODE: 'run' });
    await second.waitFor('running');
    await eventually(async () => (await cityOf('shipments')) === 'Shelbyville', 'the shipment readdressed after the restart', 30_000);
    await untilSettled(db, businessConsumers());
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    const shipment = await db.selectFrom('shipments').selectAll().where('shipment_id', '=', shipmentId as string).executeTakeFirstOrThrow();
    expect(shipment.status).toBe('CREATED');
    expect(Number((await db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('event_type', '=', 'OrderUpdated').executeTakeFirstOrThrow()).n)).toBe(1);
    expect(await violations()).toEqual([]);
  });

  it.each([
    ['OrderBackordered', 'restock'],
    ['BackorderFulfilled', 'run'],
  ])('a backordered order survives a SIGKILL right after %s commits: served once, charged once, no stock drift', async (crashOn, restartMode) => {
    const env = { DATABASE_URL: scratch.url, SAGA_TIMEOUT_MS: '60000', LOG_LEVEL: 'error' };
    const first = spawnTs(node, { ...env, MODE: 'backorder', CRASH_ON: crashOn });
    const { placed } = await first.waitFor('placed');
    expect((await first.exited).signal).toBe('SIGKILL');

    storage = await scratch.open();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db = storage.db as Kysely<any>;
    const order = async () => db.selectFrom('orders').selectAll().where('order_id', '=', placed as string).executeTakeFirst();
    const typesSoFar = (await db.selectFrom('events').select('event_type').where('correlation_id', 'is not', null).orderBy('sequence').execute()).map((r) => r.event_type as string);
    expect(typesSoFar).toContain(crashOn);
    // Killed right after the backorder, before any restock: nothing can have moved the order on.
    if (crashOn === 'OrderBackordered') expect((await order())?.status).toBe('PENDING');

    // After a kill before the restock, the restarted process restocks (MODE=restock); after one
    // right after it, the restock committed and the restart only runs the flow on.
    const second = spawnTs(node, { ...env, MODE: restartMode });
    await second.waitFor('running');
    await eventually(async () => (await order())?.status === 'SHIPPED', 'the backordered order to ship after the restart', 30_000);
    await untilSettled(db, businessConsumers());
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    const count = async (type: string) => Number((await db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('event_type', '=', type).executeTakeFirstOrThrow()).n);
    expect(await count('OrderBackordered')).toBe(1);
    expect(await count('BackorderFulfilled')).toBe(1);
    expect(await count('InventoryReserved')).toBe(1);
    expect(await count('PaymentProcessed')).toBe(1);
    const charges = await db.selectFrom('payment_gateway_charges').selectAll().execute();
    expect(charges.filter((c) => String(c.idempotency_key).includes(placed as string))).toHaveLength(1);
    // 2 on hand + 10 restocked − 5 shipped, nothing reserved or backordered left.
    const bolt = await db.selectFrom('inventory_products').selectAll().where('product_id', '=', 'bolt').executeTakeFirstOrThrow();
    expect([Number(bolt.on_hand), Number(bolt.reserved), Number(bolt.backordered)]).toEqual([7, 0, 0]);
    expect(await violations()).toEqual([]);
  });

  it.each(['OrderStockOverrideApplied', 'OrderBackordered'])('an override survives a SIGKILL right after %s commits: the shortfall waits, a restock ships it, charged once, no stock drift', async (crashOn) => {
    const env = { DATABASE_URL: scratch.url, SAGA_TIMEOUT_MS: '60000', SHORT_ORDER_REVIEW_MS: '600000', LOG_LEVEL: 'error' };
    const first = spawnTs(node, { ...env, MODE: 'override', CRASH_ON: crashOn });
    const { placed } = await first.waitFor('placed');
    expect((await first.exited).signal).toBe('SIGKILL');

    storage = await scratch.open();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db = storage.db as Kysely<any>;
    const order = async () => db.selectFrom('orders').selectAll().where('order_id', '=', placed as string).executeTakeFirst();
    expect((await order())?.status).toBe('PENDING');
    const typesSoFar = (await db.selectFrom('events').select('event_type').where('correlation_id', 'is not', null).orderBy('sequence').execute()).map((r) => r.event_type as string);
    expect(typesSoFar).toContain(crashOn);

    const second = spawnTs(node, { ...env, MODE: 'restock', PRODUCT: 'nut' });
    await second.waitFor('running');
    await eventually(async () => (await order())?.status === 'SHIPPED', 'the overridden order to ship after the restart', 30_000);
    await untilSettled(db, businessConsumers());
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    const count = async (type: string) => Number((await db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('event_type', '=', type).executeTakeFirstOrThrow()).n);
    expect(await count('OrderStockOverrideApplied')).toBe(1);
    expect(await count('OrderBackordered')).toBe(1);
    expect(await count('BackorderFulfilled')).toBe(1);
    expect(await count('PaymentProcessed')).toBe(1);
    const charges = await db.selectFrom('payment_gateway_charges').selectAll().execute();
    expect(charges.filter((c) => String(c.idempotency_key).includes(placed as string))).toHaveLength(1);
    // 2 on hand + 10 restocked − 5 shipped, nothing reserved or backordered left.
    const nut = await db.selectFrom('inventory_products').selectAll().where('product_id', '=', 'nut').executeTakeFirstOrThrow();
    expect([Number(nut.on_hand), Number(nut.reserved), Number(nut.backordered)]).toEqual([7, 0, 0]);
    expect(await violations()).toEqual([]);
  });

  it.each([
    { crashOn: 'InventoryEditReserved', card: 'tok_visa', applied: true },
    { crashOn: 'PaymentEditCharged', card: 'tok_visa', applied: true },
    { crashOn: 'OrderUpdated', card: 'tok_visa', applied: true },
    { crashOn: 'PaymentEditChargeFailed', card: 'tok_chargeDeclined', applied: false },
  ])('an item edit survives a SIGKILL right after $crashOn commits: charged at most once, no stock drift', async ({ crashOn, card, applied }) => {
    const env = { DATABASE_URL: scratch.url, SAGA_TIMEOUT_MS: '60000', LOG_LEVEL: 'error' };
    const first = spawnTs(node, { ...env, MODE: 'itemedit', CRASH_ON: crashOn, EDIT_TOKEN: card });
    const { placed, shipmentId } = await first.waitFor('shipmentId');
    expect((await first.exited).signal).toBe('SIGKILL');

    storage = await scratch.open();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db = storage.db as Kysely<any>;
    const order = async () => db.selectFrom('orders').selectAll().where('order_id', '=', placed as string).executeTakeFirstOrThrow();
    const typesSoFar = (await db.selectFrom('events').select('event_type').where('correlation_id', 'is not', null).orderBy('sequence').execute()).map((r) => r.event_type as string);
    expect(typesSoFar).toContain(crashOn);
    // Whether the orders consumer moved the edit on in the same delivery round before the kill is
    // up to the round (a later consumer may handle an event appended earlier in it): what must
    // hold is the end state after the restart.

    const second = spawnTs(node, { ...env, MODE: 'run' });
    await second.waitFor('running');
    await eventually(async () => (await order()).pending_edit === null && (await order()).last_edit !== null, 'the item edit ended after the restart', 30_000);
    await untilSettled(db, businessConsumers());
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    const ended = await order();
    expect([Number(ended.total_amount), JSON.parse(ended.last_edit as string).outcome]).toEqual(applied ? [7500, 'applied'] : [2500, 'rejected']);
    const count = async (type: string) => Number((await db.selectFrom('events').select((eb) => eb.fn.countAll().as('n')).where('event_type', '=', type).executeTakeFirstOrThrow()).n);
    expect(await count(applied ? 'OrderUpdated' : 'OrderEditRejected')).toBe(1);
    // The placement charged once; the edit's difference at most once (succeeded only when it applied).
    const charges = await db.selectFrom('payment_gateway_charges').selectAll().where('operation', '=', 'charge').where('reference', '=', placed as string).execute();
    const placementFirst = (c: Record<string, unknown>) => (c.idempotency_key === placed ? 0 : 1);
    expect(charges.sort((x, y) => placementFirst(x) - placementFirst(y)).map((c) => [c.idempotency_key, Number(c.amount), c.outcome])).toEqual([
      [placed, 2500, 'succeeded'],
      [expect.stringMatching(/^edit:/), 5000, applied ? 'succeeded' : 'declined'],
    ]);
    // 10 on hand: 1 shipped at first, 2 more when the edit applied; nothing left reserved or held.
    const widget = await db.selectFrom('inventory_products').selectAll().where('product_id', '=', 'widget').executeTakeFirstOrThrow();
    expect([Number(widget.on_hand), Number(widget.reserved)]).toEqual(applied ? [7, 0] : [9, 0]);
    const shipment = await db.selectFrom('shipments').selectAll().where('shipment_id', '=', shipmentId as string).executeTakeFirstOrThrow();
    expect(JSON.parse(shipment.items as string)).toEqual([{ productId: 'widget', quantity: applied ? 3 : 1 }]);
    expect(await violations()).toEqual([]);
  });

  it('a saga deadline set before a SIGKILL still fires after the restart', async () => {
    const env = { DATABASE_URL: scratch.url, SAGA_TIMEOUT_MS: '1500', LOG_LEVEL: 'error' };
    // The process kills itself right after placing: the deadline cannot pass before the crash.
    const first = spawnTs(node, { ...env, MODE: 'place', TOKEN: 'tok_timeout', CRASH_ON: 'placed' });
    const { placed } = await first.waitFor('placed');
    expect((await first.exited).signal).toBe('SIGKILL');

    storage = await scratch.open();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const db = storage.db as Kysely<any>;
    const order = async () => db.selectFrom('orders').selectAll().where('order_id', '=', placed as string).executeTakeFirst();
    expect((await order())?.status).not.toBe('CANCELLED');

    const second = spawnTs(node, { ...env, MODE: 'run' });
    await second.waitFor('running');
    await eventually(async () => (await order())?.status === 'CANCELLED', 'the deadline to cancel the order', 30_000);
    // CANCELLED is the orders consumer's view: inventory releases the stock on OrderCancelled on its own time.
    await untilSettled(db, businessConsumers());
    expect(await second.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect((await db.selectFrom('events').select('payload').where('event_type', '=', 'OrderCancelled').executeTakeFirstOrThrow()).payload).toContain('"reason":"timeout"');
    const widget = await db.selectFrom('inventory_products').selectAll().where('product_id', '=', 'widget').executeTakeFirstOrThrow();
    expect(Number(widget.reserved)).toBe(0);
    expect(await violations()).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventEnvelope } from '../../src/kernel/envelope.js';
import { address, createFlowHarness, type FlowHarness } from '../flows/harness.js';
import { createScratchDatabase, dialects } from '../support/databases.js';
import { eventually } from '../support/kernel-test-module.js';
import { runCli, spawnCli } from './cli.js';

describe.each(dialects)('orderflow commands on %s', (dialect) => {
  let h: FlowHarness;
  let env: Record<string, string>;

  beforeAll(async () => {
    // The test process plays the running server: every module on the scratch database the CLI is pointed at.
    h = await createFlowHarness(dialect);
    env = { DATABASE_URL: h.scratch.url };
    await h.apis.inventory.createProduct({ productId: 'widget', name: 'Widget', price: 2500, stock: 100 });
  });
  afterAll(async () => {
    await h?.close();
  });

  const place = (token = 'tok_visa', quantity = 1) =>
    h.apis.orders.placeOrder({ customerId: 'customer-1', items: [{ productId: 'widget', quantity }], shippingAddress: address, paymentMethod: { token } });
  const jsonLines = (text: string) => text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as EventEnvelope);

  it('seed-demo creates the demo products once; a second run skips them all', async () => {
    const scratch = await createScratchDatabase(dialect);
    try {
      const first = await runCli(['seed-demo'], { DATABASE_URL: scratch.url });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('5 demo products created, 0 already there');
      expect(first.stdout).toMatch(/created\s+product-001\s+Noise-cancelling headphones\s+USD 99\.99\s+stock 100/);
      const second = await runCli(['seed-demo'], { DATABASE_URL: scratch.url });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toContain('0 demo products created, 5 already there');
      expect(second.stdout).not.toContain('created  ');
      const storage = await scratch.open();
      try {
        const rows = await storage.db.selectFrom('inventory_products').select(['product_id', 'on_hand']).orderBy('product_id').execute();
        expect(rows.map((r) => r.product_id)).toEqual(['product-001', 'product-002', 'product-003', 'product-004', 'product-005']);
        expect(Number(rows[0]!.on_hand)).toBe(100);
      } finally {
        await storage.close();
      }
    } finally {
      await scratch.drop();
    }
  });

  it('events prints an order\u2019s flow in log order, as lines or as JSON', async () => {
    const order = await place();
    await eventually(async () => (await h.apis.orders.getOrder(order.orderId))?.status === 'SHIPPED', 'the order to ship');
    await h.settle();
    const logged = (await h.engine.log.query({ correlationId: order.correlationId, limit: 1000 })).events;

    const [json, text] = await Promise.all([runCli(['events', '--correlation', order.correlationId, '--json'], env), runCli(['events', '--correlation', order.correlationId], env)]);
    expect(json.code, json.stderr).toBe(0);
    expect(jsonLines(json.stdout)).toEqual(logged);
    expect(logged.map((e) => e.eventType)).toEqual(expect.arrayContaining(['OrderPlaced', 'InventoryReserved', 'OrderConfirmed', 'PaymentProcessed', 'OrderPaid', 'ShipmentCreated', 'OrderShipped']));

    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(logged.length);
    lines.forEach((line, i) => {
      const e = logged[i]!;
      expect(line).toMatch(new RegExp(`^#${e.sequence}\\s+${e.occurredAt}\\s+${e.eventType}\\s+${e.aggregateType}/${e.aggregateId}\\s+${e.correlationId}$`));
    });
  });

  it('events filters by type and aggregate, pages with --after and --limit, and says where more start', async () => {
    const second = await place();
    await h.settle();
    const placed = (await h.engine.log.query({ eventType: 'OrderPlaced', limit: 1000 })).events;
    expect(placed.length).toBeGreaterThanOrEqual(2);

    const [first, rest, ofAggregate, badLimit] = await Promise.all([
      runCli(['events', '--type', 'OrderPlaced', '--limit', '1', '--json'], env),
      runCli(['events', '--type', 'OrderPlaced', '--after', String(placed[0]!.sequence), '--json'], env),
      runCli(['events', '--aggregate', second.orderId, '--json'], env),
      runCli(['events', '--limit', '0'], env),
    ]);
    expect(first.code, first.stderr).toBe(0);
    expect(jsonLines(first.stdout).map((e) => e.eventId)).toEqual([placed[0]!.eventId]);
    expect(first.stderr).toContain(`more events: add --after ${placed[0]!.sequence}`);

    expect(jsonLines(rest.stdout).map((e) => e.eventId)).toEqual(placed.slice(1).map((e) => e.eventId));
    expect(rest.stderr).toBe('');

    const events = jsonLines(ofAggregate.stdout);
    expect(events.length).toBeGreaterThan(3);
    expect(events.every((e) => e.aggregateId === second.orderId)).toBe(true);

    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain('--limit must be an integer from 1');
  });

  it('events --follow prints new events as they are appended and stops on Ctrl-C', async () => {
    const follower = spawnCli(['events', '--follow', '--type', 'OrderPlaced'], env);
    try {
      await follower.waitFor(/following events after #\d+/, 'stderr');
      const order = await place();
      await follower.waitFor(new RegExp(`OrderPlaced\\s+Order/${order.orderId}`));
      expect(follower.stdout().trimEnd().split('\n')).toHaveLength(1);
    } finally {
      expect(await follower.stop('SIGINT')).toBe(0);
    }
  });

  it('replay rebuilds the same statistics, also after the stats tables were emptied by hand', async () => {
    await place('tok_chargeDeclined');
    await place('tok_visa', 3);
    await h.settle();
    const before = await h.apis.stats.getStats();
    expect(before.ordersPlaced).toBeGreaterThanOrEqual(5);

    const replayed = await runCli(['replay'], env);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(/^rebuilt stats from \d+ events, up to log position #\d+/);
    expect(replayed.stdout).toContain(`orders placed   ${before.ordersPlaced}`);
    expect(await h.apis.stats.getStats()).toEqual(before);

    await h.db.deleteFrom('stats_counters').execute();
    await h.db.deleteFrom('stats_orders').execute();
    expect((await h.apis.stats.getStats()).ordersPlaced).toBe(0);
    const restored = await runCli(['replay', 'stats'], env);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await h.apis.stats.getStats()).toEqual(before);

    // The running consumer carries on from the replayed position without counting anything twice.
    await place();
    await h.settle();
    const after = await h.apis.stats.getStats();
    expect(after.ordersPlaced).toBe(before.ordersPlaced + 1);
    expect(after.byStatus).toEqual(await h.apis.orders.countByStatus());

    expect((await runCli(['replay', 'orders'], env)).code).toBe(2);
  });

  it('dlq list says when there is nothing; retry and discard resolve dead letters, refusing unknown ids', async () => {
    const [empty, emptyJson] = await Promise.all([runCli(['dlq', 'list'], env), runCli(['dlq', 'list', '--json'], env)]);
    expect(empty).toMatchObject({ code: 0, stdout: 'no open (dead or retrying) dead letters\n' });
    expect(emptyJson).toMatchObject({ code: 0, stdout: '' });

    // An OrderPlaced that fails its schema is dead-lettered at once by each consumer of OrderPlaced.
    await h.engine.unitOfWork.run('orders', async (tx) => {
      tx.emit({ eventType: 'OrderPlaced', aggregateType: 'Order', aggregateId: 'broken-order', correlationId: 'broken-flow', payload: { orderId: 'broken-order' } });
    });
    await eventually(async () => (await h.engine.deadLetters.list({ status: 'dead' })).length === 3, 'three dead letters');
    const [listed, text] = await Promise.all([runCli(['dlq', 'list', '--status', 'dead', '--json'], env), runCli(['dlq', 'list'], env)]);
    expect(listed.code, listed.stderr).toBe(0);
    const letters = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; consumer: string; status: string });
    expect(letters.map((l) => l.consumer).sort()).toEqual(['inventory', 'stats', 'webhooks']);
    expect(text.stdout).toContain('broken-order');
    expect(text.stdout).toContain('schema: payload');

    const [inventoryLetter, statsLetter] = [letters.find((l) => l.consumer === 'inventory')!, letters.find((l) => l.consumer === 'stats')!];
    const discarded = await runCli(['dlq', 'discard', inventoryLetter.id], env);
    expect(discarded.code, discarded.stderr).toBe(0);
    expect(discarded.stdout).toContain(`dead letter ${inventoryLetter.id}`);
    expect((await h.engine.deadLetters.get(inventoryLetter.id)).status).toBe('discarded');

    const retried = await runCli(['dlq', 'retry', statsLetter.id], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('timer worker');
    // The "server" (this process) makes the new attempts; a schema failure is dead again at once.
    await eventually(async () => {
      const letter = await h.engine.deadLetters.get(statsLetter.id);
      return letter.status === 'dead' && letter.history.length > 1;
    }, 'the retried dead letter to fail again');

    const [unknown, badStatus, noId] = await Promise.all([runCli(['dlq', 'retry', 'no-such-id'], env), runCli(['dlq', 'list', '--status', 'lost'], env), runCli(['dlq', 'retry'], env)]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('orderflow: no dead letter no-such-id\n');
    expect(badStatus.code).toBe(2);
    expect(noId.code).toBe(2);

    // Leave nothing open for the next suites' invariant checks.
    await h.engine.deadLetters.discard(statsLetter.id);
    await h.engine.deadLetters.discard(letters.find((l) => l.consumer === 'webhooks')!.id);
  });
});

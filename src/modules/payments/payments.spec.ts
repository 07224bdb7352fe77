import type { Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { dialects, createScratchDatabase, type ScratchDatabase } from '../../../test/support/databases.js';
import { eventually } from '../../../test/support/kernel-test-module.js';
import { manualClock } from '../../kernel/clock.js';
import type { EventEnvelope } from '../../kernel/envelope.js';
import { createEngine, type Engine } from '../../platform/engine.js';
import type { Storage } from '../../platform/storage/database.js';
import { createPaymentsModule, type PaymentsApi, type PaymentsOptions } from './index.js';
import { findPaymentByOrder, savePayment } from './storage/payment-repository.js';
import type { PaymentsDb } from './storage/tables.js';

describe.each(dialects)('payments module on %s', (dialect) => {
  let scratch: ScratchDatabase | undefined;
  let storage: Storage;
  let engine: Engine;
  let payments: PaymentsApi;
  const clock = manualClock(Date.UTC(2026, 2, 1));

  async function start(options: Partial<PaymentsOptions> = {}): Promise<void> {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    const module = createPaymentsModule({ successRate: 1, latencyMs: 0, ...options });
    engine = createEngine({ storage, modules: [module], pollMs: 20, clock });
    await engine.migrate();
    await engine.start();
    payments = module.connect(engine.runtime);
  }

  afterEach(async () => {
    if (!scratch) return;
    await engine.stop();
    await storage.close();
    await scratch.drop();
    scratch = undefined;
  });

  const flow = (orderId: string) => `flow-${orderId}`;

  function confirm(orderId: string, paymentToken: string | null): Promise<EventEnvelope> {
    return engine.unitOfWork.run('orders', async (tx) =>
      tx.emit({
        eventType: 'OrderConfirmed',
        aggregateType: 'Order',
        aggregateId: orderId,
        correlationId: flow(orderId),
        payload: { orderId, totalAmount: 19_998, currency: 'USD', customerId: 'customer-1', paymentToken },
      }),
    );
  }

  function cancel(orderId: string, reason = 'customer request'): Promise<EventEnvelope> {
    return engine.unitOfWork.run('orders', async (tx) =>
      tx.emit({ eventType: 'OrderCancelled', aggregateType: 'Order', aggregateId: orderId, correlationId: flow(orderId), payload: { orderId, reason, refundRequired: true } }),
    );
  }

  /** The payments events of the order's flow, in log order. */
  async function paymentEvents(orderId: string): Promise<EventEnvelope[]> {
    const { events } = await engine.log.query({ correlationId: flow(orderId), limit: 1000 });
    return events.filter((e) => e.source === 'payments');
  }

  const waitFor = (orderId: string, types: string[], what: string) =>
    eventually(async () => (await paymentEvents(orderId)).map((e) => e.eventType).join() === types.join(), what);

  /** True once the payments consumer has handled (committed) the event. */
  async function handled(event: EventEnvelope): Promise<boolean> {
    const row = await (storage.db as Kysely<{ inbox: { consumer: string; event_id: string } }>)
      .selectFrom('inbox')
      .select('event_id')
      .where('consumer', '=', 'payments')
      .where('event_id', '=', event.eventId)
      .executeTakeFirst();
    return row !== undefined;
  }

  it('charges tok_visa once and publishes PaymentProcessed on the Payment aggregate', async () => {
    await start();
    const confirmed = await confirm('order-1', 'tok_visa');
    await waitFor('order-1', ['PaymentProcessed'], 'PaymentProcessed');
    const [processed] = await paymentEvents('order-1');
    const payment = await payments.getPaymentForOrder('order-1');
    expect(payment).toMatchObject({ orderId: 'order-1', status: 'succeeded', amount: 19_998, currency: 'USD', reason: null, refundedAt: null });
    expect(processed).toMatchObject({
      aggregateType: 'Payment',
      aggregateId: payment!.paymentId,
      correlationId: flow('order-1'),
      causationId: confirmed.eventId,
      payload: { orderId: 'order-1', paymentId: payment!.paymentId, amount: 19_998, currency: 'USD' },
    });
    expect(await payments.getPayment(payment!.paymentId)).toEqual(payment);
    expect(await payments.chargesForOrder('order-1')).toBe(1);
  });

  it('publishes PaymentFailed with the decline reason for tok_chargeDeclined', async () => {
    await start();
    await confirm('order-2', 'tok_chargeDeclined');
    await waitFor('order-2', ['PaymentFailed'], 'PaymentFailed');
    const payment = await payments.getPaymentForOrder('order-2');
    expect(payment).toMatchObject({ status: 'failed', reason: 'card_declined' });
    expect((await paymentEvents('order-2'))[0]).toMatchObject({ aggregateId: payment!.paymentId, payload: { orderId: 'order-2', reason: 'card_declined', paymentId: payment!.paymentId } });
    expect(await payments.chargesForOrder('order-2')).toBe(0);
  });

  it('uses the success rate when there is no token', async () => {
    await start({ successRate: 0 });
    await confirm('order-3', null);
    await waitFor('order-3', ['PaymentFailed'], 'PaymentFailed without a token at success rate 0');
    expect(await payments.chargesForOrder('order-3')).toBe(0);
  });

  it('charges an order once when OrderConfirmed is delivered again or published twice', async () => {
    await start();
    const first = await confirm('order-4', 'tok_visa');
    await waitFor('order-4', ['PaymentProcessed'], 'PaymentProcessed');
    // The same envelope again (a broker redelivering), then a second OrderConfirmed with another event id.
    const again = await engine.dispatcher.deliver('payments', [first]);
    expect(again.outcomes).toEqual(['duplicate']);
    const second = await confirm('order-4', 'tok_visa');
    await eventually(() => handled(second), 'the second OrderConfirmed');
    expect((await paymentEvents('order-4')).map((e) => e.eventType)).toEqual(['PaymentProcessed']);
    expect(await payments.chargesForOrder('order-4')).toBe(1);
  });

  function orderEvent(orderId: string, eventType: 'OrderEditPaymentRequested' | 'OrderEditRejected' | 'OrderUpdated', payload: Record<string, unknown>): Promise<EventEnvelope> {
    return engine.unitOfWork.run('orders', async (tx) => tx.emit({ eventType, aggregateType: 'Order', aggregateId: orderId, correlationId: flow(orderId), payload: { orderId, ...payload } }));
  }

  it('charges an item edit\u2019s rise once as a charge of its own, and refunds that charge (not the placement\u2019s) when the edit is rejected after it', async () => {
    await start();
    await confirm('order-e', 'tok_visa');
    await waitFor('order-e', ['PaymentProcessed'], 'PaymentProcessed');
    const requested = await orderEvent('order-e', 'OrderEditPaymentRequested', { editId: 'edit-1', amount: 500, currency: 'USD', paymentToken: 'tok_visa' });
    await waitFor('order-e', ['PaymentProcessed', 'PaymentEditCharged'], 'PaymentEditCharged');
    expect(await engine.dispatcher.deliver('payments', [requested])).toMatchObject({ outcomes: ['duplicate'] });
    expect((await payments.getPaymentForOrder('order-e'))?.amount).toBe(20_498);
    expect([await payments.chargesForOrder('order-e'), await payments.editChargesForOrder('order-e')]).toEqual([1, 1]);

    // The shipment left while the edit was charged: orders rejects it, payments gives the edit's charge back.
    await orderEvent('order-e', 'OrderEditRejected', { editId: 'edit-1', reason: 'the shipment was dispatched before the edit completed', refundCharge: true });
    await waitFor('order-e', ['PaymentProcessed', 'PaymentEditCharged', 'PaymentPartiallyRefunded'], 'the edit\u2019s charge refunded');
    expect((await paymentEvents('order-e'))[2]?.payload).toMatchObject({ amount: 500, refundedTotal: 500, editId: 'edit-1' });
    const refunds = await (storage.db as Kysely<{ payment_gateway_charges: { charge_key: string | null; amount: number; operation: string } }>)
      .selectFrom('payment_gateway_charges')
      .select(['charge_key', 'amount'])
      .where('operation', '=', 'refund')
      .execute();
    expect(refunds.map((r) => [r.charge_key, Number(r.amount)])).toEqual([['edit:edit-1', 500]]);
    expect(await payments.refundedAmountForOrder('order-e')).toBe(500);
  });

  it('refunds a lower total after an item edit applied, and refuses nothing more than was charged', async () => {
    await start();
    await confirm('order-f', 'tok_visa');
    await waitFor('order-f', ['PaymentProcessed'], 'PaymentProcessed');
    const lower = { editId: 'edit-2', changes: { items: { added: [], removed: [], modified: [{ productId: 'p', oldQuantity: 2, newQuantity: 1 }] }, totalAmount: { old: 19_998, new: 9_999 } } };
    await orderEvent('order-f', 'OrderUpdated', lower);
    await waitFor('order-f', ['PaymentProcessed', 'PaymentPartiallyRefunded'], 'the difference refunded');
    expect((await paymentEvents('order-f'))[1]?.payload).toMatchObject({ amount: 9_999, refundedTotal: 9_999, editId: 'edit-2' });
    // Cancelled afterwards: what is left of the charge, not the whole of it.
    await cancel('order-f');
    await waitFor('order-f', ['PaymentProcessed', 'PaymentPartiallyRefunded', 'PaymentRefunded'], 'PaymentRefunded');
    expect((await paymentEvents('order-f'))[2]?.payload).toMatchObject({ amount: 9_999 });
    expect(await payments.refundedAmountForOrder('order-f')).toBe(19_998);
  });

  it('refunds a succeeded payment once when its order is cancelled, however often', async () => {
    await start();
    await confirm('order-5', 'tok_visa');
    await waitFor('order-5', ['PaymentProcessed'], 'PaymentProcessed');
    await cancel('order-5');
    const again = await cancel('order-5', 'admin cancel');
    await eventually(() => handled(again), 'the second OrderCancelled');
    await waitFor('order-5', ['PaymentProcessed', 'PaymentRefunded'], 'PaymentRefunded');
    const payment = await payments.getPaymentForOrder('order-5');
    expect(payment).toMatchObject({ status: 'refunded', refundedAt: expect.any(String) });
    expect((await paymentEvents('order-5'))[1]).toMatchObject({ aggregateId: payment!.paymentId, payload: { orderId: 'order-5', paymentId: payment!.paymentId, amount: 19_998 } });
    expect(await payments.refundsForOrder('order-5')).toBe(1);
    expect(await payments.chargesForOrder('order-5')).toBe(1);
  });

  it('applies the answer after the latency, and refunds a payment that succeeds after its order was cancelled', async () => {
    await start({ latencyMs: 5_000 });
    await confirm('order-6', 'tok_visa');
    await eventually(async () => (await payments.getPaymentForOrder('order-6'))?.status === 'pending', 'the pending payment');
    const cancelled = await cancel('order-6', 'timeout');
    await eventually(() => handled(cancelled), 'OrderCancelled');
    // The gateway has not answered yet: nothing was published, nothing refunded.
    expect(await paymentEvents('order-6')).toEqual([]);
    expect((await payments.getPaymentForOrder('order-6'))?.status).toBe('pending');
    clock.advance(5_000);
    await waitFor('order-6', ['PaymentProcessed', 'PaymentRefunded'], 'the late success refunded');
    const events = await paymentEvents('order-6');
    expect(events.every((e) => e.correlationId === flow('order-6'))).toBe(true);
    expect(await payments.getPaymentForOrder('order-6')).toMatchObject({ status: 'refunded' });
    expect(await payments.chargesForOrder('order-6')).toBe(1);
    expect(await payments.refundsForOrder('order-6')).toBe(1);
  });

  it('after the latency, a decline of a cancelled order is just PaymentFailed', async () => {
    await start({ latencyMs: 5_000 });
    await confirm('order-7', 'tok_chargeDeclined');
    await eventually(async () => (await payments.getPaymentForOrder('order-7'))?.status === 'pending', 'the pending payment');
    const cancelled = await cancel('order-7', 'timeout');
    await eventually(() => handled(cancelled), 'OrderCancelled');
    clock.advance(5_000);
    await waitFor('order-7', ['PaymentFailed'], 'PaymentFailed');
    expect(await payments.refundsForOrder('order-7')).toBe(0);
  });

  it('leaves a tok_timeout payment pending without any event, also when the order is cancelled', async () => {
    await start();
    await confirm('order-8', 'tok_timeout');
    const cancelled = await cancel('order-8', 'timeout');
    await eventually(() => handled(cancelled), 'OrderCancelled');
    expect(await payments.getPaymentForOrder('order-8')).toMatchObject({ status: 'pending' });
    expect(await paymentEvents('order-8')).toEqual([]);
    expect(await payments.chargesForOrder('order-8')).toBe(0);
  });

  it('charges nothing when OrderConfirmed comes after OrderCancelled', async () => {
    await start();
    await cancel('order-9');
    const confirmed = await confirm('order-9', 'tok_visa');
    await eventually(() => handled(confirmed), 'OrderConfirmed');
    expect(await payments.getPaymentForOrder('order-9')).toBeUndefined();
    expect(await paymentEvents('order-9')).toEqual([]);
    expect(await payments.chargesForOrder('order-9')).toBe(0);
  });

  it('refuses to write a payment that changed since it was read (another process got there first)', async () => {
    await start();
    await confirm('order-10', 'tok_visa');
    await waitFor('order-10', ['PaymentProcessed'], 'PaymentProcessed');
    const db = engine.runtime.db as Kysely<PaymentsDb>;
    const read = (await findPaymentByOrder(db, 'order-10'))!;
    await savePayment(db, read, { status: 'refunded', refundOnSuccess: false }, clock.now());
    await expect(savePayment(db, read, { status: 'refunded', refundOnSuccess: false }, clock.now())).rejects.toMatchObject({ code: 'PAYMENT_CHANGED_CONCURRENTLY' });
  });
});

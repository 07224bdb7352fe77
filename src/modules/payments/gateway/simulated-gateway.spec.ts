import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, createScratchDatabase, type ScratchDatabase } from '../../../../test/support/databases.js';
import { sequentialIds } from '../../../kernel/ids.js';
import type { Storage } from '../../../platform/storage/database.js';
import { migrate } from '../../../platform/storage/migrations.js';
import { createSimulatedGateway, gatewayMigrations, type GatewayTables, type PaymentGateway } from './simulated-gateway.js';

describe.each(dialects)('simulated gateway on %s', (dialect) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  let db: Kysely<GatewayTables>;
  let draws = 0;
  let gateway: PaymentGateway;

  beforeAll(async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    await migrate(storage, gatewayMigrations);
    db = storage.db as Kysely<GatewayTables>;
    gateway = createSimulatedGateway({ successRate: 0.5, random: () => (draws++ % 2 === 0 ? 0.1 : 0.9), ids: sequentialIds('gw') });
  });
  afterAll(async () => {
    await storage?.close();
    await scratch?.drop();
  });

  // Every call runs in a transaction, as inside a handler.
  const inTx = <T>(work: (call: { db: Kysely<GatewayTables>; now: number }) => Promise<T>) => db.transaction().execute((trx) => work({ db: trx, now: 1000 }));
  const charge = (key: string, token: string | null, amount = 500) => inTx((call) => gateway.charge(call, { idempotencyKey: key, amount, currency: 'EUR', token, reference: key }));
  const refund = (key: string, chargeKey: string, amount = 500) => inTx((call) => gateway.refund(call, { idempotencyKey: key, chargeKey, amount, reference: chargeKey }));

  it('answers a repeated idempotency key with the first answer and charges once', async () => {
    const first = await charge('order-a', null);
    const before = draws;
    const again = await charge('order-a', null);
    expect(again).toEqual(first);
    expect(draws).toBe(before);
    expect(await gateway.countSucceeded(db, 'order-a', 'charge')).toBe(first.status === 'succeeded' ? 1 : 0);
  });

  it('keeps a random decline declined on every repeat', async () => {
    const outcomes = [await charge('order-b', null), await charge('order-c', null)];
    expect(outcomes.map((o) => o.status).sort()).toEqual(['declined', 'succeeded']);
    const declinedKey = outcomes[0]!.status === 'declined' ? 'order-b' : 'order-c';
    expect(await charge(declinedKey, null)).toMatchObject({ status: 'declined', reason: 'card_declined' });
  });

  it('records tok_timeout as never answered, and tok_chargeDeclined as declined', async () => {
    expect(await charge('order-d', 'tok_timeout')).toEqual({ status: 'no_answer' });
    expect(await charge('order-d', 'tok_timeout')).toEqual({ status: 'no_answer' });
    expect(await charge('order-e', 'tok_chargeDeclined')).toMatchObject({ status: 'declined', reason: 'card_declined' });
    expect(await gateway.countSucceeded(db, 'order-d', 'charge')).toBe(0);
  });

  it('refuses an idempotency key reused for a different request', async () => {
    await charge('order-f', 'tok_visa', 500);
    await expect(charge('order-f', 'tok_visa', 700)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('refunds a succeeded charge once, idempotently, and never twice under another key', async () => {
    expect(await charge('order-g', 'tok_visa')).toMatchObject({ status: 'succeeded' });
    const first = await refund('refund-g', 'order-g');
    expect(first).toMatchObject({ status: 'succeeded' });
    expect(await refund('refund-g', 'order-g')).toEqual(first);
    expect(await refund('refund-g-2', 'order-g')).toMatchObject({ status: 'declined', reason: 'charge_already_refunded' });
    expect(await gateway.countSucceeded(db, 'order-g', 'refund')).toBe(1);
  });

  it('takes partial refunds that add up to the charge at most: one over what is left is declined', async () => {
    expect(await charge('order-p', 'tok_visa', 1000)).toMatchObject({ status: 'succeeded' });
    expect(await refund('return-1', 'order-p', 300)).toMatchObject({ status: 'succeeded' });
    expect(await refund('return-2', 'order-p', 600)).toMatchObject({ status: 'succeeded' });
    expect(await gateway.refundedTotal(db, 'order-p')).toBe(900);
    expect(await refund('return-3', 'order-p', 200)).toMatchObject({ status: 'declined', reason: 'amount_too_large' });
    expect(await refund('return-4', 'order-p', 100)).toMatchObject({ status: 'succeeded' });
    expect(await refund('return-5', 'order-p', 1)).toMatchObject({ status: 'declined', reason: 'charge_already_refunded' });
    expect(await gateway.refundedTotal(db, 'order-p')).toBe(1000);
  });

  it('declines refunds of unknown or declined charges', async () => {
    expect(await refund('refund-x', 'order-unknown')).toMatchObject({ status: 'declined', reason: 'charge_not_found' });
    await charge('order-h', 'tok_chargeDeclined');
    expect(await refund('refund-h', 'order-h')).toMatchObject({ status: 'declined', reason: 'charge_not_succeeded' });
  });
});

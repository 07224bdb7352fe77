import type { PayloadOf } from '../../../kernel/catalog.js';
import type { EventEnvelope } from '../../../kernel/envelope.js';
import type { IdGenerator } from '../../../kernel/ids.js';
import type { HandlerContext } from '../../../platform/delivery/consumer.js';
import { startPayment } from '../domain/payment.js';
import type { PaymentGateway } from '../gateway/simulated-gateway.js';
import { insertPayment, paymentAndCancellationOf, stateOf } from '../storage/payment-repository.js';
import type { PaymentRow, PaymentsDb } from '../storage/tables.js';
import { gatewayAnswerPayload } from './on-gateway-answer.js';
import { applyGatewayAnswer, chargeRequestOf, gatewayCall } from './settle-payment.js';

/** OrderConfirmed as Orders publishes it: the catalog's fields plus the card token. */
export type OrderConfirmedPayload = PayloadOf<'OrderConfirmed'> & { customerId?: string; paymentToken?: string | null };

/** The kind of the durable timer that brings the gateway's answer after the simulated latency. */
export const GATEWAY_ANSWER_TIMER = 'payments.gateway-answer';

export interface ChargeDeps {
  gateway: PaymentGateway;
  latencyMs: number;
  ids: IdGenerator;
}

/**
 * OrderConfirmed → one payment per order, charged once with the order id as idempotency key.
 * Without latency the answer is applied here; with latency a durable timer applies it later,
 * so the consumer never waits for the gateway.
 */
export function onOrderConfirmed(deps: ChargeDeps) {
  return async (event: EventEnvelope<OrderConfirmedPayload>, ctx: HandlerContext<PaymentsDb>): Promise<void> => {
    const { orderId, totalAmount, currency } = event.payload;
    const { payment: existing, cancelled } = await paymentAndCancellationOf(ctx.db, orderId);
    const decision = startPayment(existing && stateOf(existing), cancelled);
    if (decision.refused) {
      ctx.log.info({ orderId, code: decision.code }, `OrderConfirmed ignored: ${decision.message}`);
      return;
    }
    const payment: PaymentRow = {
      payment_id: deps.ids.next(),
      order_id: orderId,
      status: decision.state.status,
      amount: totalAmount,
      currency,
      token: event.payload.paymentToken ?? null,
      reason: null,
      refund_on_success: 0,
      version: 1,
      correlation_id: event.correlationId,
      created_at: ctx.now,
      updated_at: ctx.now,
      refunded_at: null,
    };
    if (!(await insertPayment(ctx.db, payment))) {
      ctx.log.info({ orderId }, 'OrderConfirmed ignored: another delivery created the payment first');
      return;
    }
    if (deps.latencyMs <= 0) {
      await applyGatewayAnswer(ctx, deps.gateway, payment, ctx.log, undefined, { insertedHere: true });
      return;
    }
    // The request leaves now; its answer arrives after the latency (asked again by idempotency key).
    await deps.gateway.charge(gatewayCall(ctx), chargeRequestOf(payment));
    await ctx.schedule({
      key: `${GATEWAY_ANSWER_TIMER}:${payment.payment_id}`,
      kind: GATEWAY_ANSWER_TIMER,
      dueAt: ctx.now + deps.latencyMs,
      payload: { ...gatewayAnswerPayload(payment.payment_id, orderId, event) },
    });
  };
}

import type { Kysely } from 'kysely';
import type { Random } from '../../kernel/clock.js';
import { AppError } from '../../kernel/errors.js';
import { uuidGenerator, type IdGenerator } from '../../kernel/ids.js';
import { defineConsumer } from '../../platform/delivery/consumer.js';
import type { EngineModule, ModuleRuntime } from '../../platform/engine.js';
import { createSimulatedGateway } from './gateway/simulated-gateway.js';
import { onGatewayAnswer } from './handlers/on-gateway-answer.js';
import { GATEWAY_ANSWER_TIMER, onOrderConfirmed } from './handlers/on-order-confirmed.js';
import { onOrderCancelled } from './handlers/on-order-cancelled.js';
import { onReturnReceived } from './handlers/on-return-received.js';
import { onEditApplied, onEditPaymentRequested, onEditRejected } from './handlers/item-edits.js';
import { paymentMigrations } from './storage/migrations.js';
import { findPayment, findPaymentByOrder, toPaymentView, type PaymentView } from './storage/payment-repository.js';
import type { PaymentRow, PaymentsDb } from './storage/tables.js';

/** Configuration of the payments module (from PAYMENT_SUCCESS_RATE and PAYMENT_LATENCY_MS). */
export interface PaymentsOptions {
  /** PAYMENT_SUCCESS_RATE: chance (0..1) that a charge without a test token succeeds. */
  successRate: number;
  /** PAYMENT_LATENCY_MS: delay before the gateway's answer is applied; 0 applies it at once. */
  latencyMs: number;
  /** Randomness of the simulated gateway (default Math.random). */
  random?: Random;
  /** Ids of payments and gateway records (default random UUIDs). */
  ids?: IdGenerator;
}

/** Queries of the payments module; they read its own tables only. */
export interface PaymentsApi {
  getPaymentForOrder(orderId: string): Promise<PaymentView | undefined>;
  getPayment(paymentId: string): Promise<PaymentView | undefined>;
  /** Successful charges of the order's placement the gateway recorded (never more than one). */
  chargesForOrder(orderId: string): Promise<number>;
  /** Successful charges of the order's item edits (one per edit that raised the total). */
  editChargesForOrder(orderId: string): Promise<number>;
  /** Successful refunds the gateway recorded for the order. */
  refundsForOrder(orderId: string): Promise<number>;
  /** What the order's charges have been refunded so far (minor units; 0 when nothing). */
  refundedAmountForOrder(orderId: string): Promise<number>;
}

/** The payments module as the engine runs it, plus `connect` for its queries. */
export interface PaymentsModule extends EngineModule {
  connect(runtime: ModuleRuntime): PaymentsApi;
}

/**
 * Builds the payments module: consumer `payments` (OrderConfirmed → charge once → PaymentProcessed |
 * PaymentFailed; OrderCancelled → refund → PaymentRefunded), its tables, its simulated gateway
 * and the `payments.gateway-answer` timer. Throws a validation AppError for bad options.
 */
export function createPaymentsModule(options: PaymentsOptions): PaymentsModule {
  const { successRate, latencyMs } = options;
  if (!(successRate >= 0 && successRate <= 1)) throw new AppError('validation', 'BAD_PAYMENT_SUCCESS_RATE', `successRate ${successRate} must be between 0 and 1`);
  if (!(Number.isInteger(latencyMs) && latencyMs >= 0)) throw new AppError('validation', 'BAD_PAYMENT_LATENCY', `latencyMs ${latencyMs} must be a non-negative integer`);
  const ids = options.ids ?? uuidGenerator;
  const gateway = createSimulatedGateway({ successRate, random: options.random ?? Math.random, ids });
  const consumer = defineConsumer<PaymentsDb>({
    name: 'payments',
    source: 'payments',
    handlers: {
      OrderConfirmed: onOrderConfirmed({ gateway, latencyMs, ids }),
      OrderCancelled: onOrderCancelled({ gateway }),
      ReturnReceived: onReturnReceived({ gateway }),
      OrderEditPaymentRequested: onEditPaymentRequested({ gateway }),
      OrderUpdated: onEditApplied({ gateway }),
      OrderEditRejected: onEditRejected({ gateway }),
    },
  });
  return {
    name: 'payments',
    migrations: paymentMigrations,
    consumers: [consumer],
    // Registered whatever the latency, so answers scheduled before a restart with latency 0 still arrive.
    timers: { [GATEWAY_ANSWER_TIMER]: onGatewayAnswer({ gateway }) },
    connect(runtime) {
      const db = runtime.db as Kysely<PaymentsDb>;
      return {
        getPaymentForOrder: async (orderId) => view(await findPaymentByOrder(db, orderId)),
        getPayment: async (paymentId) => view(await findPayment(db, paymentId)),
        chargesForOrder: async (orderId) => (await gateway.chargesOf(db, orderId)).filter((c) => c.idempotencyKey === orderId).length,
        editChargesForOrder: async (orderId) => (await gateway.chargesOf(db, orderId)).filter((c) => c.idempotencyKey !== orderId).length,
        refundsForOrder: (orderId) => gateway.countSucceeded(db, orderId, 'refund'),
        refundedAmountForOrder: async (orderId) => (await gateway.chargesOf(db, orderId)).reduce((n, c) => n + c.refunded, 0),
      };
    },
  };
}

const view = (row: PaymentRow | undefined): PaymentView | undefined => (row ? toPaymentView(row) : undefined);

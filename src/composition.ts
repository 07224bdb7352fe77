import type { Random } from './kernel/clock.js';
import { DEFAULT_WEBHOOK_SETTINGS, type Config, type ModuleName } from './config.js';
// Not the HTTP layer's index: that loads Fastify and the docs UI, which the embedded delivery
// thread (it composes the modules too) has no use for.
import { DEFAULT_IDEMPOTENCY_TTL_MS, httpMigrations, idempotencyPruning } from './http/idempotency.js';
import type { EngineModule, ModuleRuntime } from './platform/engine.js';
import { createInventoryModule, type InventoryApi } from './modules/inventory/index.js';
import { createOrdersModule, type OrdersApi } from './modules/orders/index.js';
import { createPaymentsModule, type PaymentsApi } from './modules/payments/index.js';
import { createShipmentsModule, type ShipmentsApi } from './modules/shipments/index.js';
import { createStatsModule, type StatsApi } from './modules/stats/index.js';
import { createWebhooksModule, type WebhooksApi } from './modules/webhooks/index.js';

/** The commands and queries of every module, for the HTTP layer, the CLI and the tests. */
export interface ModuleApis {
  orders: OrdersApi;
  inventory: InventoryApi;
  payments: PaymentsApi;
  shipments: ShipmentsApi;
  /** Order statistics, a read model of the log; its consumer runs where `orders` runs. */
  stats: StatsApi;
  /** Webhook endpoints and their deliveries; the fan-out consumer and the sender run where `webhooks` runs. */
  webhooks: WebhooksApi;
}

/** The four business modules and the stats read model, wired to each other only through ports and events. */
export interface BusinessModules {
  /**
   * What the engine of this process runs: every module's migrations (the database is shared),
   * but consumers and timers only of the modules named in `running`.
   */
  engineModules(running: readonly ModuleName[]): EngineModule[];
  /** Commands and queries of all modules; any process may query any module's tables. */
  connect(runtime: ModuleRuntime): ModuleApis;
}

export type ModuleSettings = Pick<Config, 'sagaTimeoutMs' | 'paymentSuccessRate' | 'paymentLatencyMs'> & Partial<Pick<Config, 'idempotencyTtlMs' | 'webhooks' | 'returnWindowMs' | 'shortOrderReviewMs' | 'backorderTimeoutMs'>>;

export interface CompositionOptions {
  random?: Random;
  /** Hears each order saga's duration (ms) and the state it settled in (the saga-duration metric). */
  onSagaSettled?: (durationMs: number, state: string) => void;
}

export function createBusinessModules(settings: ModuleSettings, options: CompositionOptions = {}): BusinessModules {
  let apis: ModuleApis | undefined;
  // Both modules read SHORT_ORDER_REVIEW_MS: inventory holds short orders for review, orders bounds the review.
  const inventory = createInventoryModule({ holdShortOrdersForReview: (settings.shortOrderReviewMs ?? 0) > 0 });
  const orders = createOrdersModule({
    sagaTimeoutMs: settings.sagaTimeoutMs,
    ...(settings.returnWindowMs === undefined ? {} : { returnWindowMs: settings.returnWindowMs }),
    ...(settings.shortOrderReviewMs === undefined ? {} : { shortOrderReviewMs: settings.shortOrderReviewMs }),
    ...(settings.backorderTimeoutMs === undefined ? {} : { backorderTimeoutMs: settings.backorderTimeoutMs }),
    onSagaSettled: options.onSagaSettled,
    // Orders prices an order through inventory's catalog, a query of its public API.
    catalog: {
      quote: (items) => {
        if (!apis) throw new Error('modules are not connected yet');
        return apis.inventory.quote(items);
      },
    },
  });
  const payments = createPaymentsModule({ successRate: settings.paymentSuccessRate, latencyMs: settings.paymentLatencyMs, random: options.random });
  const shipments = createShipmentsModule();
  const stats = createStatsModule();
  const webhooks = createWebhooksModule({ ...(settings.webhooks ?? DEFAULT_WEBHOOK_SETTINGS), random: options.random });
  // Which MODULES entry runs each engine module's consumers. The stats projection is not a
  // MODULES name of its own (SPEC §1 lists them): it goes with `orders`, whose events it reads,
  // so every deployment that handles orders keeps the statistics current.
  const runsWith: readonly [EngineModule, ModuleName][] = [
    [orders, 'orders'],
    [inventory, 'inventory'],
    [payments, 'payments'],
    [shipments, 'shipments'],
    [stats, 'orders'],
    [webhooks, 'webhooks'],
  ];

  return {
    engineModules(running) {
      const business = runsWith.map(([module, name]): EngineModule => {
        const runs = running.includes(name);
        return {
          name: module.name,
          migrations: module.migrations,
          consumers: runs ? module.consumers : [],
          timers: runs ? (module.timers ?? {}) : {},
          workers: runs ? (module.workers ?? []) : [],
          pruning: runs ? (module.pruning ?? []) : [],
        };
      });
      // The HTTP layer's own table (idempotency keys) is created with the rest, wherever it runs;
      // its expired keys are pruned where HTTP runs.
      const pruning = running.includes('http') ? [idempotencyPruning(settings.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS)] : [];
      return [...business, { name: 'http', migrations: httpMigrations, consumers: [], pruning }];
    },
    connect(runtime) {
      apis = {
        orders: orders.connect(runtime),
        inventory: inventory.connect(runtime),
        payments: payments.connect(runtime),
        shipments: shipments.connect(runtime),
        stats: stats.connect(runtime),
        webhooks: webhooks.connect(runtime),
      };
      return apis;
    },
  };
}

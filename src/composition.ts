import type { Random } from './kernel/clock.js';
import type { Config, ModuleName } from './config.js';
import type { EngineModule, ModuleRuntime } from './platform/engine.js';
import { createInventoryModule, type InventoryApi } from './modules/inventory/index.js';
import { createOrdersModule, type OrdersApi } from './modules/orders/index.js';
import { createPaymentsModule, type PaymentsApi } from './modules/payments/index.js';
import { createShipmentsModule, type ShipmentsApi } from './modules/shipments/index.js';

/** The commands and queries of every module, for the HTTP layer, the CLI and the tests. */
export interface ModuleApis {
  orders: OrdersApi;
  inventory: InventoryApi;
  payments: PaymentsApi;
  shipments: ShipmentsApi;
}

/** The four business modules, wired to each other only through ports and events. */
export interface BusinessModules {
  /**
   * What the engine of this process runs: every module's migrations (the database is shared),
   * but consumers and timers only of the modules named in `running`.
   */
  engineModules(running: readonly ModuleName[]): EngineModule[];
  /** Commands and queries of all modules; any process may query any module's tables. */
  connect(runtime: ModuleRuntime): ModuleApis;
}

export type ModuleSettings = Pick<Config, 'sagaTimeoutMs' | 'paymentSuccessRate' | 'paymentLatencyMs'>;

export function createBusinessModules(settings: ModuleSettings, options: { random?: Random } = {}): BusinessModules {
  let apis: ModuleApis | undefined;
  const inventory = createInventoryModule();
  const orders = createOrdersModule({
    sagaTimeoutMs: settings.sagaTimeoutMs,
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
  const byName = { orders, inventory, payments, shipments } as const;

  return {
    engineModules(running) {
      return Object.entries(byName).map(([name, module]): EngineModule => {
        const runs = running.includes(name as ModuleName);
        return { name: module.name, migrations: module.migrations, consumers: runs ? module.consumers : [], timers: runs ? module.timers : {} };
      });
    },
    connect(runtime) {
      apis = {
        orders: orders.connect(runtime),
        inventory: inventory.connect(runtime),
        payments: payments.connect(runtime),
        shipments: shipments.connect(runtime),
      };
      return apis;
    },
  };
}

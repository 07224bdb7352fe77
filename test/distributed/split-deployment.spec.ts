import { describe, expect, it } from 'vitest';
import { natsAvailable } from '../support/transports.js';
import {
  checkEverything,
  createCatalog,
  notableLogLines,
  leaseOwners,
  pidOfOwner,
  placeOrders,
  report,
  until,
  untilQuiet,
} from './support.js';
import { splitDeploymentSuite } from './suite.js';

// In CI a missing NATS fails at the import of transports.ts, and a missing PostgreSQL in createScratchDatabase.
describe.skipIf(!natsAvailable)('a split deployment of 5 processes on PostgreSQL + NATS (issue 5, acceptance 2)', () => {
  const suite = splitDeploymentSuite('split-deployment');

  it('completes 2,000 orders over every flow; invariants hold; both inventory instances work; per-aggregate order holds', () =>
    suite.run(async () => {
      const started = performance.now();
      const deployment = await suite.start();
      const startupMs = performance.now() - started;
      const inspector = await suite.inspect();
      const db = inspector.db;
      const [a, b] = [deployment.member('inventory-a'), deployment.member('inventory-b')];

      // The two inventory instances share the 8 partitions before the load starts (fair share: 4 each).
      await until(async () => {
        const owners = await leaseOwners(db, 'inventory');
        return owners.size === 2 && [...owners.keys()].every((o) => [a.pid, b.pid].includes(pidOfOwner(o))) && [...owners.values()].every((p) => p.length === 4);
      }, 'the inventory partitions to be shared 4 + 4', 60_000);

      await createCatalog(deployment.url);
      const load = await placeOrders({ url: deployment.url, count: 2000, concurrency: 20 }).done;
      expect(load.placed).toHaveLength(2000);
      const quietMs = await untilQuiet(inspector, load.placed.length, { deployment });

      const { violations, figures } = await checkEverything(inspector, deployment.url, load.placed);
      const handled = { [a.spec.name]: a.handled('inventory'), [b.spec.name]: b.handled('inventory') };
      const inventoryRecords = (figures.inbox as Record<string, number>)['inventory:handled'] ?? 0;
      report('split deployment: 2,000 orders through 5 processes', {
        startupMs: Math.round(startupMs),
        placingMs: Math.round(load.durationMs),
        ordersPerSecond: Math.round((load.placed.length / load.durationMs) * 1000),
        quietAfterLastOrderMs: Math.round(quietMs),
        inventoryHandledLinesPerProcess: handled,
        inventoryInboxRecords: inventoryRecords,
        ...figures,
        logged: notableLogLines(deployment),
      });
      expect(violations).toEqual([]);

      // Both instances did work, each about half (4 partitions each). A line is logged when a
      // handler returns, before the commit: a batch that lost a deadlock and ran again logs twice.
      for (const n of Object.values(handled)) expect(n).toBeGreaterThan(inventoryRecords * 0.2);
      expect(handled[a.spec.name]! + handled[b.spec.name]!).toBeGreaterThanOrEqual(inventoryRecords);

      const codes = await deployment.stop();
      expect(codes, 'every process exits 0 on SIGTERM').toEqual({ 'http+orders': 0, 'inventory-a': 0, 'inventory-b': 0, payments: 0, shipments: 0 });
    }), 600_000);
});

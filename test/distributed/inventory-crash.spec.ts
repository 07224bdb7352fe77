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

describe.skipIf(!natsAvailable)('SIGKILL of one inventory instance mid-run (issue 5, acceptance 3)', () => {
  const suite = splitDeploymentSuite('inventory-crash');

  it('the other instance takes its partitions once the leases run out; every order finishes, nothing lost or applied twice', () =>
    suite.run(async () => {
      const deployment = await suite.start();
      const inspector = await suite.inspect();
      const db = inspector.db;
      const [survivor, victim] = [deployment.member('inventory-a'), deployment.member('inventory-b')];
      await until(async () => {
        const owners = await leaseOwners(db, 'inventory');
        return owners.size === 2 && [...owners.values()].every((p) => p.length === 4);
      }, 'the inventory partitions to be shared 4 + 4', 60_000);
      const victimPartitions = [...(await leaseOwners(db, 'inventory')).entries()].find(([owner]) => pidOfOwner(owner) === victim.pid)![1];

      await createCatalog(deployment.url);
      const load = placeOrders({ url: deployment.url, count: 400, concurrency: 20 });
      // Mid-run, with the victim handling its share (it has handled some: the load alone does not say so).
      await until(async () => load.accepted() >= 120 && victim.handled('inventory') > 0, '120 orders to be accepted and the victim to be working', 120_000, 50);
      // No shutdown, no lease given back.
      const victimHandled = victim.handled('inventory');
      const survivorHandledBefore = survivor.handled('inventory');
      const killedAt = performance.now();
      victim.cli.process.kill('SIGKILL');
      expect(await victim.cli.exited).toBeNull();
      const acceptedAtKill = load.accepted();

      // The survivor claims the victim's partitions once their leases expire (8 s without renewal).
      await until(async () => {
        const owners = await leaseOwners(db, 'inventory');
        return owners.size === 1 && pidOfOwner([...owners.keys()][0]!) === survivor.pid && [...owners.values()][0]!.length === 8;
      }, 'the survivor to hold all 8 inventory partitions', 60_000, 100);
      const takeoverMs = performance.now() - killedAt;
      const claimedLines = () =>
        survivor
          .cli.stdout()
          .split('\n')
          .filter((line) => line.includes('"msg":"partition claimed"') && line.includes('"consumer":"inventory"') && line.includes(`:${victim.pid}:`))
          .map((line) => (JSON.parse(line) as { partition: number }).partition)
          .sort((x, y) => x - y);
      // The database shows a claim before the survivor's log line about it has come through the pipe.
      await until(async () => claimedLines().length >= victimPartitions.length, "the survivor's log lines of its claims", 10_000, 50).catch(() => undefined);
      const claimed = claimedLines();

      const result = await load.done;
      expect(result.placed).toHaveLength(400);
      const quietMs = await untilQuiet(inspector, result.placed.length, { deployment });
      const { violations, figures } = await checkEverything(inspector, deployment.url, result.placed);
      report('SIGKILL of inventory-b mid-run: 400 orders', {
        killedAfterAcceptedOrders: acceptedAtKill,
        victimPartitions,
        victimHandledLinesBeforeKill: victimHandled,
        survivorClaimedFromVictim: claimed,
        takeoverMs: Math.round(takeoverMs),
        survivorHandledLinesAfterKill: survivor.handled('inventory') - survivorHandledBefore,
        placingMs: Math.round(result.durationMs),
        quietAfterLastOrderMs: Math.round(quietMs),
        ...figures,
        logged: notableLogLines(deployment),
      });
      expect(violations).toEqual([]);
      expect(claimed, 'the survivor took exactly the victim’s partitions from it').toEqual(victimPartitions);
      // The lease TTL is 8 s, renewed every 2 s: the takeover comes after it, not before.
      expect(takeoverMs).toBeGreaterThan(5000);

      const codes = await deployment.stop();
      expect(codes).toEqual({ 'http+orders': 0, 'inventory-a': 0, 'inventory-b': null, payments: 0, shipments: 0 });
    }), 600_000);
});

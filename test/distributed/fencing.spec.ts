// Issue 16, acceptance 3: a consumer process paused (SIGSTOP) inside a delivery transaction
// for longer than its partition lease, while another process takes its partitions, then
// resumed (SIGCONT). It must commit nothing for the partitions it no longer holds, and no
// event may be applied twice.
//
// To pause it inside the transaction, not at some random moment: the test locks the payments
// table, so the paused process's payments handler waits in its insert, the delivery
// transaction open (its checkpoint row locked); then the process is stopped and the lock let go.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../cli/cli.js';
import { natsAvailable, natsUrl } from '../support/transports.js';
import {
  adminToken,
  call,
  checkEverything,
  createCatalog,
  JWT_SECRET,
  leaseOwners,
  pidOfOwner,
  placeOrders,
  report,
  until,
  untilQuiet,
  type PlacedOrder,
} from './support.js';
import { splitDeploymentSuite } from './suite.js';

const ADDRESS = { street: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' };

describe.skipIf(!natsAvailable)('fencing: a payments process paused past its lease inside a delivery transaction (issue 16)', () => {
  const suite = splitDeploymentSuite('fencing');

  it('resumed after another process took its partitions, it commits nothing for them; the new owner applies the event, once', () =>
    suite.run(async () => {
      const deployment = await suite.start({
        specs: [
          { name: 'http+orders', modules: 'http,orders' },
          { name: 'inventory', modules: 'inventory' },
          { name: 'shipments', modules: 'shipments' },
          { name: 'payments-a', modules: 'payments' },
        ],
      });
      const inspector = await suite.inspect();
      const db = inspector.db;
      const url = deployment.url;
      const paused = deployment.member('payments-a');
      await until(async () => [...(await leaseOwners(db, 'payments')).values()].some((p) => p.length === 8), 'payments-a to hold the 8 payments partitions', 60_000);
      await createCatalog(url);

      // payments-a's handler waits in its insert, inside the delivery transaction.
      const locker = new pg.Client({ connectionString: suite.databaseUrl });
      let lockHeld = true;
      suite.beforeStop(() => lockHeld && locker.end().catch(() => undefined));
      await locker.connect();
      await locker.query('begin');
      await locker.query('lock table payments in exclusive mode');
      const placed = await call(url, 'POST', '/orders', adminToken, { customerId: 'customer-f', items: [{ productId: 'plenty-1', quantity: 1 }], shippingAddress: ADDRESS, paymentMethod: { token: 'tok_visa' } });
      expect(placed.status).toBe(201);
      const orderId = placed.body.orderId as string;
      // Some connection of the deployment waits for a lock in a statement matching `pattern`.
      const admin = new pg.Client({ connectionString: suite.databaseUrl });
      await admin.connect();
      const waitingOn = async (pattern: string) =>
        Number((await admin.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query ~* $1`, [pattern])).rows[0].n) > 0;
      await until(() => waitingOn('insert into "?payments"? '), "payments-a's handler to wait for the payments table", 60_000, 50);

      paused.cli.process.kill('SIGSTOP');
      suite.beforeStop(() => paused.alive() && paused.cli.process.kill('SIGCONT'));
      const stoppedAt = Date.now();
      await locker.query('rollback');
      await locker.end();
      lockHeld = false;

      // Another payments process takes every partition once payments-a's leases ran out.
      const takeover = spawnCli(['start'], {
        DATABASE_URL: suite.databaseUrl, NATS_URL: natsUrl, NATS_STREAM: suite.stream, JWT_SECRET, MODULES: 'payments', PORT: undefined,
        ORDER_RATE_LIMIT: '0', SAGA_TIMEOUT_MS: '180000', LOG_LEVEL: 'info',
      });
      suite.beforeStop(() => takeover.stop('SIGTERM'));
      await takeover.waitFor(/"msg":"orderflow started"/, 'stdout', 60_000);
      const takeoverPid = takeover.process.pid!;
      await until(async () => {
        const owners = await leaseOwners(db, 'payments');
        return owners.size === 1 && pidOfOwner([...owners.keys()][0]!) === takeoverPid && [...owners.values()][0]!.length === 8;
      }, 'the new process to hold every payments partition', 60_000, 100);
      // payments-a's leases ran out (TTL 8 s after its last renewal, up to 2 s before the pause).
      const movedAt = Date.now();
      // The new owner's delivery of the order's partition waits for the checkpoint row the paused transaction holds (when the broker redelivered it already).
      const ownerBlocked = await until(() => waitingOn('from "?consumer_checkpoints"? .* for update'), 'the new owner to wait for the checkpoint row', 20_000, 100).then(() => true, () => false);

      await admin.end();
      paused.cli.process.kill('SIGCONT');
      const resumedAt = Date.now();
      // More orders after the resume: both processes share the work again.
      const after = await placeOrders({ url, count: 40, from: 1000, concurrency: 5 }).done;
      const all: PlacedOrder[] = [{ index: -1, orderId, plan: 'visa', token: adminToken }, ...after.placed];
      const quietMs = await untilQuiet(inspector, all.length, { timeoutMs: 120_000 });
      const { violations, figures } = await checkEverything(inspector, url, all);

      const confirmed = await db.selectFrom('events').select('event_id').where('event_type', '=', 'OrderConfirmed').where('aggregate_id', '=', orderId).executeTakeFirstOrThrow();
      const handled = await db.selectFrom('inbox').select(['handled_at']).where('consumer', '=', 'payments').where('event_id', '=', confirmed.event_id).executeTakeFirstOrThrow();
      const handledAt = Number(handled.handled_at);
      report('fencing: payments-a paused inside a delivery transaction', {
        pausedMs: resumedAt - stoppedAt,
        leaseMovedAfterMs: movedAt - stoppedAt,
        newOwnerWaitedForTheCheckpoint: ownerBlocked,
        orderConfirmedCommittedBy: handledAt < stoppedAt ? 'the paused process (its transaction began before the pause)' : 'the new owner',
        quietAfterResumeMs: Math.round(quietMs),
        ...figures,
      });
      // The paused transaction began before the pause: had it committed, its handled_at would be older than the pause.
      expect(handledAt, 'the OrderConfirmed was committed by the paused process after it lost the partition').toBeGreaterThanOrEqual(stoppedAt);
      expect(violations).toEqual([]);
      expect(paused.alive(), 'payments-a keeps running after its resume').toBe(true);
      expect(after.placed).toHaveLength(40);
    }), 600_000);
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { eventVersions } from '../../src/kernel/catalog.js';
import type { EventContracts } from '../../src/kernel/contracts.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const committed = JSON.parse(readFileSync(join(repo, 'contracts/events.json'), 'utf8')) as EventContracts;
const dir = mkdtempSync(join(tmpdir(), 'orderflow-contracts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `npm run contracts` against the committed snapshot, or against one changed by `edit`. */
function contracts(edit?: (snapshot: EventContracts) => void): { status: number | null; out: string } {
  const args = ['tsx', 'scripts/contracts.ts'];
  if (edit) {
    const snapshot = structuredClone(committed);
    edit(snapshot);
    const file = join(dir, `snapshot-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(snapshot));
    args.push('--snapshot', file);
  }
  const run = spawnSync('npx', args, { cwd: repo, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

// The snapshot is what consumers rely on; the code is compared with it. Each case below edits
// the snapshot so that today's code looks like the breaking change (e.g. a field the snapshot
// has and the code lacks is a field the code removed).
describe('npm run contracts: the event schemas against the committed snapshot', () => {
  it('passes on main', () => {
    const { status, out } = contracts();
    const types = Object.keys(eventVersions).length;
    const versions = Object.values(eventVersions).reduce((n, byVersion) => n + Object.keys(byVersion).length, 0);
    expect(versions).toBeGreaterThan(types);
    expect(out).toContain(`contracts: ${types} event types, ${versions} versions, no breaking change`);
    expect(status).toBe(0);
  });

  it('fails on a field removed, naming the event and the field', () => {
    const { status, out } = contracts((s) => {
      s.OrderPlaced!['1']!.properties!.giftWrap = { type: 'boolean' };
    });
    expect(status).toBe(1);
    expect(out).toContain('field removed: OrderPlaced v1: giftWrap: field removed');
  });

  it('fails on a field retyped', () => {
    const { status, out } = contracts((s) => {
      s.PaymentProcessed!['1']!.properties!.amount = { type: 'string' };
    });
    expect(status).toBe(1);
    expect(out).toContain('field retyped: PaymentProcessed v1: amount: type string became integer');
  });

  it('fails on a new required field, and on an optional field made required', () => {
    const { status, out } = contracts((s) => {
      const shipped = s.OrderShipped!['1']!;
      delete shipped.properties!.trackingNumber;
      shipped.required = shipped.required!.filter((f) => f !== 'trackingNumber');
      const cancelled = s.OrderCancelled!['1']!;
      cancelled.required = cancelled.required!.filter((f) => f !== 'refundRequired');
    });
    expect(status).toBe(1);
    expect(out).toContain('new required field: OrderShipped v1: trackingNumber: new required field');
    expect(out).toContain('new required field: OrderCancelled v1: refundRequired: optional field became required');
  });

  // No catalog payload has an enum today, so the removal of a value is shown by the unit tests
  // (src/kernel/contracts.unit.spec.ts); here, the opposite: an enum widened to any value passes.
  it('passes an enum widened to any value of its type', () => {
    const { status, out } = contracts((s) => {
      const reason = s.StockAdjusted!['1']!.properties!.reason!;
      s.StockAdjusted!['1']!.properties!.reason = { ...reason, enum: ['restock', 'sale'] };
    });
    expect(out).not.toContain('enum value removed');
    expect(status).toBe(0);
  });

  it('fails on an event type or a version gone', () => {
    const gone = contracts((s) => {
      s.OrderTeleported = { 1: { type: 'object' } };
      s.OrderPlaced!['3'] = s.OrderPlaced!['2']!;
    });
    expect(gone.status).toBe(1);
    expect(gone.out).toContain('event removed: OrderTeleported');
    expect(gone.out).toContain('version removed: OrderPlaced v3');
  });

  it('passes a new version that has an upcaster from the one before (OrderPlaced v2, from v1)', () => {
    const { status, out } = contracts((s) => {
      delete s.OrderPlaced!['2'];
    });
    expect(out).toContain('new since the snapshot (additions, accepted): OrderPlaced v2');
    expect(status).toBe(0);
  });

  it('passes an additive change: a field or an event type the snapshot does not have yet', () => {
    const { status, out } = contracts((s) => {
      delete s.StockAdjusted!['1']!.properties!.orderId;
      delete s.ShipmentDelivered;
    });
    expect(out).toContain('new since the snapshot (additions, accepted): ShipmentDelivered v1');
    expect(status).toBe(0);
  });
});

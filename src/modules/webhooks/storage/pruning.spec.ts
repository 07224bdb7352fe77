import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../../../../test/support/databases.js';
import type { Storage } from '../../../platform/storage/database.js';
import { migrate } from '../../../platform/storage/migrations.js';
import { webhookMigrations } from './migrations.js';
import { webhookPruning } from './pruning.js';
import type { DeliveryRow, WebhookTables } from './tables.js';

const DAY = 86_400_000;

describe.each(dialects)('webhook retention on %s', (dialect) => {
  let scratch: ScratchDatabase;
  let storage: Storage;
  let db: Kysely<WebhookTables>;
  beforeEach(async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    await migrate(storage, webhookMigrations);
    db = storage.db as Kysely<WebhookTables>;
  });
  afterEach(async () => {
    await storage.close();
    await scratch.drop();
  });

  const delivery = (id: string, status: DeliveryRow['status'], deliveredAt: number | null): DeliveryRow => ({
    delivery_id: id,
    endpoint_id: 'wh_1',
    event_id: `e-${id}`,
    event_type: 'OrderPlaced',
    lane: 'flow-1',
    sequence: Number(id.replace(/\D/g, '')),
    body: '{}',
    status,
    attempts: 1,
    next_attempt_at: 0,
    lease_owner: null,
    lease_until: null,
    last_attempt_at: null,
    last_status_code: null,
    last_error: null,
    last_response: null,
    last_duration_ms: null,
    delivered_at: deliveredAt,
    created_at: 0,
  });

  it('deletes deliveries delivered before the retention with their attempts; dead, pending and recent ones stay', async () => {
    const now = 100 * DAY;
    await db
      .insertInto('webhook_deliveries')
      .values([delivery('d1', 'delivered', now - 31 * DAY), delivery('d2', 'delivered', now - 29 * DAY), delivery('d3', 'dead', null), delivery('d4', 'pending', null)])
      .execute();
    await db
      .insertInto('webhook_attempts')
      .values(['d1', 'd1', 'd2', 'd3'].map((id, i) => ({ delivery_id: id, attempt: i + 1, at: 0, status_code: 200, error: null, response: null, duration_ms: 1 })))
      .execute();
    const pruned: Record<string, number> = {};
    for (const task of webhookPruning(30 * DAY)) pruned[task.name] = await task.prune({ db, dialect, now, limit: 500 });
    expect(pruned).toEqual({ webhook_attempts: 2, webhook_deliveries: 1 });
    expect((await db.selectFrom('webhook_deliveries').select('delivery_id').orderBy('delivery_id').execute()).map((r) => r.delivery_id)).toEqual(['d2', 'd3', 'd4']);
    expect((await db.selectFrom('webhook_attempts').select('delivery_id').orderBy('delivery_id').execute()).map((r) => r.delivery_id)).toEqual(['d2', 'd3']);
  });
});

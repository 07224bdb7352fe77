import { sql } from 'kysely';
import type { PruneTask } from '../../../platform/retention/pruner.js';

/**
 * Delivered deliveries older than `retentionMs` (since their delivery) go, with their attempts:
 * first the attempts, then the deliveries left without any. Dead and pending ones stay until
 * they are delivered (or the endpoint is deleted).
 */
export function webhookPruning(retentionMs: number): PruneTask[] {
  return [
    {
      name: 'webhook_attempts',
      async prune({ db, now, limit }) {
        const result = await sql`
          delete from webhook_attempts where delivery_id in (
            select delivery_id from webhook_deliveries where status = 'delivered' and delivered_at <= ${now - retentionMs} order by delivered_at limit ${limit})`.execute(db);
        return Number(result.numAffectedRows ?? 0);
      },
    },
    {
      name: 'webhook_deliveries',
      async prune({ db, now, limit }) {
        const result = await sql`
          delete from webhook_deliveries where delivery_id in (
            select d.delivery_id from webhook_deliveries d
            where d.status = 'delivered' and d.delivered_at <= ${now - retentionMs}
              and not exists (select 1 from webhook_attempts a where a.delivery_id = d.delivery_id)
            order by d.delivered_at limit ${limit})`.execute(db);
        return Number(result.numAffectedRows ?? 0);
      },
    },
  ];
}

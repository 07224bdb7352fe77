import { sql } from 'kysely';
import type { PruneTask } from '../retention/pruner.js';

/** How long a handled event's inbox record is kept by default after it was handled (15 minutes). */
export const DEFAULT_INBOX_RETENTION_MS = 15 * 60_000;

/**
 * Prunes inbox records no delivery can reach any more: the event is at or below every
 * checkpoint of its consumer (every partition's), and it was handled more than `retentionMs`
 * ago. A transport hands a consumer only events after its checkpoint, and the checkpoint moves
 * in the transaction that records the effects; a failed or parked event keeps its own records
 * (failed_deliveries, parked_deliveries) and is retried from those, not from the inbox. So an
 * event behind the checkpoint is never handed to the consumer again, and the dispatcher drops
 * one that a caller hands it anyway (`deliver` skips events at or below the checkpoint): once
 * pruned, a record changes nothing. The retention only keeps recent records for inspection.
 */
export function inboxPruning(retentionMs = DEFAULT_INBOX_RETENTION_MS): PruneTask {
  return {
    name: 'inbox',
    async prune({ db, now, limit }) {
      const result = await sql`
        delete from inbox where (consumer, event_id) in (
          select i.consumer, i.event_id from inbox i
          join events e on e.event_id = i.event_id
          where i.handled_at < ${now - retentionMs}
            and e.sequence <= (select min(c.position) from consumer_checkpoints c where c.consumer = i.consumer)
          limit ${limit})`.execute(db);
      return Number(result.numAffectedRows ?? 0);
    },
  };
}

import { sql, type RawBuilder } from 'kysely';

/**
 * A SQL condition, true while `consumer` has not yet handled some event of the flow
 * `correlationId` (a column or value) that comes before `sequence` in the log, among
 * `eventTypes` (the types it subscribes to). For work a consumer starts outside its delivery
 * transaction and that must follow a flow's order across partitions (the webhooks sender):
 * in the distributed mode an order's, its payment's and its shipment's events are delivered by
 * different partitions, each at its own pace.
 *
 * An event counts as handled when the consumer's inbox holds it; inbox records are pruned only
 * at or below every checkpoint of the consumer (inbox-pruning.ts), so events there count as
 * handled too. A failed or parked event is not handled: the flow waits behind it.
 */
export function unhandledEarlierEventOfFlow(consumer: string, correlationId: RawBuilder<unknown>, sequence: RawBuilder<unknown>, eventTypes: readonly string[]): RawBuilder<boolean> {
  return sql<boolean>`exists (
    select 1 from events ev
    where ev.correlation_id = ${correlationId} and ev.sequence < ${sequence}
      and ev.event_type in (${sql.join(eventTypes)})
      and ev.sequence > (select coalesce(min(c.position), 0) from consumer_checkpoints c where c.consumer = ${consumer})
      and not exists (select 1 from inbox i where i.consumer = ${consumer} and i.event_id = ev.event_id))`;
}

import type { EventEnvelope } from '../../kernel/envelope.js';
import { asStored } from '../log/event-log.js';

/**
 * The events this process committed last, by sequence, as the log would give them back: the
 * delivery rounds read the tail of the log from here instead of reading back, and parsing
 * again, what the same thread wrote a moment before (that read was a tenth of the embedded
 * delivery thread's SQL time).
 *
 * Only a run of consecutive sequence numbers is served. A sequence number belongs to one
 * event once committed, and an event this process did not commit (another process's, a
 * thread's whose commit it was not told about) leaves a hole in the run, where the reader goes
 * back to the log. So a read served from here is exactly what the log holds after `position`,
 * if shorter. Events of the open transaction (`pending`) are served only to the transaction
 * that appended them (a round's next pass).
 */
export interface RecentEvents {
  /** Events of a transaction that committed, with their sequence numbers. */
  remember(events: readonly EventEnvelope[]): void;
  /**
   * The events after `position` in log order, at most `limit`, as long as their sequence
   * numbers follow on; undefined when the next one is not here (read the log).
   */
  after(position: number, limit: number, pending?: ReadonlyMap<number, EventEnvelope>): EventEnvelope[] | undefined;
  /** Drops the events at or below `position`: every reader has gone past them. */
  forget(position: number): void;
  readonly size: number;
}

/**
 * At most `capacity` events are kept; beyond it the oldest go (a reader far behind reads the log).
 * In step, the readers are a round or two behind the writer (tens to a few hundred events); a
 * larger store serves only readers that have fallen behind, at a megabyte or two of heap per
 * thousand events.
 */
export function createRecentEvents(capacity = 2_000): RecentEvents {
  const bySequence = new Map<number, EventEnvelope>();
  /** Every sequence at or below it has been forgotten. */
  let floor = 0;
  return {
    remember(events) {
      for (const event of events) {
        if (event.sequence === undefined) continue;
        bySequence.set(event.sequence, asStored(event));
      }
      if (bySequence.size <= capacity) return;
      // The oldest remembered go first (insertion order: near enough to sequence order).
      for (const sequence of bySequence.keys()) {
        if (bySequence.size <= capacity) break;
        bySequence.delete(sequence);
      }
    },
    after(position, limit, pending) {
      const events: EventEnvelope[] = [];
      for (let sequence = position + 1; events.length < limit; sequence++) {
        const event = bySequence.get(sequence) ?? pending?.get(sequence);
        if (!event) break;
        events.push(event);
      }
      return events.length > 0 ? events : undefined;
    },
    forget(position) {
      if (position <= floor) return;
      // A round's events are remembered in the order their groups committed, not always in
      // sequence order (placements a round took in between two batches come first): dropped
      // by sequence from the last floor on, or, after a long jump, by a look at every key.
      if (position - floor <= 2 * bySequence.size) for (let sequence = floor + 1; sequence <= position; sequence++) bySequence.delete(sequence);
      else for (const sequence of bySequence.keys()) if (sequence <= position) bySequence.delete(sequence);
      floor = position;
    },
    get size() {
      return bySequence.size;
    },
  };
}

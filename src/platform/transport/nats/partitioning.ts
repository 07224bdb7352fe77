/**
 * How events map onto JetStream: a partition per aggregate (a stable hash of its id), a
 * subject per partition and event type, a durable consumer per engine consumer and partition.
 */

/** FNV-1a over the UTF-8 bytes: stable across processes, platforms and releases. */
export function hash32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The partition of an aggregate: all its events go through one partition, hence stay in order. */
export function partitionOf(aggregateId: string, partitions: number): number {
  return hash32(aggregateId) % partitions;
}

/** A subject token may not contain `.`, `*`, `>` or whitespace. */
function token(text: string): string {
  return text.replace(/[.*>\s]/g, '_');
}

/** The names one stream uses; `prefix` is unique per stream, so several streams share a server. */
export interface StreamNames {
  stream: string;
  prefix: string;
}

/** Every subject of the stream. */
export function streamSubjects(names: StreamNames): string {
  return `${names.prefix}.events.>`;
}

/** `<prefix>.events.<partition>.<eventType>` */
export function eventSubject(names: StreamNames, partition: number, eventType: string): string {
  return `${names.prefix}.events.${partition}.${token(eventType)}`;
}

/** `<prefix>.appended`: a core NATS subject (outside the stream) on which a commit wakes the other processes. */
export function wakeSubject(names: StreamNames): string {
  return `${names.prefix}.appended`;
}

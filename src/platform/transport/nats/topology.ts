import { JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { AppError } from '../../../kernel/errors.js';
import { streamSubjects, type StreamNames } from './partitioning.js';

const nanos = (ms: number) => ms * 1_000_000;
const DUPLICATE_WINDOW_MS = 120_000;

export interface TopologyOptions extends StreamNames {
  partitions: number;
  /**
   * The stream's `max_age` (0: no limit). Older messages are dropped by the broker; orderflow's
   * consumers read the log, so only other readers of the feed can miss them.
   */
  maxAgeMs: number;
}

/** The partition count is part of the stream: an aggregate's partition must never change under it. */
const describe = (partitions: number) => `orderflow events; partitions=${partitions}`;

/**
 * Creates the stream if missing; idempotent, so processes starting together all run it.
 * Refuses a stream made with another partition count: the count is also that of the
 * consumers' checkpoints, and an aggregate's partition must never change under them.
 */
export async function ensureTopology(jsm: JetStreamManager, options: TopologyOptions): Promise<void> {
  await ensureStream(jsm, options);
}

async function ensureStream(jsm: JetStreamManager, options: TopologyOptions): Promise<void> {
  const config = {
    name: options.stream,
    subjects: [streamSubjects(options)],
    description: describe(options.partitions),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    max_age: nanos(options.maxAgeMs),
    // JetStream refuses a duplicate window longer than the maximum age.
    duplicate_window: nanos(options.maxAgeMs > 0 ? Math.min(DUPLICATE_WINDOW_MS, options.maxAgeMs) : DUPLICATE_WINDOW_MS),
    num_replicas: 1,
  };
  let existing;
  try {
    existing = await jsm.streams.info(options.stream);
  } catch (error) {
    if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    try {
      await jsm.streams.add(config);
      return;
    } catch (addError) {
      // Another process created it in the meantime.
      existing = await jsm.streams.info(options.stream).catch(() => {
        throw addError;
      });
    }
  }
  const made = /partitions=(\d+)/.exec(existing.config.description ?? '')?.[1];
  if (made !== undefined && Number(made) !== options.partitions) {
    throw new AppError(
      'internal',
      'NATS_PARTITIONS_CHANGED',
      `stream ${options.stream} was made with ${made} partitions and NATS_PARTITIONS is ${options.partitions}; an aggregate's partition must not change (keep ${made}, or use a new stream)`,
    );
  }
  const subjects = existing.config.subjects ?? [];
  const changed = existing.config.duplicate_window !== config.duplicate_window || existing.config.max_age !== config.max_age;
  if (!subjects.includes(streamSubjects(options)) || changed || made === undefined) {
    await jsm.streams.update(options.stream, {
      subjects: [...new Set([...subjects, streamSubjects(options)])],
      max_age: config.max_age,
      duplicate_window: config.duplicate_window,
      description: config.description,
    });
  }
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

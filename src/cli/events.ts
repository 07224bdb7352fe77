import type { Config } from '../config.js';
import type { EventEnvelope } from '../kernel/envelope.js';
import { createEventLog, MAX_QUERY_LIMIT, type EventLog, type EventQuery } from '../platform/log/event-log.js';
import { integerOption, parse } from './args.js';
import { openWorkbench } from './workbench.js';

const DEFAULT_LIMIT = 100;
const FOLLOW_POLL_MS = 500;

/**
 * Prints events of the log in order, one line each (sequence, time, type, aggregate,
 * correlation) or, with --json, one JSON envelope per line. Without --follow it prints at most
 * --limit events (100) after --after and says on stderr where to continue. With --follow it
 * prints the matching events after --after (by default only new ones) and keeps polling until
 * Ctrl-C.
 */
export async function events(config: Config, args: readonly string[]): Promise<number> {
  const { values } = parse(args, {
    type: { type: 'string' },
    aggregate: { type: 'string' },
    correlation: { type: 'string' },
    after: { type: 'string' },
    limit: { type: 'string' },
    follow: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const filter: EventQuery = { eventType: values.type, aggregateId: values.aggregate, correlationId: values.correlation };
  const after = integerOption('after', values.after);
  const limit = integerOption('limit', values.limit, { min: 1, max: 1_000_000 }) ?? DEFAULT_LIMIT;
  const print = values.json ? (e: EventEnvelope) => `${JSON.stringify(e)}\n` : formatEvent;

  const bench = await openWorkbench(config);
  try {
    const log = createEventLog(bench.storage.db, bench.storage.dialect);
    if (!values.follow) {
      const { next } = await printPages(log, filter, after ?? 0, limit, print);
      if (next !== null) process.stderr.write(`… more events: add --after ${next}\n`);
      return 0;
    }
    await follow(log, filter, after ?? (await log.head()), print);
    return 0;
  } finally {
    await bench.close();
  }
}

/** Prints up to `limit` matching events after `position`; returns the last position printed and where more start. */
async function printPages(log: EventLog, filter: EventQuery, position: number, limit: number, print: (e: EventEnvelope) => string): Promise<{ position: number; next: number | null }> {
  let printed = 0;
  for (;;) {
    const page = await log.query({ ...filter, after: position, limit: Math.min(MAX_QUERY_LIMIT, limit - printed) });
    if (page.events.length > 0) process.stdout.write(page.events.map(print).join(''));
    printed += page.events.length;
    position = page.events.at(-1)?.sequence ?? position;
    if (page.nextCursor === null) return { position, next: null };
    if (printed >= limit) return { position, next: page.nextCursor };
  }
}

/** Polls for matching events after `position` until SIGINT or SIGTERM. */
async function follow(log: EventLog, filter: EventQuery, position: number, print: (e: EventEnvelope) => string): Promise<void> {
  let stopped = false;
  let wake: (() => void) | undefined;
  const stop = () => {
    stopped = true;
    wake?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stderr.write(`following events after #${position} (Ctrl-C to stop)\n`);
  while (!stopped) {
    ({ position } = await printPages(log, filter, position, Number.MAX_SAFE_INTEGER, print));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FOLLOW_POLL_MS);
      wake = () => (clearTimeout(timer), resolve());
    });
  }
}

/** `#42  2024-05-06T10:00:00.000Z  OrderPlaced  Order/ab12…  correlation c-1`. */
export function formatEvent(e: EventEnvelope): string {
  return `#${String(e.sequence).padEnd(6)} ${e.occurredAt}  ${e.eventType.padEnd(26)} ${`${e.aggregateType}/${e.aggregateId}`.padEnd(46)} ${e.correlationId}\n`;
}

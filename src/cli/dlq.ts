import type { Config } from '../config.js';
import type { DeadLetter } from '../platform/delivery/dead-letters.js';
import { parse, UsageError } from './args.js';
import { openWorkbench } from './workbench.js';

const STATUSES = ['dead', 'retrying', 'discarded'] as const;

/**
 * Dead letters, through an engine on the database that is not started: `list` shows the open
 * ones (dead and retrying) or those of --status; `retry` sends one back for a fresh round of
 * attempts, which the running server's timer worker makes; `discard` gives up on it and
 * delivers the events parked behind it, in this process.
 */
export async function dlq(config: Config, args: readonly string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'list') return list(config, rest);
  if (action === 'retry' || action === 'discard') return resolveDeadLetter(config, action, rest);
  throw new UsageError(action === undefined ? 'dlq needs an action: list, retry or discard' : `unknown dlq action: ${action}`);
}

async function list(config: Config, args: readonly string[]): Promise<number> {
  const { values } = parse(args, { status: { type: 'string' }, json: { type: 'boolean' } });
  const status = values.status;
  if (status !== undefined && !(STATUSES as readonly string[]).includes(status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
  const bench = await openWorkbench(config);
  try {
    const letters = await bench.engine.deadLetters.list({ status: status as DeadLetter['status'] | undefined, limit: 1000 });
    if (values.json) process.stdout.write(letters.map((l) => `${JSON.stringify(l)}\n`).join(''));
    else if (letters.length === 0) process.stdout.write(`no ${status ?? 'open (dead or retrying)'} dead letters\n`);
    else process.stdout.write(letters.map(formatDeadLetter).join(''));
    return 0;
  } finally {
    await bench.close();
  }
}

async function resolveDeadLetter(config: Config, action: 'retry' | 'discard', args: readonly string[]): Promise<number> {
  const { positionals } = parse(args, {}, 1);
  const id = positionals[0];
  if (!id) throw new UsageError(`dlq ${action} needs the id of a dead letter (see orderflow dlq list)`);
  const bench = await openWorkbench(config, { consumers: true });
  try {
    const letter = await bench.engine.deadLetters.get(id);
    if (action === 'retry') {
      await bench.engine.deadLetters.retry(id);
      process.stdout.write(
        `dead letter ${id} (${letter.consumer}: ${letter.eventType} ${letter.aggregateId}) is scheduled for a new round of attempts.\n` +
          'The running orderflow server\u2019s timer worker delivers it within a second; if no server runs, at its next start.\n' +
          `Follow it with: orderflow dlq list --status retrying\n`,
      );
    } else {
      await bench.engine.deadLetters.discard(id);
      process.stdout.write(`dead letter ${id} (${letter.consumer}: ${letter.eventType} ${letter.aggregateId}) discarded; ${letter.parkedCount} parked event(s) behind it were delivered.\n`);
    }
    return 0;
  } finally {
    await bench.close();
  }
}

/** Two lines per dead letter: what failed and why. */
export function formatDeadLetter(l: DeadLetter): string {
  const parked = l.parkedCount > 0 ? `  ${l.parkedCount} parked` : '';
  const next = l.nextAttemptAt ? `  next attempt ${l.nextAttemptAt}` : '';
  return `${l.id}  ${l.status.padEnd(9)} ${l.consumer}  ${l.eventType}  ${l.aggregateId}  attempts ${l.attempts}${parked}${next}\n    ${l.lastFailedAt}  ${l.error}\n`;
}

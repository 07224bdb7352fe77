import type { Config } from '../config.js';
import { parse, UsageError } from './args.js';
import { openWorkbench } from './workbench.js';

/** The read models a replay can rebuild. */
const READ_MODELS = ['stats'] as const;

/** Rebuilds a read model (the order statistics) from the whole event log and prints the result. */
export async function replay(config: Config, args: readonly string[]): Promise<number> {
  const { positionals } = parse(args, {}, 1);
  const model = positionals[0] ?? 'stats';
  if (!(READ_MODELS as readonly string[]).includes(model)) throw new UsageError(`unknown read model: ${model} (can replay: ${READ_MODELS.join(', ')})`);
  const bench = await openWorkbench(config);
  try {
    const result = await bench.apis.stats.replay();
    const { stats } = result;
    const statuses = Object.entries(stats.byStatus)
      .filter(([, n]) => n > 0)
      .map(([status, n]) => `${status} ${n}`)
      .join(', ');
    const revenue = Object.entries(stats.revenue)
      .map(([currency, r]) => `${currency} ${r.net} (paid ${r.paid}, refunded ${r.refunded})`)
      .join('; ');
    process.stdout.write(
      `rebuilt stats from ${result.eventsApplied} events, up to log position #${result.position}\n` +
        `  orders placed   ${stats.ordersPlaced}\n` +
        `  by status       ${statuses || '-'}\n` +
        `  revenue (minor) ${revenue || '-'}\n` +
        `  items per order ${stats.averageItemsPerOrder}\n`,
    );
    for (const skipped of result.eventsSkipped) process.stderr.write(`skipped ${skipped.eventType} ${skipped.eventId}: ${skipped.reason}\n`);
    return 0;
  } finally {
    await bench.close();
  }
}

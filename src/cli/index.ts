import { loadConfig, type Config } from '../config.js';
import { AppError } from '../kernel/errors.js';
import { UsageError } from './args.js';

type Run = (config: Config, args: readonly string[]) => Promise<number> | number;

interface CommandSpec {
  usage: readonly string[];
  does: string;
  /** Loaded on use, so `help` and `token` do not pay for the HTTP stack and the database drivers. */
  load(): Promise<Run>;
}

const commands: Readonly<Record<string, CommandSpec>> = {
  start: { usage: ['orderflow start'], does: 'run the engine (modules per MODULES) and the HTTP API', load: async () => (await import('./start.js')).start },
  migrate: { usage: ['orderflow migrate'], does: 'apply pending database migrations and exit', load: async () => (await import('./migrate.js')).runMigrations },
  token: {
    usage: ['orderflow token --role admin|customer [--sub S] [--expires 1h]'],
    does: 'print an API token (HS256 JWT) for a role and a caller',
    load: async () => (await import('./token.js')).token,
  },
  'seed-demo': { usage: ['orderflow seed-demo'], does: 'add the demo products that are missing', load: async () => (await import('./seed-demo.js')).seedDemo },
  events: {
    usage: ['orderflow events [--type T] [--aggregate A] [--correlation C] [--after N] [--limit N] [--follow] [--json]'],
    does: 'print events of the log, filtered; --follow keeps watching',
    load: async () => (await import('./events.js')).events,
  },
  dlq: {
    usage: ['orderflow dlq list [--status dead|retrying|discarded] [--json]', 'orderflow dlq retry <id>', 'orderflow dlq discard <id>'],
    does: 'list dead letters; deliver one again, or give up on it',
    load: async () => (await import('./dlq.js')).dlq,
  },
  replay: { usage: ['orderflow replay [stats]'], does: 'rebuild the order statistics from the event log', load: async () => (await import('./replay.js')).replay },
};

const usage = `orderflow — event-driven order management engine

Usage:
${Object.values(commands)
  .map((c) => `${c.usage.map((u) => `  ${u}`).join('\n')}\n      ${c.does}`)
  .join('\n')}
  orderflow help

Exit codes: 0 done, 1 failed (the reason on stderr), 2 bad command line.
Configuration comes from the environment (DATABASE_URL, JWT_SECRET, …); see README.md.`;

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) throw new UsageError('which command?');
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) throw new UsageError(`unknown command: ${name}`);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`Usage:\n${command.usage.map((u) => `  ${u}`).join('\n')}\n      ${command.does}\n`);
    return 0;
  }
  const config = loadConfig();
  try {
    const run = await command.load();
    return await run(config, args);
  } catch (error) {
    if (error instanceof UsageError) error.usage = command.usage;
    throw new CommandFailure(error, config.logLevel === 'debug' || config.logLevel === 'trace');
  }
}

/** What a command threw, and whether the operator asked for stack traces (LOG_LEVEL=debug or trace). */
class CommandFailure {
  constructor(
    readonly error: unknown,
    readonly withStack: boolean,
  ) {}
}

/**
 * The reason on stderr: the message alone (an AppError's is written for the operator and names
 * the setting to change); the stacks, causes included, only when asked for.
 */
function describeFailure(error: unknown, withStack: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!withStack) return error instanceof AppError ? message : `${message} (LOG_LEVEL=debug shows where)`;
  const stacks: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) stacks.push(depth === 0 ? (e.stack ?? e.message) : `caused by ${e.stack ?? e.message}`);
  return stacks.length > 0 ? stacks.join('\n') : message;
}

// `orderflow events | head` closes stdout early: that is the reader's choice, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

/** Exits once what was written to stdout and stderr has been handed to the OS (pipes may be asynchronous). */
function exit(code: number): void {
  let pending = 2;
  const done = () => --pending === 0 && process.exit(code);
  process.stdout.write('', done);
  process.stderr.write('', done);
}

main(process.argv.slice(2)).then(exit, (thrown: unknown) => {
  const error = thrown instanceof CommandFailure ? thrown.error : thrown;
  if (error instanceof UsageError) {
    const help = error.usage ? `Usage:\n${error.usage.map((u) => `  ${u}`).join('\n')}` : usage;
    process.stderr.write(`orderflow: ${error.message}\n\n${help}\n`);
    return exit(2);
  }
  process.stderr.write(`orderflow: ${describeFailure(error, thrown instanceof CommandFailure && thrown.withStack)}\n`);
  exit(1);
});

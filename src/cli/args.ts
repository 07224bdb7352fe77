import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line the CLI cannot run: the message is shown with the usage, exit code 2. */
export class UsageError extends Error {
  /** The usage lines of the command it concerns, once known. */
  usage: readonly string[] | undefined;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** `util.parseArgs` in strict mode, its complaints turned into UsageError. */
export function parse<O extends Options>(args: readonly string[], options: O, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: positionals > 0 });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument: ${parsed.positionals[positionals]}`);
  return parsed;
}

/** A non-negative integer option, or undefined when not given. */
export function integerOption(name: string, raw: string | undefined, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  return n;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Parses a duration such as `90s`, `15m`, `1h`, `7d` (or bare seconds) into seconds. */
export function parseDuration(raw: string, { maxSeconds = 365 * 86_400 } = {}): number {
  const match = /^(\d+)([smhd]?)$/.exec(raw.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's']! : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > maxSeconds) {
    throw new UsageError(`a duration is a number with s, m, h or d (e.g. 30m, 1h, 7d), at most ${maxSeconds / 86_400}d; not ${JSON.stringify(raw)}`);
  }
  return seconds;
}

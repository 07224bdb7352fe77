import type { Config } from '../config.js';
import { mintToken, type Role } from '../http/auth.js';
import { parse, parseDuration, UsageError } from './args.js';
import { resolveJwtSecret } from './jwt-secret.js';

/**
 * Prints an API token (HS256 JWT) signed with JWT_SECRET, or in the embedded mode with the
 * secret of the data folder. `--sub` is the caller (a customer's id; `admin` by default for
 * admins), `--expires` how long it is valid (`30m`, `1h`, `7d`; 1h by default).
 */
export function token(config: Config, args: readonly string[]): number {
  const { values } = parse(args, { role: { type: 'string' }, sub: { type: 'string' }, expires: { type: 'string' } });
  const role = values.role;
  if (role !== 'admin' && role !== 'customer') throw new UsageError('--role must be admin or customer');
  const sub = values.sub ?? (role === 'admin' ? 'admin' : undefined);
  if (!sub || sub.trim() === '' || sub.length > 200) throw new UsageError('--sub must name the caller (a customer id such as customer-001), at most 200 characters');
  const expiresInSeconds = parseDuration(values.expires ?? '1h');
  const secret = resolveJwtSecret(config);
  if (secret.source === 'created') process.stderr.write(`made a new JWT secret in ${secret.path} (the server uses it while JWT_SECRET is unset)\n`);
  if (secret.source === 'ephemeral') process.stderr.write('warning: DATABASE_URL is sqlite::memory:, so no server shares this secret; the token is accepted nowhere\n');
  process.stdout.write(`${mintToken(secret.value, { sub, role: role satisfies Role, expiresInSeconds })}\n`);
  return 0;
}

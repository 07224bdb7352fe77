import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyToken } from '../../src/http/index.js';
import { claimsOf, runCli } from './cli.js';

const secret = 'a-test-secret-of-at-least-thirty-two-characters';

describe('orderflow token', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const scratchDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'orderflow-cli-'));
    dirs.push(dir);
    return dir;
  };

  it('prints a JWT signed with JWT_SECRET carrying the role, the sub and the expiry asked for', async () => {
    const before = Math.floor(Date.now() / 1000);
    const result = await runCli(['token', '--role', 'customer', '--sub', 'customer-042', '--expires', '2h'], { JWT_SECRET: secret, DATABASE_URL: `sqlite:${join(scratchDir(), 'o.db')}` });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const token = result.stdout.trim();
    expect(result.stdout).toBe(`${token}\n`);
    expect(verifyToken(secret, token)).toEqual({ sub: 'customer-042', role: 'customer' });
    const claims = claimsOf(token);
    expect(Number(claims.exp) - Number(claims.iat)).toBe(7200);
    expect(Number(claims.iat)).toBeGreaterThanOrEqual(before);
  });

  it('gives an admin token the sub `admin` and one hour by default', async () => {
    const result = await runCli(['token', '--role', 'admin'], { JWT_SECRET: secret, DATABASE_URL: `sqlite:${join(scratchDir(), 'o.db')}` });
    expect(result.code).toBe(0);
    const claims = claimsOf(result.stdout.trim());
    expect(claims).toMatchObject({ sub: 'admin', role: 'admin' });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
  });

  it('in the embedded mode without JWT_SECRET, makes a 0600 secret file beside the database once and reuses it', async () => {
    const dir = scratchDir();
    const env = { DATABASE_URL: `sqlite:${join(dir, 'data', 'orderflow.db')}` };
    const first = await runCli(['token', '--role', 'admin'], env);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('made a new JWT secret');
    const file = join(dir, 'data', 'jwt-secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = readFileSync(file, 'utf8').trim();
    expect(stored.length).toBeGreaterThanOrEqual(32);
    expect(first.stdout).not.toContain(stored);
    expect(verifyToken(stored, first.stdout.trim())).toEqual({ sub: 'admin', role: 'admin' });

    const second = await runCli(['token', '--role', 'customer', '--sub', 'customer-001'], env);
    expect(second).toMatchObject({ code: 0, stderr: '' });
    expect(readFileSync(file, 'utf8').trim()).toBe(stored);
    expect(verifyToken(stored, second.stdout.trim())).toEqual({ sub: 'customer-001', role: 'customer' });
  });

  it('refuses, without a stack trace, to mint in the PostgreSQL mode without JWT_SECRET', async () => {
    const result = await runCli(['token', '--role', 'admin'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/not_used' });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('JWT_SECRET is not set');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['token', '--role', 'root'], '--role must be admin or customer'],
    [['token', '--role', 'customer'], '--sub must name the caller'],
    [['token', '--role', 'admin', '--expires', 'soon'], 'a duration is a number'],
    [['token', '--role', 'admin', '--bogus'], "Unknown option '--bogus'"],
  ])('exits 2 with the usage for %j', async (args, message) => {
    const result = await runCli(args, { JWT_SECRET: secret });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('orderflow token --role admin|customer');
  });
});

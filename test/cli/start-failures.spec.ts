import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli, type CliResult } from './cli.js';

/** What an operator sees of a failed start: the exit code and the lines on stderr. */
const seen = (result: CliResult) => ({ code: result.code, lines: result.stderr.trimEnd().split('\n') });

describe('orderflow start fails in one line an operator can act on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-start-failures-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const embedded = (name: string) => ({ DATABASE_URL: `sqlite:${join(dir, name, 'orderflow.db')}` });

  it('listens on HOST, 127.0.0.1 by default, and a second start on its busy port exits 1 naming PORT; the stack only at LOG_LEVEL=debug', async () => {
    const first = spawnCli(['start'], { ...embedded('first'), PORT: '0', LOG_LEVEL: 'info' });
    try {
      await first.waitFor(/"msg":"orderflow started"/);
      const line = first.stdout().split('\n').find((l) => l.includes('"msg":"orderflow started"'))!;
      const listening = new URL((JSON.parse(line) as { address: string }).address);
      expect(listening.hostname).toBe('127.0.0.1');
      const port = listening.port;

      expect(seen(await runCli(['start'], { ...embedded('second'), PORT: port }))).toEqual({
        code: 1,
        lines: [`orderflow: port ${port} is already in use on 127.0.0.1: stop the process that holds it, or set PORT to a free port`],
      });
      const debug = await runCli(['start'], { ...embedded('third'), PORT: port, LOG_LEVEL: 'debug' });
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/^orderflow: .*port .* is already in use/);
      expect(debug.stderr).toMatch(/caused by Error: listen EADDRINUSE[^\n]*\n\s+at /);
    } finally {
      expect(await first.stop('SIGTERM')).toBe(0);
    }
  });

  it('an unreachable DATABASE_URL exits 1 with one line naming it, no stack trace', async () => {
    const result = await runCli(['start'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', JWT_SECRET: 'a'.repeat(32), PORT: '0' });
    expect(seen(result)).toEqual({
      code: 1,
      lines: ['orderflow: cannot reach the database postgres://postgres@127.0.0.1:1/x (connect ECONNREFUSED 127.0.0.1:1): start it, or set DATABASE_URL to one that answers'],
    });
  });

  it('a HOST that is not this machine exits 1 naming HOST', async () => {
    const result = await runCli(['start'], { ...embedded('host'), PORT: '0', HOST: '192.0.2.1' });
    expect(seen(result)).toEqual({
      code: 1,
      lines: ['orderflow: HOST 192.0.2.1 is not an address of this machine: set HOST to one of its addresses, 127.0.0.1 or 0.0.0.0'],
    });
  });
});

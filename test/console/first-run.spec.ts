import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../cli/cli.js';
import { browserAvailable, ensureConsoleBuilt, go, inPage, launchBrowser, screenshot } from './support.js';

describe.skipIf(!browserAvailable())('console: `orderflow start` serves it, and its banner link signs the admin in', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orderflow-console-start-'));
  let browser: Browser;
  beforeAll(async () => {
    ensureConsoleBuilt();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens the printed link signed in, takes the token out of the address, and still stops cleanly on SIGTERM with the live stream open', async () => {
    const server = spawnCli(['start'], { DATABASE_URL: `sqlite:${join(dir, 'data', 'orderflow.db')}`, PORT: '0' });
    try {
      const [, link, token] = await server.waitFor(/console\s+(http:\/\/localhost:\d+\/#token=(\S+))/);
      const adminToken = server.stdout().match(/export ADMIN_TOKEN=(\S+)/)![1];
      expect(token).toBe(adminToken);
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const streams: string[] = [];
      page.on('request', (r) => void (new URL(r.url()).pathname === '/api/stream' && streams.push(r.headers().authorization ?? '')));
      await page.goto(link!);
      await page.waitForFunction("location.hash === '#/orders'");
      // The token left the address bar and the history entry; it lives in this tab's sessionStorage.
      expect(page.url()).not.toContain('token=');
      expect(await inPage(page, "sessionStorage.getItem('orderflow.token')")).toBe(token);
      await expect.poll(() => page.locator('.live-indicator').textContent()).toBe('Live');
      await expect.poll(() => page.locator('.who').textContent()).toBe('admin admin');
      // The demo catalog the first start seeded, through the same authorized API.
      await go(page, '#/inventory');
      await expect.poll(() => page.locator('tr[data-product-id]').count()).toBe(5);
      await screenshot(page, 'first-run-inventory', false);
      expect(streams[0]).toBe(`Bearer ${token}`);
      // An open event stream must not hold the shutdown up.
      const started = Date.now();
      expect(await server.stop('SIGTERM')).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect.poll(() => page.locator('.live-indicator').textContent()).toMatch(/Reconnecting|Connecting/);
    } finally {
      if (server.process.exitCode === null) await server.stop('SIGKILL');
    }
  });
});

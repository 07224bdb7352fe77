import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createBusinessModules } from '../../src/composition.js';
import { moduleNames } from '../../src/config.js';
import { buildApp, mintToken } from '../../src/http/index.js';
import { createEngine, type Engine, type EngineModule } from '../../src/platform/engine.js';
import type { Storage } from '../../src/platform/storage/database.js';
import { fastSettings } from '../flows/harness.js';
import { createScratchDatabase, dialects, type ScratchDatabase } from '../support/databases.js';
import { eventually, secret } from './support.js';

describe.each(dialects)('a failing timer over HTTP on %s', (dialect) => {
  let scratch: ScratchDatabase | undefined;
  let storage: Storage | undefined;
  let engine: Engine | undefined;
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    await engine?.stop();
    await storage?.close();
    await scratch?.drop();
    [app, engine, storage, scratch] = [undefined, undefined, undefined, undefined];
  });

  it('is listed by GET /api/dead-letters with the others and fires once after POST …/retry', async () => {
    scratch = await createScratchDatabase(dialect);
    storage = await scratch.open();
    const fired: string[] = [];
    let broken = true;
    const reminders: EngineModule = {
      name: 'reminders',
      migrations: [],
      consumers: [],
      timers: {
        async 'reminders.send'(timer) {
          if (broken) throw new Error('the mail server refuses');
          fired.push(timer.key);
        },
      },
    };
    const business = createBusinessModules(fastSettings);
    engine = createEngine({ storage, modules: [...business.engineModules(moduleNames), reminders], pollMs: 20, retry: { maxRetries: 2, baseDelayMs: 20, maxDelayMs: 100 } });
    await engine.migrate();
    const apis = business.connect(engine.runtime);
    await engine.start();
    app = await buildApp({ engine, apis, config: { jwtSecret: secret, orderRateLimit: 0 }, logger: pino({ level: 'silent' }) });
    const admin = { authorization: `Bearer ${mintToken(secret, { sub: 'admin-1', role: 'admin' })}` };
    const get = async (url: string) => (await app!.inject({ method: 'GET', url, headers: admin })).json();

    await engine.unitOfWork.run('reminders', (tx) => tx.schedule({ key: 'reminder:42', kind: 'reminders.send', dueAt: tx.now }));
    await eventually(async () => (await get('/api/dead-letters?status=dead')).deadLetters.length === 1, 'the timer to be dead-lettered');
    const [dead] = (await get('/api/dead-letters')).deadLetters;
    expect(dead).toMatchObject({ consumer: 'timer:reminders.send', eventId: 'reminder:42', eventType: 'reminders.send', reason: 'timer', status: 'dead', attempts: 3, error: expect.stringContaining('the mail server refuses') });
    expect(await get(`/api/dead-letters/${dead.id}`)).toMatchObject({ id: dead.id, event: null, parked: [] });
    expect((await get('/api/dead-letters?consumer=timer:reminders.send')).deadLetters).toHaveLength(1);

    broken = false;
    const retried = await app.inject({ method: 'POST', url: `/api/dead-letters/${dead.id}/retry`, headers: admin });
    expect(retried.statusCode, retried.body).toBe(202);
    await eventually(async () => fired.length === 1, 'the re-driven timer to fire');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fired).toEqual(['reminder:42']);
    expect((await get('/api/dead-letters')).deadLetters).toEqual([]);
  });
});

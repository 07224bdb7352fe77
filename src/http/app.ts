import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Engine } from '../platform/engine.js';

export interface AppDeps {
  engine: Engine;
  logger: Logger;
}

/** Builds the HTTP server: health and readiness (the order API's routes plug in here). */
export async function buildApp({ engine, logger }: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, bodyLimit: 64 * 1024, disableRequestLogging: true });

  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/health/ready', async (_request, reply) => {
    const dependencies = await engine.health();
    const ready = Object.values(dependencies).every((d) => d.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', dependencies });
  });

  return app;
}

import type { ServerResponse } from 'node:http';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { EventEnvelope } from '../../kernel/envelope.js';
import type { Engine } from '../../platform/engine.js';
import type { HttpContext } from '../context.js';
import { toProblem } from '../problem.js';
import { Text, withProblems } from '../schemas/common.js';

/** How the live feed follows the log. */
export interface StreamOptions {
  /** How often the log head is read while someone listens (default 200 ms). */
  pollMs?: number;
  /** How often an idle stream sends a comment, so proxies and clients see it alive (default 15 s). */
  heartbeatMs?: number;
}

export const StreamQuery = Type.Object({
  eventType: Type.Optional(Text(200, { description: 'only events of this type' })),
  correlationId: Type.Optional(Text(200, { description: 'only the events of this flow (an order\u2019s correlationId)' })),
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'start after this sequence (Last-Event-ID wins); default: the head, so only new events' })),
  follow: Type.Optional(Type.Boolean({ description: 'false: send what is in the log now and close (default true: keep following)' })),
});
export type StreamQuery = Static<typeof StreamQuery>;

export const StreamHeaders = Type.Object({
  'last-event-id': Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'the id (sequence) of the last event received; the stream resumes after it' })),
});

const PAGE = 500;

/**
 * GET /api/stream (admin): the event log as server-sent events. Each event is `id: <sequence>`
 * and `data: <envelope JSON>`; a reconnect resumes after Last-Event-ID. One watcher reads the
 * log head for all listeners; idle streams get heartbeat comments; every stream ends when
 * its client goes away or the server closes.
 */
export function streamRoutes({ engine }: HttpContext, options: StreamOptions = {}): FastifyPluginAsync {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  return async (app) => {
    const watcher = createHeadWatcher(engine, options.pollMs ?? 200);
    const open = new Set<() => void>();
    // Fastify waits for open connections on close: streams end first.
    app.addHook('preClose', async () => {
      for (const end of open) end();
    });

    app.get<{ Querystring: StreamQuery; Headers: Static<typeof StreamHeaders> }>(
      '/api/stream',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['operations'],
          summary: 'The event log as server-sent events (id = sequence), filtered; resumes after Last-Event-ID; heartbeat comments',
          querystring: StreamQuery,
          headers: StreamHeaders,
          response: { ...withProblems({}, 400, 401, 403), 200: { description: 'text/event-stream of event envelopes', content: { 'text/event-stream': { schema: Type.String() } } } },
        },
      },
      async (request, reply) => {
        const { eventType, correlationId, follow = true } = request.query;
        const lastEventId = request.headers['last-event-id'];
        const start = lastEventId !== undefined ? Number(lastEventId) : (request.query.after ?? (await engine.log.head()));
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        // The id is the resume point even before the first event arrives.
        raw.write(`retry: 2000\nid: ${start}\n: following the log after ${start}\n\n`);
        const stream = createStream(raw, heartbeatMs);
        open.add(stream.end);
        // The response closes when the client goes away (or the stream ends).
        raw.once('close', stream.end);
        try {
          await pump({ engine, watcher, stream, filter: { eventType, correlationId }, start, follow });
        } catch (error) {
          // Headers are gone: the failure travels as an SSE event, then the client reconnects.
          const { problem } = toProblem(error, request.url);
          request.log.warn({ err: error }, 'event stream failed');
          stream.send(`event: error\ndata: ${JSON.stringify(problem)}\n\n`);
        } finally {
          open.delete(stream.end);
          stream.end();
        }
      },
    );
  };
}

interface Stream {
  readonly closed: boolean;
  /** Writes a frame; resolves once the socket takes more (backpressure). */
  send(frame: string): Promise<void> | void;
  /** Resolves when `subscribe` calls back, or when the stream ends. */
  idle(subscribe: (wake: () => void) => () => void): Promise<void>;
  end(): void;
}

async function pump(args: {
  engine: Engine;
  watcher: HeadWatcher;
  stream: Stream;
  filter: { eventType?: string; correlationId?: string };
  start: number;
  follow: boolean;
}): Promise<void> {
  const { engine, watcher, stream, filter, follow } = args;
  let position = args.start;
  while (!stream.closed) {
    // Read before the query: every event up to this head is committed (appends commit in
    // sequence order), so a filtered stream may skip ahead to it without losing one.
    const head = await engine.log.head();
    const page = await engine.log.query({ ...filter, after: position, limit: PAGE });
    for (const event of page.events) await stream.send(frame(event));
    position = Math.max(page.events.at(-1)?.sequence ?? position, page.nextCursor === null ? head : position);
    if (page.nextCursor !== null) continue;
    if (!follow) return;
    await stream.idle((wake) => watcher.onAdvance(position, wake));
  }
}

function frame(event: EventEnvelope): string {
  return `id: ${event.sequence}\ndata: ${JSON.stringify(event)}\n\n`;
}

function createStream(raw: ServerResponse, heartbeatMs: number): Stream {
  let closed = false;
  const waiting = new Set<() => void>();
  const wakeAll = () => {
    for (const resolve of waiting) resolve();
  };
  const heartbeat = setInterval(() => {
    if (!closed && raw.writableLength === 0) raw.write(`: heartbeat ${new Date().toISOString()}\n\n`);
  }, heartbeatMs);
  heartbeat.unref();
  return {
    get closed() {
      return closed;
    },
    send(text) {
      if (closed || raw.write(text)) return;
      return new Promise<void>((resolve) => {
        waiting.add(resolve);
        raw.once('drain', () => {
          waiting.delete(resolve);
          resolve();
        });
      });
    },
    idle(subscribe) {
      if (closed) return Promise.resolve();
      return new Promise<void>((resolve) => {
        let unsubscribe = () => {};
        const done = () => {
          waiting.delete(done);
          unsubscribe();
          resolve();
        };
        waiting.add(done);
        unsubscribe = subscribe(done);
      });
    },
    end() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      wakeAll();
      if (!raw.writableEnded) raw.end();
    },
  };
}

interface HeadWatcher {
  /** Calls `wake` once the log head passes `position`; returns an unsubscribe. */
  onAdvance(position: number, wake: () => void): () => void;
}

/** One poller of the log head for every listener; it runs only while someone listens. */
function createHeadWatcher(engine: Engine, pollMs: number): HeadWatcher {
  const listeners = new Map<() => void, number>();
  let timer: NodeJS.Timeout | undefined;
  let reading = false;
  const tick = async () => {
    if (reading) return;
    reading = true;
    try {
      const head = await engine.log.head();
      for (const [wake, position] of listeners) if (head > position) wake();
    } catch {
      // The database is away: wake everyone, their own reads report the failure.
      for (const wake of listeners.keys()) wake();
    } finally {
      reading = false;
    }
  };
  return {
    onAdvance(position, wake) {
      listeners.set(wake, position);
      timer ??= setInterval(() => void tick(), pollMs);
      return () => {
        listeners.delete(wake);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
  };
}

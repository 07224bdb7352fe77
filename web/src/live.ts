import { problemOf, query, type ApiError } from './api.js';
import { getToken } from './session.js';
import { createSseParser } from './sse.js';
import type { EventEnvelope } from './types.js';

/** Where a stream stands: following, waiting to reconnect, or stopped for good (with why). */
export type LiveState = { state: 'connecting' | 'live' | 'reconnecting' } | { state: 'stopped'; error: ApiError };

export interface StreamFilter {
  eventType?: string;
  correlationId?: string;
  /** Start after this sequence; by default only new events come. */
  after?: number;
}

export interface LiveStream {
  close(): void;
}

const MAX_DELAY_MS = 15_000;

/**
 * Follows GET /api/stream with fetch (EventSource cannot send the token). After a drop it
 * reconnects with backoff and sends Last-Event-ID, so no event is missed or repeated. A 4xx
 * (no token, not an admin, bad filter) stops it: retrying would not help.
 */
export function openStream(filter: StreamFilter, onEvent: (event: EventEnvelope) => void, onState: (state: LiveState) => void = () => {}): LiveStream {
  let closed = false;
  let controller: AbortController | undefined;
  let lastId = filter.after === undefined ? undefined : String(filter.after);
  let delay = 1000;
  const url = `/api/stream${query({ eventType: filter.eventType, correlationId: filter.correlationId })}`;

  async function connect(): Promise<'retry' | 'stop'> {
    controller = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    const token = getToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (lastId !== undefined) headers['last-event-id'] = lastId;
    const response = await fetch(url, { headers, signal: controller.signal, cache: 'no-store' });
    if (!response.ok || !response.body) {
      const error = problemOf(response.status, await response.json().catch(() => undefined));
      if (response.status >= 400 && response.status < 500) {
        onState({ state: 'stopped', error });
        return 'stop';
      }
      throw error;
    }
    onState({ state: 'live' });
    delay = 1000;
    const parser = createSseParser(lastId);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const message of parser.feed(value)) {
        if (message.event === 'message') onEvent(JSON.parse(message.data) as EventEnvelope);
      }
      lastId = parser.lastEventId;
    }
    if (parser.retryMs !== undefined) delay = parser.retryMs;
    return 'retry';
  }

  void (async () => {
    onState({ state: 'connecting' });
    while (!closed) {
      const next = await connect().catch(() => 'retry' as const);
      if (closed || next === 'stop') return;
      onState({ state: 'reconnecting' });
      await new Promise((resolve) => window.setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  })();

  return {
    close() {
      closed = true;
      controller?.abort();
    },
  };
}

/** One shared, unfiltered stream for the whole page: views subscribe while they are shown. */
export interface LiveHub {
  subscribe(listener: (event: EventEnvelope) => void): () => void;
  onState(listener: (state: LiveState) => void): () => void;
  readonly state: LiveState;
  start(): void;
  stop(): void;
}

export function createLiveHub(): LiveHub {
  const listeners = new Set<(event: EventEnvelope) => void>();
  const stateListeners = new Set<(state: LiveState) => void>();
  let stream: LiveStream | undefined;
  let state: LiveState = { state: 'connecting' };
  const setState = (next: LiveState) => {
    state = next;
    for (const listener of stateListeners) listener(next);
  };
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onState(listener) {
      stateListeners.add(listener);
      listener(state);
      return () => stateListeners.delete(listener);
    },
    get state() {
      return state;
    },
    start() {
      stream ??= openStream(
        {},
        (event) => {
          for (const listener of listeners) listener(event);
        },
        setState,
      );
    },
    stop() {
      stream?.close();
      stream = undefined;
    },
  };
}

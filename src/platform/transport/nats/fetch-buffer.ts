import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';

/** What a fetch delivered so far, taken in groups: a batch is handled while the next messages arrive. */
export interface FetchBuffer {
  /** Resolves with every message that arrived since the last call; [] once the fetch ended and all were taken. */
  take(): Promise<JsMsg[]>;
  /** Messages arrived and not taken yet. */
  pending(): readonly JsMsg[];
  /** Resolves when the fetch has ended; with the error that ended it, if any. */
  readonly ended: Promise<unknown>;
}

export function bufferFetch(fetched: ConsumerMessages): FetchBuffer {
  const queue: JsMsg[] = [];
  let done = false;
  let signal: (() => void) | undefined;
  const ended = (async () => {
    try {
      for await (const m of fetched) {
        queue.push(m);
        signal?.();
      }
      return undefined;
    } catch (error) {
      return error;
    } finally {
      done = true;
      signal?.();
    }
  })();
  return {
    async take() {
      while (queue.length === 0 && !done) await new Promise<void>((resolve) => (signal = resolve));
      signal = undefined;
      return queue.splice(0);
    },
    pending: () => queue,
    ended,
  };
}

// A parser of the text/event-stream format (the WHATWG HTML "server-sent events" rules),
// for streams read with fetch: EventSource cannot send an Authorization header.

export interface SseMessage {
  /** The event name; "message" when the server gave none. */
  event: string;
  data: string;
  /** The last id seen on the stream so far (the resume point), if any. */
  lastEventId: string | undefined;
}

export interface SseParser {
  /** Feeds a chunk of text; returns the messages it completed. */
  feed(chunk: string): SseMessage[];
  /** The server's `retry:` advice in ms, if it gave one. */
  readonly retryMs: number | undefined;
  readonly lastEventId: string | undefined;
}

export function createSseParser(lastEventId?: string): SseParser {
  let buffer = '';
  let afterCR = false;
  let data: string[] = [];
  let event = '';
  let id = lastEventId;
  let retryMs: number | undefined;

  function line(text: string, out: SseMessage[]): void {
    if (text === '') {
      if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n'), lastEventId: id });
      data = [];
      event = '';
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id' && !value.includes('\0')) id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
  }

  return {
    feed(chunk) {
      // A \r that ended the last chunk ended its line; a \n right after it belongs to it.
      buffer += afterCR && chunk.startsWith('\n') ? chunk.slice(1) : chunk;
      afterCR = chunk.endsWith('\r');
      const out: SseMessage[] = [];
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const text of lines) line(text, out);
      return out;
    },
    get retryMs() {
      return retryMs;
    },
    get lastEventId() {
      return id;
    },
  };
}

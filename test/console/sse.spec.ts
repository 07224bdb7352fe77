import { describe, expect, it } from 'vitest';
import { createSseParser } from '../../web/src/sse.js';

// The console reads GET /api/stream with fetch (EventSource cannot send a token), so it parses
// text/event-stream itself.
describe('the console\u2019s server-sent events parser', () => {
  it('gives each event with the last id, across any split of the bytes, skipping comments', () => {
    const stream = 'retry: 2000\nid: 7\n: following the log after 7\n\nid: 8\ndata: {"a":1}\n\n: heartbeat\n\nid: 9\ndata: line one\ndata: line two\n\n';
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = createSseParser();
      const messages = [...parser.feed(stream.slice(0, cut)), ...parser.feed(stream.slice(cut))];
      expect(messages, `cut at ${cut}`).toEqual([
        { event: 'message', data: '{"a":1}', lastEventId: '8' },
        { event: 'message', data: 'line one\nline two', lastEventId: '9' },
      ]);
      expect(parser.retryMs).toBe(2000);
      expect(parser.lastEventId).toBe('9');
    }
  });

  it('reads CRLF and CR line ends, a CRLF split between chunks included, and named events', () => {
    const parser = createSseParser('3');
    expect(parser.feed('event: error\r\ndata: {"status":503}\r')).toEqual([]);
    // The \n completes the \r\n above; it is not a blank line of its own.
    expect(parser.feed('\n')).toEqual([]);
    expect(parser.feed('\r\ndata: x\r\r')).toEqual([
      { event: 'error', data: '{"status":503}', lastEventId: '3' },
      { event: 'message', data: 'x', lastEventId: '3' },
    ]);
  });

  it('keeps the resume point from an id without data', () => {
    const parser = createSseParser();
    expect(parser.feed('id: 42\n\n')).toEqual([]);
    expect(parser.lastEventId).toBe('42');
  });
});

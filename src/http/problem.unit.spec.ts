import { describe, expect, it } from 'vitest';
import { toProblem } from './problem.js';

describe('toProblem and storage failures', () => {
  // Regression test (fault campaign, issue 16): a full disk answered 500 INTERNAL.
  it('a full disk is a 503 the client may retry, not a 500', () => {
    for (const error of [Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), new Error('insert failed', { cause: Object.assign(new Error('could not extend file'), { code: '53100' }) })]) {
      const { problem, headers } = toProblem(error);
      expect(problem).toMatchObject({ status: 503, code: 'STORAGE_FULL' });
      expect(headers['retry-after']).toBe('5');
    }
  });

  it('an unreachable database stays STORAGE_UNAVAILABLE, anything else a 500', () => {
    expect(toProblem(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).problem).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });
    expect(toProblem(new Error('boom')).problem).toMatchObject({ status: 500, code: 'INTERNAL' });
  });
});

import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { stopInOrder, stopTogether } from './stopping.js';

function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('stopping', () => {
  it('names, in a warning, the parts that have not stopped yet, and only those', async () => {
    const { logger, lines } = recordingLogger();
    await stopTogether({ quick: () => undefined, slow: () => after(120) }, logger, 50);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatchObject({ msg: 'stopping: still waiting', waitingFor: ['slow'] });
  });

  it('runs steps in order, the next only once the one before has stopped', async () => {
    const { logger } = recordingLogger();
    const seen: string[] = [];
    await stopInOrder({ first: () => after(20).then(() => seen.push('first')), second: () => seen.push('second') }, logger);
    expect(seen).toEqual(['first', 'second']);
  });

  it('says nothing when every part stops in time', async () => {
    const { logger, lines } = recordingLogger();
    await stopTogether({ a: () => after(5), b: () => undefined }, logger, 50);
    await after(80);
    expect(lines).toEqual([]);
  });
});

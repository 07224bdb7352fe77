import { randomFillSync } from 'node:crypto';

/** Generates identifiers; injected so tests can make them predictable. */
export interface IdGenerator {
  next(): string;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const POOL_SIZE = 8 * 1024;

/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then a 12-bit
 * counter that keeps ids of one millisecond in order, then 62 random bits. Ids made later sort
 * after ids made earlier, so each index keyed by them grows at its right edge: a batch of
 * inserts dirties a few pages instead of one random page per row per index, which is most of
 * what a commit writes to the WAL. `now` is injected for tests.
 */
export function createUuidV7Generator(now: () => number = Date.now): IdGenerator {
  const pool = Buffer.allocUnsafe(POOL_SIZE);
  let poolOffset = POOL_SIZE;
  let lastMs = -1;
  let counter = 0;
  const bytes = new Uint8Array(16);

  function random(count: number): Buffer {
    if (poolOffset + count > POOL_SIZE) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const slice = pool.subarray(poolOffset, poolOffset + count);
    poolOffset += count;
    return slice;
  }

  return {
    next() {
      let ms = now();
      if (ms > lastMs) {
        lastMs = ms;
        // Start each millisecond at a random point in the lower half, leaving room to count up.
        counter = random(2).readUInt16BE(0) & 0x7ff;
      } else {
        // Same (or an earlier: the clock stepped back) millisecond: count on from the last id.
        ms = lastMs;
        counter++;
        if (counter > 0xfff) {
          lastMs = ++ms;
          counter = 0;
        }
      }
      const tail = random(8);
      bytes[0] = Math.floor(ms / 2 ** 40) & 0xff;
      bytes[1] = Math.floor(ms / 2 ** 32) & 0xff;
      bytes[2] = (ms >>> 24) & 0xff;
      bytes[3] = (ms >>> 16) & 0xff;
      bytes[4] = (ms >>> 8) & 0xff;
      bytes[5] = ms & 0xff;
      bytes[6] = 0x70 | (counter >>> 8);
      bytes[7] = counter & 0xff;
      bytes[8] = 0x80 | (tail[0]! & 0x3f);
      for (let i = 1; i < 8; i++) bytes[8 + i] = tail[i]!;
      let out = '';
      for (let i = 0; i < 16; i++) {
        if (i === 4 || i === 6 || i === 8 || i === 10) out += '-';
        out += HEX[bytes[i]!];
      }
      return out;
    },
  };
}

/** The default: time-ordered UUIDv7 identifiers. */
export const uuidGenerator: IdGenerator = createUuidV7Generator();

/** Creates a generator that yields `prefix-1`, `prefix-2`, … (tests). */
export function sequentialIds(prefix: string): IdGenerator {
  let n = 0;
  return { next: () => `${prefix}-${++n}` };
}

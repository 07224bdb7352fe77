import { randomFillSync } from 'node:crypto';

/** Generates identifiers; injected so tests can make them predictable. */
export interface IdGenerator {
  next(): string;
}

const POOL_SIZE = 8 * 1024;
/** ASCII of each byte's two hex digits, high digit first (`HEX_CODES[2 * b]`, `HEX_CODES[2 * b + 1]`). */
const HEX_CODES = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  const hex = b.toString(16).padStart(2, '0');
  HEX_CODES[2 * b] = hex.charCodeAt(0);
  HEX_CODES[2 * b + 1] = hex.charCodeAt(1);
}
/** Where each of the 16 bytes goes in the 36 characters of `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
const TEXT_OFFSETS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/**
 * Time-ordered UUIDs (RFC 9562 version 7): 48 bits of Unix milliseconds, then a 12-bit
 * counter that keeps ids of one millisecond in order, then 62 random bits. Ids made later sort
 * after ids made earlier, so each index keyed by them grows at its right edge: a batch of
 * inserts dirties a few pages instead of one random page per row per index, which is most of
 * what a commit writes to the WAL. `now` is injected for tests.
 *
 * Every event, order and inbox record takes one, on the hot path of both threads: an id is
 * written as ASCII into one buffer and read out as one string (no string per hex digit, no
 * buffer per random draw).
 */
export function createUuidV7Generator(now: () => number = Date.now): IdGenerator {
  const pool = Buffer.allocUnsafe(POOL_SIZE);
  let poolOffset = POOL_SIZE;
  let lastMs = -1;
  let counter = 0;
  const bytes = new Uint8Array(16);
  const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

  /** Where `count` fresh random bytes start in the pool. */
  function random(count: number): number {
    if (poolOffset + count > POOL_SIZE) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const at = poolOffset;
    poolOffset += count;
    return at;
  }

  return {
    next() {
      let ms = now();
      if (ms > lastMs) {
        lastMs = ms;
        // Start each millisecond at a random point in the lower half, leaving room to count up.
        const at = random(2);
        counter = ((pool[at]! << 8) | pool[at + 1]!) & 0x7ff;
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
      bytes[8] = 0x80 | (pool[tail]! & 0x3f);
      for (let i = 1; i < 8; i++) bytes[8 + i] = pool[tail + i]!;
      for (let i = 0; i < 16; i++) {
        const b = bytes[i]!;
        const offset = TEXT_OFFSETS[i]!;
        text[offset] = HEX_CODES[2 * b]!;
        text[offset + 1] = HEX_CODES[2 * b + 1]!;
      }
      return text.toString('latin1', 0, 36);
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

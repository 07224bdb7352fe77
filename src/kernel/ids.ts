import { randomUUID } from 'node:crypto';

/** Generates identifiers; injected so tests can make them predictable. */
export interface IdGenerator {
  next(): string;
}

/** Random UUIDv4 identifiers. */
export const uuidGenerator: IdGenerator = { next: () => randomUUID() };

/** Creates a generator that yields `prefix-1`, `prefix-2`, … (tests). */
export function sequentialIds(prefix: string): IdGenerator {
  let n = 0;
  return { next: () => `${prefix}-${++n}` };
}

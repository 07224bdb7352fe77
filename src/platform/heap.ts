import v8 from 'node:v8';

/**
 * How far past its live data each V8 heap of the process (the request thread's and the
 * delivery thread's) may grow before a full collection: ×1.3. Left to itself, V8 lets the old
 * generation of a heap grow to up to 4× what survived its last full collection on a machine
 * with memory to spare; under load that was most of the embedded process's peak RSS (348 MB,
 * live data ~32 MB and ~17 MB). A full collection marks the live data, not the garbage, so
 * coming sooner costs little: at ×2 the bench's embedded peak RSS was 201–212 MB, at ×1.5
 * 180 MB, and the CPU per order (`npm run bench:engine`) did not move. With `npm start`'s
 * `--single-threaded-gc` (package.json), which frees memory later than V8's concurrent
 * sweepers, ×1.5 peaked at 208 MB, ×1.3 at 191 MB. docs/benchmarks.md has the measurements.
 */
export const HEAP_GROWING_PERCENT = 30;

/**
 * Sets the growth bound for every heap of the process: V8 reads it at each full collection,
 * so it takes effect in the heaps that exist already and in the threads started later.
 * Called once, as `orderflow start` begins.
 */
export function boundHeapGrowth(percent: number = HEAP_GROWING_PERCENT): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    // Builds dist/ when src/ changed: the spawned `orderflow` processes run the build.
    globalSetup: ['test/support/build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites share one PostgreSQL server and spawn child processes; two cores.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});

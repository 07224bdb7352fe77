import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    // Builds dist/ when src/ changed: the spawned `orderflow` processes run the build.
    globalSetup: ['test/support/build.ts'],
    // Generous: the machines have 2 cores, shared with other runs. A timeout only turns a hang
    // into a failure; tests wait on conditions (eventually, settle, expect.poll), never on time.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    expect: { poll: { timeout: 30_000 } },
    // Suites share one PostgreSQL server and spawn child processes; two cores.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});

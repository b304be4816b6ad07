import { defineConfig } from 'vitest/config';

/** The benchmarks' own unit tests (the root config runs src/ and test/ only). */
export default defineConfig({
  test: { include: ['bench/**/*.test.ts'], testTimeout: 15_000 },
});

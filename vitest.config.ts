import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers than that only adds contention on SQLite and PostgreSQL.
    maxWorkers: 2,
    // Each worker process runs file after file and evaluates the server's module graph (fastify,
    // kysely, zod, mailparser, some 300 modules of src/) once, not once per file: with isolation
    // that evaluation was ~2.7 s of "import" per file, 352 of the suite's CPU-seconds. Every file
    // still builds what it tests (its own databases, servers, clocks) and closes it; src/ keeps no
    // module state but caches of pure values (compiled SQL, formats, translators).
    isolate: false,
    // expect.poll waits for what a server round trip or a browser's next frame brings; its 1 s
    // default is a few round trips on CI's loaded two cores, where the console's polls failed.
    // A poll that should hold at once is an expect, not a poll.
    expect: { poll: { timeout: 10_000 } },
  },
});

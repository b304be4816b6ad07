import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Three on CI's two cores: much of a file's time is spent waiting (a server's answer, a poll, a
    // browser's frame: src/sources/pull/pull.test.ts waits 43 of its 68 s alone), which a third
    // file fills. The suite ran in 791 s with three, 848 s with two (a clean checkout, quiet machine).
    maxWorkers: 3,
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

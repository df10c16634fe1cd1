import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // chdb allows one engine per process: every test file gets its own worker process.
    pool: "forks",
    isolate: true,
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // .ci/run reads the counts from this file to print its plain summary line.
    reporters: ["default", ["json", { outputFile: ".vitest-results.json" }]],
  },
});

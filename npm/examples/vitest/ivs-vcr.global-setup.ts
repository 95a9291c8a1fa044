// Vitest's global setup runs once, in the main process, before any worker starts. It starts one
// ivs-vcr server per worker (Vitest numbers its workers 1..maxWorkers in VITEST_POOL_ID), hands
// their URLs to the workers with `provide`, and stops them when the run ends. Without a
// `maxWorkers` setting (config or --maxWorkers), Vitest uses fewer workers than there are CPUs, so
// one server per CPU covers them.
//
// For cassettes instead of the emulator: `Server.start({ cassettes: "cassettes" })`; to record:
// `Server.start({ mode: "record", args: ["--cassettes", "cassettes", "--record-mode", "once"] })`.
import { availableParallelism } from "node:os";
import type { TestProject } from "vitest/node";
import { Server } from "ivs-vcr";

declare module "vitest" {
  export interface ProvidedContext {
    ivsVcrUrls: string[];
  }
}

export default async function setup(project: TestProject) {
  const count = project.config.maxWorkers || project.vitest.config.maxWorkers || availableParallelism();
  const servers = await Promise.all(Array.from({ length: count }, () => Server.start()));
  project.provide(
    "ivsVcrUrls",
    servers.map((server) => server.url),
  );
  return async () => {
    for (const server of servers) {
      const { exitCode, stderrTail } = await server.stop();
      // Exit code 1: some request matched no cassette; the summary in its log says which.
      if (exitCode !== 0) throw new Error(`ivs-vcr exited with ${exitCode}\n${stderrTail}`);
    }
  };
}

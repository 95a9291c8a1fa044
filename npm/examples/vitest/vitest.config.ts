// One ivs-vcr server per Vitest worker, started once for the run by the global setup, and reset
// before each test by the setup file (see ivs-vcr.global-setup.ts and ivs-vcr.setup.ts).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["./ivs-vcr.global-setup.ts"],
    setupFiles: ["./ivs-vcr.setup.ts"],
  },
});

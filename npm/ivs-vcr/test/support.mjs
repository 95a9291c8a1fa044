// Shared by the package's own tests: the binary they run, and an IVS client for a server.
//
// IVS_VCR_BIN names the executable (`.ci/run` passes the one `cargo test` built); without it,
// the tests use the repository's `target/debug/ivs-vcr`, so `npm test` works after `cargo build`.

import path from "node:path";
import { fileURLToPath } from "node:url";

import { IvsClient } from "@aws-sdk/client-ivs";

export const here = path.dirname(fileURLToPath(import.meta.url));
export const packageDir = path.join(here, "..");
export const repoDir = path.join(here, "..", "..", "..");

process.env.IVS_VCR_BIN ??= path.join(repoDir, "target", "debug", "ivs-vcr");

/** A client of `server` that does not retry, so each injected fault reaches the test. */
export function ivsClient(server, options = {}) {
  return new IvsClient({
    endpoint: server.url,
    region: "us-west-2",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    maxAttempts: 1,
    ...options,
  });
}

/** Polls `check` every 50 ms until it is true, for at most `timeoutMs`; resolves to whether it became true. */
export async function eventually(check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

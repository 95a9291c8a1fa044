// The real `ivs-vcr` binary (IVS_VCR_BIN, else target/debug/ivs-vcr) as each test file here runs
// it: an emulator on a free port, started once per file, its URL read from the first line it prints.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const binary = process.env.IVS_VCR_BIN ?? path.join(here, "..", "..", "target", "debug", "ivs-vcr");

/** Starts `ivs-vcr replay --port 0`; resolves to `{ server, endpoint }` once it listens. */
export async function startEmulator() {
  const server = spawn(binary, ["replay", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: server.stdout });
  let timer;
  const [first] = await Promise.race([
    once(lines, "line"),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("ivs-vcr did not start in 30 s")), 30_000);
    }),
  ]).finally(() => clearTimeout(timer));
  const match = /listening on (http:\/\/\S+)/.exec(first);
  if (!match) throw new Error(`unexpected first line: ${first}`);
  return { server, endpoint: match[1] };
}

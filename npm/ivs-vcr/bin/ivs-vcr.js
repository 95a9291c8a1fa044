#!/usr/bin/env node
// `npx ivs-vcr …`: runs the ivs-vcr executable of this platform's package (or IVS_VCR_BIN) with
// the same arguments and standard streams, passes on the signals a supervisor sends, and exits as
// the executable exited (with its code, or killed by the same signal).

"use strict";

const { spawn } = require("node:child_process");
const { BinaryNotFoundError, binaryPath } = require("../index.cjs");

let binary;
try {
  binary = binaryPath();
} catch (err) {
  if (!(err instanceof BinaryNotFoundError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  process.exit(2);
}

const child = spawn(binary, process.argv.slice(2), { stdio: "inherit" });

// A Ctrl-C in a terminal reaches both processes (one process group); a `kill` of this process
// reaches only it, so it is passed on. The server stops once either way.
const forwarded = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"].filter((s) => process.platform !== "win32" || s === "SIGINT");
const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
for (const signal of forwarded) process.on(signal, forward);

child.on("error", (err) => {
  process.stderr.write(`error: cannot run \`${binary}\`: ${err.message}\n`);
  process.exit(2);
});
child.on("exit", (code, signal) => {
  if (signal) {
    // Die of the same signal, so a parent sees what the executable saw.
    for (const s of forwarded) process.removeListener(s, forward);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 2);
});

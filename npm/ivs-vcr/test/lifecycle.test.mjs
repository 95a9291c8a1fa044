// The server's life next to the process that started it, the `ivs-vcr` launcher npm puts on
// PATH, and the package's layout (its versions and per-platform packages agree).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";

import { eventually, packageDir, repoDir } from "./support.mjs";

/** Whether a process id names a running process (a zombie has ended: it only waits to be reaped). */
function running(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Linux: the state after the command name, `Z` for a zombie.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return true;
  }
}

async function firstLine(stream) {
  const lines = createInterface({ input: stream });
  const [line] = await once(lines, "line");
  return line;
}

test("the server exits soon after the node process that started it is SIGKILLed", { skip: process.platform === "win32" }, async () => {
  // The child starts a Server and prints its pid, then idles: only SIGKILL ends it, so no
  // handler of the package's can run, and only the closed stdin pipe can tell the server.
  const script = `
    const { Server } = require(${JSON.stringify(path.join(packageDir, "index.cjs"))});
    Server.start().then((server) => {
      console.log(JSON.stringify({ pid: server.pid, url: server.url }));
      setInterval(() => {}, 1000);
    });
  `;
  const parent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const { pid, url } = JSON.parse(await firstLine(parent.stdout));
  assert.ok(running(pid), "the server runs while its parent does");
  const health = await fetch(`${url}/_ivs-vcr/health`);
  assert.equal(health.status, 200);

  parent.kill("SIGKILL");
  await once(parent, "exit");
  const gone = await eventually(() => !running(pid), 10_000);
  if (!gone) process.kill(pid, "SIGKILL");
  assert.ok(gone, `ivs-vcr (pid ${pid}) was still running 10 s after its parent was SIGKILLed`);
});

test("a script that starts a server and never stops it still ends, and so does the server", async () => {
  const script = `
    const { Server } = require(${JSON.stringify(path.join(packageDir, "index.cjs"))});
    Server.start().then((server) => console.log(server.pid));
  `;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const pid = Number(await firstLine(child.stdout));
  let timer;
  const exited = await Promise.race([
    once(child, "exit").then(([code]) => code),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve("still running"), 10_000);
    }),
  ]);
  clearTimeout(timer);
  if (exited === "still running") child.kill("SIGKILL");
  assert.equal(exited, 0);
  const gone = await eventually(() => !running(pid), 10_000);
  if (!gone) process.kill(pid, "SIGKILL");
  assert.ok(gone, `ivs-vcr (pid ${pid}) outlived the script that started it`);
});

const launcher = path.join(packageDir, "bin", "ivs-vcr.js");

test("the launcher runs the binary with the same arguments and exit code", async () => {
  const version = spawn(process.execPath, [launcher, "--version"], { stdio: ["ignore", "pipe", "inherit"] });
  assert.match(await firstLine(version.stdout), /^ivs-vcr \d+\.\d+\.\d+/);
  assert.equal((await once(version, "exit"))[0], 0);

  const refused = spawn(process.execPath, [launcher, "replay", "--no-such-flag"], { stdio: "ignore" });
  assert.equal((await once(refused, "exit"))[0], 2);
});

test("the launcher passes SIGTERM on to the server, which stops cleanly", { skip: process.platform === "win32" }, async () => {
  const child = spawn(process.execPath, [launcher, "replay", "--port", "0"], { stdio: ["ignore", "pipe", "ignore"] });
  assert.match(await firstLine(child.stdout), /^ivs-vcr replay listening on http:\/\/127\.0\.0\.1:\d+$/);
  child.kill("SIGTERM");
  const [code, signal] = await once(child, "exit");
  assert.deepEqual({ code, signal }, { code: 0, signal: null });
});

test("without IVS_VCR_BIN or the platform package, the launcher says what to install", async () => {
  const env = { ...process.env };
  delete env.IVS_VCR_BIN;
  // From a copy outside any node_modules, so no platform package can be found.
  const lonely = fs.mkdtempSync(path.join(repoDir, "target", "ivs-vcr-npm-"));
  try {
    fs.mkdirSync(path.join(lonely, "bin"));
    fs.copyFileSync(launcher, path.join(lonely, "bin", "ivs-vcr.js"));
    fs.copyFileSync(path.join(packageDir, "index.cjs"), path.join(lonely, "index.cjs"));
    const child = spawn(process.execPath, [path.join(lonely, "bin", "ivs-vcr.js"), "--version"], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const [code] = await once(child, "exit");
    assert.equal(code, 2);
    assert.match(stderr, /`@ivs-vcr\/[a-z0-9]+-[a-z0-9]+`.*is not installed/);
    assert.match(stderr, /IVS_VCR_BIN/);
  } finally {
    fs.rmSync(lonely, { recursive: true, force: true });
  }
});

test("the package, its platform packages and the crate share one version, and every platform is listed", () => {
  const main = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8"));
  const cargo = fs.readFileSync(path.join(repoDir, "Cargo.toml"), "utf8");
  const crateVersion = /^version = "([^"]+)"/m.exec(cargo)[1];
  assert.equal(main.version, crateVersion);

  const platformsDir = path.join(packageDir, "..", "platforms");
  const folders = fs.readdirSync(platformsDir).sort();
  assert.deepEqual(Object.keys(main.optionalDependencies).sort(), folders.map((f) => `@ivs-vcr/${f}`));
  for (const folder of folders) {
    const pkg = JSON.parse(fs.readFileSync(path.join(platformsDir, folder, "package.json"), "utf8"));
    const [os, cpu] = folder.split("-");
    assert.equal(pkg.name, `@ivs-vcr/${folder}`);
    assert.equal(pkg.version, main.version, pkg.name);
    assert.equal(main.optionalDependencies[pkg.name], main.version, pkg.name);
    assert.deepEqual({ os: pkg.os, cpu: pkg.cpu }, { os: [os], cpu: [cpu] }, pkg.name);
    assert.deepEqual(pkg.files, ["bin/"], pkg.name);
  }
});

test("the types for import and for require are the same text", () => {
  const cts = fs.readFileSync(path.join(packageDir, "index.d.cts"), "utf8");
  const mts = fs.readFileSync(path.join(packageDir, "index.d.mts"), "utf8");
  assert.equal(mts, cts, "index.d.mts must be a copy of index.d.cts");
});

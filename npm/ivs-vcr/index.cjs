// ivs-vcr for JavaScript: the `ivs-vcr` executable, and a way to run it from tests.
//
// `binaryPath()` finds the executable: `IVS_VCR_BIN`, else the platform package npm installed
// beside this one (`@ivs-vcr/<platform>-<arch>`, an optional dependency, as esbuild and biome do).
// `Server.start()` runs `ivs-vcr replay` (the in-memory IVS emulator, or cassettes) or
// `ivs-vcr record` on a free loopback port and drives its control plane under `/_ivs-vcr/`
// (reset, summary, state snapshots and restores, live streams, fault injection). It mirrors the Python package's
// `ivs_vcr.Server`, with JavaScript names.
//
// The server's life is tied to this process's: it is started with `--exit-on-stdin-close` and a
// pipe as its stdin whose writing end only this process holds. However this process ends (SIGKILL
// included, which no `exit` handler sees), the operating system closes that end and the server
// stops as on SIGTERM, so no record server holding the operator's credentials outlives its tests.
//
// This file is the implementation; `index.mjs` re-exports it for `import`, so both module systems
// share one set of classes (`instanceof ControlPlaneError` holds whichever way it was loaded).
// It uses Node's standard library only.

"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const readline = require("node:readline");

/** The environment variable that names the executable to use, ahead of the installed one. */
const BIN_ENV = "IVS_VCR_BIN";

/** The control plane's path prefix. */
const CONTROL_PREFIX = "/_ivs-vcr";

/** The variables the AWS SDKs read for the IVS family's endpoints; one server answers them all. */
const ENDPOINT_VARIABLES = Object.freeze([
  "AWS_ENDPOINT_URL_IVS",
  "AWS_ENDPOINT_URL_IVSCHAT",
  "AWS_ENDPOINT_URL_IVS_REALTIME",
]);

/** Set by `setEnv` when no AWS credentials are configured, so the SDK under test need not look. */
const DUMMY_CREDENTIALS = Object.freeze({ AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" });

/** Set by `setEnv` when no region is configured. */
const DEFAULT_REGION = "us-west-2";

// The first stdout line of every server: `ivs-vcr replay listening on http://127.0.0.1:PORT`.
const LISTENING = /^ivs-vcr (\w+) listening on (http:\/\/\S+)\s*$/;

// Terminal colour codes, taken out of log tails shown in test reports.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

// How many lines of each output stream are kept for reports.
const TAIL_LINES = 200;

/** No `ivs-vcr` executable could be found; the message says where it looked. */
class BinaryNotFoundError extends Error {
  constructor(message) {
    super(message);
    this.name = "BinaryNotFoundError";
  }
}

/** A server could not start, or died; the message carries its exit code and stderr tail. */
class ServerError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "ServerError";
  }
}

/**
 * A control-plane call was refused: `status` is the HTTP status, `errorType` the
 * `x-amzn-ErrorType` (if any) and `serverMessage` the server's explanation.
 */
class ControlPlaneError extends Error {
  constructor(method, path, status, errorType, serverMessage) {
    const kind = errorType ? ` ${errorType}` : "";
    super(`${method} ${path} answered ${status}${kind}: ${serverMessage}`);
    this.name = "ControlPlaneError";
    this.method = method;
    this.path = path;
    this.status = status;
    this.errorType = errorType;
    this.serverMessage = serverMessage;
  }
}

/**
 * The server does not know a control-plane endpoint (it answered 404 as to an unknown IVS
 * operation): the `ivs-vcr` binary is older than this package.
 */
class ControlPlaneMissing extends ControlPlaneError {
  constructor(method, path, status, errorType, serverMessage) {
    super(method, path, status, errorType, serverMessage);
    this.name = "ControlPlaneMissing";
    this.message =
      `this ivs-vcr has no \`${method} ${path}\` endpoint (it answered ${status} ${errorType}); ` +
      "use an ivs-vcr as new as this npm package";
  }
}

/** The platform package's name for this machine: `@ivs-vcr/linux-x64`, `@ivs-vcr/win32-x64`, … */
function platformPackage(platform = process.platform, arch = process.arch) {
  return `@ivs-vcr/${platform}-${arch}`;
}

/**
 * The path of the `ivs-vcr` executable: the `IVS_VCR_BIN` environment variable (for a binary built
 * with `cargo build`), else the one in this platform's package. Throws `BinaryNotFoundError`
 * saying where it looked and how to install it.
 *
 * There is deliberately no `PATH` fallback: in an npm script `PATH` starts with
 * `node_modules/.bin`, whose `ivs-vcr` is this package's own launcher.
 */
function binaryPath() {
  const override = process.env[BIN_ENV];
  if (override) {
    if (isExecutable(override)) return path.resolve(override);
    throw new BinaryNotFoundError(
      `${BIN_ENV}=${override} is not an executable file; point it at a built ivs-vcr ` +
        "(such as target/debug/ivs-vcr after `cargo build`) or unset it",
    );
  }
  const pkg = platformPackage();
  const exe = process.platform === "win32" ? "ivs-vcr.exe" : "ivs-vcr";
  let manifest;
  try {
    manifest = require.resolve(`${pkg}/package.json`);
  } catch {
    throw new BinaryNotFoundError(
      `the package \`${pkg}\`, which holds the ivs-vcr executable for ${process.platform}-${process.arch}, ` +
        "is not installed. npm installs it with `ivs-vcr` unless optional dependencies are omitted " +
        "(--omit=optional, --no-optional) or the platform has no prebuilt binary; reinstall with optional " +
        `dependencies, or build ivs-vcr (\`cargo install --path .\` in its repository) and set ${BIN_ENV} to it`,
    );
  }
  const binary = path.join(path.dirname(manifest), "bin", exe);
  if (!isExecutable(binary)) {
    throw new BinaryNotFoundError(
      `\`${pkg}\` is installed but has no executable \`${binary}\`; reinstall it, or set ${BIN_ENV} to a built ivs-vcr`,
    );
  }
  return binary;
}

function isExecutable(file) {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The last lines of a stream, kept as they come (reading also keeps the pipe from filling up). */
class Tail {
  constructor() {
    this.lines = [];
  }
  push(line) {
    this.lines.push(line.replace(ANSI, ""));
    if (this.lines.length > TAIL_LINES) this.lines.shift();
  }
  text(n = TAIL_LINES) {
    return this.lines.slice(-n).join("\n");
  }
}

/**
 * The control plane of a running `ivs-vcr` server, by its URL: what a test needs to drive the
 * server (reset, faults, live streams, summary) and to point the code under test at it. `Server`
 * is one, with the process behind it; `new ControlPlane(url)` is one for a server started
 * elsewhere, such as in a test runner's global setup.
 */
class ControlPlane {
  /** `url` is the server's base URL, as `Server.url` gives it. */
  constructor(url, { requestTimeoutMs = 30_000 } = {}) {
    if (typeof url !== "string" || !/^http:\/\//.test(url)) {
      throw new TypeError(`a control plane needs the server's http:// url, not ${JSON.stringify(url)}`);
    }
    /** The server's base URL, `http://127.0.0.1:PORT`: the endpoint of every IVS client. */
    this.url = url.replace(/\/+$/, "");
    /** How long a control-plane call may take, in milliseconds. */
    this.requestTimeoutMs = requestTimeoutMs;
    this._envBefore = null;
  }

  /**
   * The variables that point the AWS SDKs' IVS, IVS Chat and IVS Real-Time clients at this
   * server: `{ AWS_ENDPOINT_URL_IVS: url, AWS_ENDPOINT_URL_IVSCHAT: url, AWS_ENDPOINT_URL_IVS_REALTIME: url }`.
   */
  env() {
    return Object.fromEntries(ENDPOINT_VARIABLES.map((name) => [name, this.url]));
  }

  /**
   * Points the code under test at this server through `process.env`: the endpoint variables of
   * `env()`, and, when none are configured, dummy credentials and a region (so the SDK does not
   * search for what it does not need). `restoreEnv()`, and a `Server`'s `stop()`, put back what was
   * there before. A server started before this keeps the caller's real credentials (for record).
   */
  setEnv() {
    const wanted = this.env();
    if (!(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE)) Object.assign(wanted, DUMMY_CREDENTIALS);
    if (!(process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION)) wanted.AWS_REGION = DEFAULT_REGION;
    this._envBefore ??= new Map();
    for (const [name, value] of Object.entries(wanted)) {
      if (!this._envBefore.has(name)) this._envBefore.set(name, { before: process.env[name], set: value });
      else this._envBefore.get(name).set = value;
      process.env[name] = value;
    }
  }

  /** Puts back the variables `setEnv` changed, unless something else changed them since. */
  restoreEnv() {
    if (!this._envBefore) return;
    for (const [name, { before, set }] of this._envBefore) {
      if (process.env[name] !== set) continue;
      if (before === undefined) delete process.env[name];
      else process.env[name] = before;
    }
    this._envBefore = null;
  }

  /** What to add to the error of a call that could not reach the server. */
  async _unreachable() {
    return "";
  }

  /**
   * Calls a control-plane endpoint (`path` under `/_ivs-vcr/`, or absolute) with a JSON body and
   * resolves to the decoded JSON answer (`null` for an empty one). Rejects with
   * `ControlPlaneMissing` when the server does not know the endpoint, `ControlPlaneError` for any
   * other refusal, and `ServerError` when the server cannot be reached.
   */
  async request(method, path, body) {
    const target = path.startsWith("/") ? path : `${CONTROL_PREFIX}/${path}`;
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    let answer;
    try {
      answer = await send(this.url + target, method, data, this.requestTimeoutMs);
    } catch (err) {
      const hint = await this._unreachable();
      throw new ServerError(`${method} ${this.url}${target} failed: ${err.message}${hint}`, { cause: err });
    }
    if (answer.status >= 400) throw controlError(method, target, answer);
    const text = answer.body.toString("utf8");
    return text.trim() ? JSON.parse(text) : null;
  }

  /** `GET /_ivs-vcr/health`: `{ status: "ok", mode: "emulate" | "replay" | "record" }`. */
  async health() {
    return object(await this.request("GET", "health"));
  }

  /**
   * Empties the emulator, rewinds every cassette's sequences and clears faults; with `account`
   * (a 12-digit id), empties that account's state (and forgets its summary counts) only, leaving
   * everything else: what a worker sharing the server with others does.
   */
  async reset(options = {}) {
    await this.request("POST", `reset${accountQuery(options)}`, {});
  }

  /**
   * What was served so far: per operation counts, unmatched requests with their reports, unused
   * interactions, and under `accounts` each account's emulated and faulted counts. With `account`
   * (a 12-digit id), that account's part only: `{mode, account, operations: {<op>: {emulated,
   * faulted}}, n_emulated, n_faulted}` (cassette counts are the server's, in the whole summary only).
   */
  async summary(options = {}) {
    return object(await this.request("GET", `summary${accountQuery(options)}`));
  }

  /**
   * The emulator's resources: the default account's per region, and every account's under
   * `accounts`; with `account` (a 12-digit id), that account's per region.
   */
  async state(options = {}) {
    return object(await this.request("GET", `state${accountQuery(options)}`));
  }

  /**
   * The emulator's state as a versioned document (`{format: "ivs-vcr/state", version: 1, …}`)
   * that `restore()` takes back: every account's, or with `account` (a 12-digit id) that one's.
   * It never holds the emulator's private key.
   */
  async snapshot(options = {}) {
    return object(await this.request("GET", `state${accountQuery(options)}`));
  }

  /**
   * Restores a `snapshot()`: the whole emulator, or the one account of a one-account snapshot.
   * Checked whole first: a refused document (`ControlPlaneError`, status 400) changes nothing.
   */
  async restore(document) {
    return object(await this.request("POST", "state", document));
  }

  /** Writes the state to the server's `--state-file` now: `{path, bytes}`; 409 without one. */
  async saveState() {
    return object(await this.request("POST", "state/save", {}));
  }

  /** Makes the emulator's channel live, as if a broadcaster had connected. */
  async startStream(channelArn, { health, viewerCount } = {}) {
    const body = { channelArn };
    if (health !== undefined) body.health = health;
    if (viewerCount !== undefined) body.viewerCount = viewerCount;
    return this.request("POST", "streams/start", body);
  }

  /** Ends the live stream of the emulator's channel. */
  async stopStream(channelArn) {
    return this.request("POST", "streams/stop", { channelArn });
  }

  /**
   * Joins a participant to the stage its token is for, as IVS's broadcast SDK would without media:
   * the first join starts the stage session; `ListParticipantEvents` shows `JOINED` (and
   * `PUBLISH_STARTED` with `publish: true`). `token` is a `CreateParticipantToken` (or
   * `CreateStage`) token, or one signed with a private key whose public key was imported.
   * `publish` and `subscribe` say what the participant does, within the token's capabilities
   * (the server's defaults when left out). Resolves to `{ participantId, stageArn, sessionId }`;
   * a refused join (an expired or forged token, a deleted stage, a capability the token lacks)
   * rejects with `ControlPlaneError` carrying the server's message.
   */
  async joinStage(token, { publish, subscribe } = {}) {
    const body = { token };
    if (publish !== undefined) body.publish = publish;
    if (subscribe !== undefined) body.subscribe = subscribe;
    return stageJoin(await this.request("POST", "stages/join", body));
  }

  /**
   * Publishes into a stage with an ingest configuration's stream key, as an RTMP(S) encoder
   * would: the configuration goes `ACTIVE` and its participant joins and publishes. Resolves to
   * `{ participantId, stageArn, sessionId }`; leave with `leaveStage(participantId)`.
   */
  async joinStageWithStreamKey(streamKey) {
    return stageJoin(await this.request("POST", "stages/join", { streamKey }));
  }

  /**
   * Takes a joined participant out of its stage (`LEFT` in its events, `DISCONNECTED` in
   * `GetParticipant`); the last one to leave ends the stage session. `stageArn` narrows the
   * look-up when the same id could be in several stages.
   */
  async leaveStage(participantId, { stageArn } = {}) {
    const body = { participantId };
    if (stageArn !== undefined) body.stageArn = stageArn;
    await this.request("POST", "stages/leave", body);
  }

  /**
   * Moves the emulator's clock forward by `seconds`: token and session expiry, rate windows,
   * composition and stage-session timeouts and the times new answers carry all follow it.
   * Resolves to `{ now, epochMillis, aheadSeconds }`; `reset()` returns the clock to the wall clock.
   */
  async advanceClock(seconds) {
    return this.request("POST", "clock", { advance_seconds: seconds });
  }

  /** Sets the emulator's clock to `time` (`"2030-01-01T00:00:00Z"`); the clock only moves forward. */
  async setClock(time) {
    return this.request("POST", "clock", { time });
  }

  /**
   * Changes a live stream's `health` (`HEALTHY`, `STARVING`, `UNKNOWN`; a change sends IVS Stream
   * Health Change) or viewer count, as ingest measuring it would.
   */
  async updateStream(channelArn, { health, viewerCount } = {}) {
    const body = { channelArn };
    if (health !== undefined) body.health = health;
    if (viewerCount !== undefined) body.viewerCount = viewerCount;
    return this.request("POST", "streams/update", body);
  }

  /**
   * The EventBridge events the emulator sent (`GET /_ivs-vcr/events`), oldest first, in the
   * envelope EventBridge delivers: stream state and health changes, recording state changes.
   * `detailType` keeps one type; `since` skips the first `since` events made since the last reset,
   * of every account; `account` (a 12-digit id) keeps the events of that account's resources.
   */
  async events({ detailType, since, account } = {}) {
    const query = new URLSearchParams();
    if (detailType !== undefined) query.set("detail-type", detailType);
    if (since) query.set("since", String(since));
    if (account !== undefined) query.set("account", account);
    // `%20` for a space: the server reads `+` as itself, as AWS reads query strings.
    const text = query.toString().replace(/\+/g, "%20");
    const answer = object(await this.request("GET", text ? `events?${text}` : "events"));
    if (!Array.isArray(answer.events)) {
      throw new ServerError(`GET ${CONTROL_PREFIX}/events answered without an \`events\` list`);
    }
    return answer.events;
  }

  /**
   * Adds a fault rule and resolves to it as the server lists it (with its `id`).
   *
   * `fault({ operation: "GetChannel", error: "ThrottlingException", times: 2 })` makes the next two
   * GetChannel calls fail with IVS's 429. `error` is any modeled IVS error (its status comes from
   * the model), `status` alone gives a generic error, `delayMs` stalls, `connection` (`"reset"` or
   * `"empty"`) drops the connection, `rate` (0–1, seeded by `seed`) fires at random but
   * reproducibly. No `operation` means every operation. `account` (a 12-digit id) limits the rule
   * to the requests of that account (as the server maps access keys to accounts), so suites that
   * share one server, each in its own account, do not fault each other's calls.
   */
  async fault(rule = {}) {
    const given = {
      account: rule.account,
      service: rule.service,
      operation: rule.operation,
      error: rule.error,
      status: rule.status,
      times: rule.times,
      rate: rule.rate,
      delay_ms: rule.delayMs,
      connection: rule.connection,
      retry_after_ms: rule.retryAfterMs,
      message: rule.message,
      seed: rule.seed,
    };
    const known = new Set(["account", "service", "operation", "error", "status", "times", "rate", "delayMs", "connection", "retryAfterMs", "message", "seed"]);
    const unknown = Object.keys(rule).filter((key) => !known.has(key));
    if (unknown.length) {
      throw new TypeError(`unknown fault option ${unknown.map((k) => `\`${k}\``).join(", ")}; known: ${[...known].join(", ")}`);
    }
    const body = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
    return object(await this.request("POST", "faults", body));
  }

  /** The fault rules, with `remaining` uses. */
  async faults() {
    const faults = object(await this.request("GET", "faults")).faults;
    if (!Array.isArray(faults)) throw new ServerError(`GET ${CONTROL_PREFIX}/faults answered without a \`faults\` list`);
    return faults;
  }

  /** Removes every fault rule. */
  async clearFaults() {
    await this.request("DELETE", "faults");
  }

  toString() {
    return `[ivs-vcr ControlPlane ${this.url}]`;
  }
}

/**
 * One `ivs-vcr` server process on a free loopback port. Start it with `await Server.start()`
 * (the in-memory emulator), `Server.start({ cassettes: "cassettes" })` or
 * `Server.start({ mode: "record", args: ["--cassettes", "dir", "--record-mode", "once"] })`,
 * and end it with `await server.stop()`.
 */
class Server extends ControlPlane {
  /** Use `Server.start()`, which waits until the server listens. */
  constructor(internals) {
    if (!internals || internals.token !== CONSTRUCT) {
      throw new TypeError("use `await Server.start(options)` to start an ivs-vcr server");
    }
    const { child, command, mode, url, stdout, stderr, closed, requestTimeoutMs } = internals;
    super(url, { requestTimeoutMs });
    this._child = child;
    this._stdout = stdout;
    this._stderr = stderr;
    this._closed = closed;
    this._result = null;
    this._stopping = null;
    /** The command line the server was started with. */
    this.command = command;
    /** `replay` or `record`. */
    this.mode = mode;
  }

  /**
   * Starts `ivs-vcr <mode> [args] --port 0 --exit-on-stdin-close` and resolves once it listens.
   * Rejects with `ServerError` when it exits or says nothing within `startupTimeoutMs`, and with
   * `BinaryNotFoundError` when there is no `ivs-vcr` to run.
   */
  static async start(options = {}) {
    const mode = options.mode ?? "replay";
    if (mode !== "serve" && mode !== "replay" && mode !== "record") {
      throw new TypeError(`mode must be "serve", "replay" or "record", not ${JSON.stringify(mode)}`);
    }
    const args = [...(options.args ?? [])];
    for (const cassettes of [].concat(options.cassettes ?? [])) args.push("--cassettes", cassettes);
    const binary = options.binary ?? binaryPath();
    const command = [binary, mode, ...args, "--port", "0", "--exit-on-stdin-close"];
    const startupTimeoutMs = options.startupTimeoutMs ?? 30_000;
    const shown = command.join(" ");

    const child = spawn(binary, command.slice(1), {
      // stdin is never written to: its end (this process's death included) stops the server.
      stdio: ["pipe", "pipe", "pipe"],
      env: options.env ? { ...options.env } : process.env,
      cwd: options.cwd,
      windowsHide: true,
    });
    const stdout = new Tail();
    const stderr = new Tail();
    // Resolves once the process has exited and both output streams are read to their end.
    const closed = new Promise((resolve) => child.once("close", resolve));
    let spawnError = null;
    child.once("error", (err) => {
      spawnError = err;
    });
    // A server that dies early closes its end of the pipe: an EPIPE here is reported as its exit.
    child.stdin.on("error", () => {});
    readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on("line", (l) => stderr.push(l));
    const lines = readline.createInterface({ input: child.stdout, crlfDelay: Infinity });

    const first = await new Promise((resolve) => {
      let timer = null;
      const finish = (outcome) => {
        clearTimeout(timer);
        lines.removeListener("line", onLine);
        child.removeListener("close", onClose);
        child.removeListener("error", onError);
        resolve(outcome);
      };
      const onLine = (line) => finish({ line });
      const onClose = () => finish({ exited: true });
      const onError = (err) => finish({ error: err });
      lines.once("line", onLine);
      child.once("close", onClose);
      child.once("error", onError);
      timer = setTimeout(() => finish({ timeout: true }), startupTimeoutMs);
    });
    lines.on("line", (l) => stdout.push(l));

    const fail = async (said) => {
      if (child.exitCode === null && child.signalCode === null && !spawnError) child.kill("SIGKILL");
      if (!spawnError) await closed;
      const err = spawnError ?? first.error;
      if (err) return new ServerError(`cannot run \`${binary}\`: ${err.message}`, { cause: err });
      return new ServerError(`\`${shown}\` ${said}\n${tailBlock(stderr.text(40))}`);
    };
    if (first.error) throw await fail("");
    if (first.timeout) throw await fail(`printed nothing within ${startupTimeoutMs / 1000}s`);
    const match = first.line === undefined ? null : LISTENING.exec(first.line);
    if (!match) {
      if (first.line !== undefined) throw await fail(`did not start: its first line was ${JSON.stringify(first.line)}`);
      await closed;
      throw await fail(`did not start: it exited with ${describeExit(child.exitCode, child.signalCode)}`);
    }

    const server = new Server({
      token: CONSTRUCT,
      child,
      command,
      mode,
      url: match[2],
      stdout,
      stderr,
      closed,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    });
    // A running server does not hold this process open: a test run that forgets `stop()` still
    // ends, and its end stops the server through the stdin pipe.
    server._setRef(false);
    if (options.setEnv) server.setEnv();
    return server;
  }

  _setRef(on) {
    const method = on ? "ref" : "unref";
    this._child[method]();
    for (const stream of [this._child.stdin, this._child.stdout, this._child.stderr]) {
      if (stream && typeof stream[method] === "function") stream[method]();
    }
  }

  /** The server's process id. */
  get pid() {
    return this._child.pid;
  }

  /** Whether the server process is still running. */
  get alive() {
    return this._child.exitCode === null && this._child.signalCode === null;
  }

  /** The exit code once the server has ended (`null` while it runs, or if a signal ended it). */
  get exitCode() {
    return this._child.exitCode;
  }

  /** The last `lines` lines the server wrote to stderr (its logs), without colour codes. */
  stderrTail(lines = 40) {
    return this._stderr.text(lines);
  }

  /** A readable account of a server that ended: command, exit status, stderr tail. */
  deathReport() {
    const how = describeExit(this._child.exitCode, this._child.signalCode);
    return `ivs-vcr ${this.mode} server (\`${this.command.join(" ")}\`) exited with ${how}\n${tailBlock(this.stderrTail())}`;
  }

  /**
   * Stops the server gracefully (stdin closed, and SIGTERM where there are signals: in-flight
   * requests finish and cassettes are written), killing it after `timeoutMs`. Resolves to its exit
   * code and output tails; calling it again gives the same result. Restores what `setEnv` changed.
   */
  async stop({ timeoutMs = 15_000 } = {}) {
    if (this._result) return this._result;
    this._stopping ??= this._stop(timeoutMs);
    return this._stopping;
  }

  async _stop(timeoutMs) {
    this.restoreEnv();
    this._setRef(true);
    const child = this._child;
    if (this.alive) {
      child.stdin.end();
      // On Windows `kill` is TerminateProcess, which would skip writing cassettes: the closed stdin
      // alone stops the server there.
      if (process.platform !== "win32") child.kill("SIGTERM");
      let timer;
      const killed = new Promise((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      });
      const graceful = await Promise.race([this._closed.then(() => false), killed]);
      clearTimeout(timer);
      if (graceful && this.alive) child.kill("SIGKILL");
    } else {
      child.stdin.destroy();
    }
    await this._closed;
    this._result = Object.freeze({
      exitCode: child.exitCode,
      signal: child.signalCode,
      stderrTail: this.stderrTail(),
      stdoutTail: this._stdout.text(),
    });
    return this._result;
  }

  async _unreachable() {
    // A server that cannot be reached is often one that is dying: let it finish.
    if (this.alive) await Promise.race([this._closed, delay(500)]);
    return this.alive ? "" : `\n${this.deathReport()}`;
  }

  toString() {
    const state = this.alive ? "running" : `exited ${describeExit(this._child.exitCode, this._child.signalCode)}`;
    return `[ivs-vcr Server ${this.mode} ${this.url} ${state}]`;
  }
}

// Only `Server.start` builds a `Server`: one made otherwise would have no process behind it.
const CONSTRUCT = Symbol("ivs-vcr Server.start");

function describeExit(code, signal) {
  return signal ? `signal ${signal}` : `code ${code}`;
}

function tailBlock(tail) {
  return tail ? `--- ivs-vcr stderr (last lines) ---\n${tail}` : "(ivs-vcr wrote nothing to stderr)";
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One HTTP exchange, on a connection of its own (`agent: false`): no pooled socket outlives the
 * call to hold the process open or to meet a stopped server.
 */
function send(url, method, data, timeoutMs) {
  return new Promise((resolve, reject) => {
    const headers = {};
    // The control plane refuses bodies that are not JSON.
    if (data) Object.assign(headers, { "content-type": "application/json", "content-length": data.length });
    const req = http.request(url, { method, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
    req.on("error", reject);
    req.end(data ?? undefined);
  });
}

/** The answer to `POST /_ivs-vcr/stages/join`: `{ participantId, stageArn, sessionId }`. */
function stageJoin(value) {
  const answer = object(value);
  for (const member of ["participantId", "stageArn", "sessionId"]) {
    if (typeof answer[member] !== "string") {
      throw new ServerError(`POST ${CONTROL_PREFIX}/stages/join answered without \`${member}\`: ${JSON.stringify(answer)}`);
    }
  }
  return { participantId: answer.participantId, stageArn: answer.stageArn, sessionId: answer.sessionId };
}

/** `?account=ID` when `options.account` is given, for the calls that take an account. */
function accountQuery(options) {
  return options.account === undefined ? "" : `?account=${encodeURIComponent(options.account)}`;
}

/** A control-plane answer that must be a JSON object. */
function object(value) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ServerError(`the ivs-vcr control plane answered ${JSON.stringify(value)} where an object was expected`);
  }
  return value;
}

/** Turns a refused control-plane call into an error carrying the server's message. */
function controlError(method, path, answer) {
  const raw = answer.body.toString("utf8");
  let errorType = answer.headers["x-amzn-errortype"] ?? null;
  let message = raw.trim();
  let body = null;
  try {
    body = JSON.parse(raw);
  } catch {
    // not JSON: the raw text is the message
  }
  if (body && typeof body === "object" && !Array.isArray(body)) {
    message = String(body.message || body.error || body.exceptionMessage || message);
    errorType = errorType || body.__type || null;
  }
  // A server without the control plane treats `/_ivs-vcr/…` as an unknown IVS operation; one with
  // an older control plane says the call is unknown to it.
  if (answer.status === 404 && /^IvsVcrUnknown(Operation|Control)/.test(errorType ?? "")) {
    return new ControlPlaneMissing(method, path, answer.status, errorType, message);
  }
  return new ControlPlaneError(method, path, answer.status, errorType, message || http.STATUS_CODES[answer.status]);
}

module.exports = {
  BIN_ENV,
  BinaryNotFoundError,
  CONTROL_PREFIX,
  ControlPlane,
  ControlPlaneError,
  ControlPlaneMissing,
  DEFAULT_REGION,
  DUMMY_CREDENTIALS,
  ENDPOINT_VARIABLES,
  Server,
  ServerError,
  binaryPath,
  platformPackage,
};

// Types of ivs-vcr's JavaScript API. `index.d.cts` (require) and `index.d.mts` (import) are the
// same text: one describes `index.cjs`, the other `index.mjs`, which re-exports it.

/** The environment variable that names the executable to use, ahead of the installed one. */
export declare const BIN_ENV: "IVS_VCR_BIN";
/** The control plane's path prefix. */
export declare const CONTROL_PREFIX: "/_ivs-vcr";
/** The region `setEnv` sets when none is configured. */
export declare const DEFAULT_REGION: string;
/** The credentials `setEnv` sets when none are configured. */
export declare const DUMMY_CREDENTIALS: Readonly<{ AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string }>;
/** The variables the AWS SDKs read for the IVS family's endpoints. */
export declare const ENDPOINT_VARIABLES: readonly ["AWS_ENDPOINT_URL_IVS", "AWS_ENDPOINT_URL_IVSCHAT", "AWS_ENDPOINT_URL_IVS_REALTIME"];

/** The path of the `ivs-vcr` executable: `IVS_VCR_BIN`, else the one in this platform's package. */
export declare function binaryPath(): string;
/** The platform package's name: `@ivs-vcr/linux-x64` for `("linux", "x64")`; this machine's by default. */
export declare function platformPackage(platform?: string, arch?: string): string;

/** No `ivs-vcr` executable could be found; the message says where it looked. */
export declare class BinaryNotFoundError extends Error {}

/** A server could not start, or died; the message carries its exit code and stderr tail. */
export declare class ServerError extends Error {}

/** One EventBridge event the emulator sent, in the envelope EventBridge delivers to a rule's target. */
export interface EventBridgeEvent {
  version: string;
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

/** A control-plane call was refused. */
export declare class ControlPlaneError extends Error {
  readonly method: string;
  readonly path: string;
  /** The HTTP status. */
  readonly status: number;
  /** The `x-amzn-ErrorType` of the answer, if any. */
  readonly errorType: string | null;
  /** The server's explanation. */
  readonly serverMessage: string;
}

/** The server does not know a control-plane endpoint: the binary is older than this package. */
export declare class ControlPlaneMissing extends ControlPlaneError {}

export interface ServerOptions {
  /** `serve` or `replay` (the emulator, or cassettes with `--cassettes`) or `record`; `replay` by default. */
  mode?: "serve" | "replay" | "record";
  /** Further command-line arguments, as `ivs-vcr <mode> --help` lists them (`--port` is set). */
  args?: readonly string[];
  /** Cassette files or folders to serve: each adds `--cassettes <path>`. */
  cassettes?: string | readonly string[];
  /** The executable to run; `binaryPath()` by default. */
  binary?: string;
  /** The whole environment of the server; this process's by default. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The server's working directory (relative cassette paths start there). */
  cwd?: string;
  /** Call `setEnv()` once the server listens; `stop()` restores the variables. */
  setEnv?: boolean;
  /** How long the server may take to say where it listens; 30 000 ms by default. */
  startupTimeoutMs?: number;
  /** How long a control-plane call may take; 30 000 ms by default. */
  requestTimeoutMs?: number;
}

/** How a server ended. */
export interface StopResult {
  /** Its exit code: 0 when every request was answered, 1 when some went unmatched, 2 on error; `null` if a signal ended it. */
  readonly exitCode: number | null;
  /** The signal that ended it (`SIGKILL` when it did not stop in time), else `null`. */
  readonly signal: string | null;
  /** Its last lines on stderr (its logs and the per-operation summary). */
  readonly stderrTail: string;
  /** Its last lines on stdout after the `listening` line. */
  readonly stdoutTail: string;
}

/** A fault rule, as `fault()` takes it. */
export interface FaultRule {
  /** A 12-digit account id: limits the rule to that account's requests (by their access key id). */
  account?: string;
  /** `ivs`, `ivschat` or `ivs-realtime`: limits the rule to one service of the family. */
  service?: string;
  /** The operation (`GetChannel`, `CreateRoom`); none means every operation. */
  operation?: string;
  /** An error the rule's service models (`ThrottlingException`); its status comes from the model. */
  error?: string;
  /** An error status (400–599): alone a generic error, with `error` it replaces the model's. */
  status?: number;
  /** How many times the rule fires; none means no limit. */
  times?: number;
  /** The probability (0–1) that it fires; none means always. */
  rate?: number;
  /** A delay before the answer, in milliseconds. */
  delayMs?: number;
  /** Drop the connection instead of answering. */
  connection?: "reset" | "empty";
  /** Sent as `x-amz-retry-after` with the error answer. */
  retryAfterMs?: number;
  /** The error message. */
  message?: string;
  /** The seed of the `rate` draws. */
  seed?: number;
}

/** A fault rule as the server lists it. */
export interface FaultView {
  /** Unique among the server's rules until `clearFaults()`. */
  id: number;
  account?: string;
  service?: string;
  operation?: string;
  error?: string;
  status?: number;
  times?: number;
  rate?: number;
  delay_ms?: number;
  connection?: "reset" | "empty";
  retry_after_ms?: number;
  message?: string;
  seed?: number;
  /** Uses left; `null` for a rule with no `times` limit. */
  remaining: number | null;
  /** How many times it has fired. */
  hits: number;
}

/** `GET /_ivs-vcr/health`. */
export interface Health {
  status: "ok";
  mode: "emulate" | "replay" | "record";
  [key: string]: unknown;
}

/** Per operation, what a server served. */
export interface OperationCounts {
  /** Answered from a cassette. */
  matched: number;
  /** Answered with an unmatched-request error. */
  unmatched: number;
  /** Recorded interactions never used. */
  unused: number;
  /** Answered by the emulator. */
  emulated: number;
  /** Answered with an injected fault (an error, or a dropped connection). */
  faulted: number;
}

/** `GET /_ivs-vcr/summary`. */
export interface Summary {
  mode: "emulate" | "replay" | "record";
  n_unmatched: number;
  operations: Record<string, OperationCounts>;
  /** The unmatched requests, each with its report. */
  unmatched: unknown[];
  /** The interactions never used. */
  unused: unknown[];
  /** Cassettes that could not be loaded. */
  load_errors: unknown[];
  /** Each account's emulated and faulted counts, by 12-digit id (emulating servers). */
  accounts?: Record<string, AccountCounts>;
  [key: string]: unknown;
}

/** One account's part of the summary: what was answered in it. */
export interface AccountCounts {
  /** Per operation that has a count. */
  operations: Record<string, { emulated: number; faulted: number }>;
  n_emulated: number;
  n_faulted: number;
}

/** `GET /_ivs-vcr/summary?account=ID`: one account's part (cassette counts are the server's only). */
export interface AccountSummary extends AccountCounts {
  mode: "emulate" | "replay" | "record";
  account: string;
}

/** The emulator's clock (`advanceClock`, `setClock`). */
/** `GET /_ivs-vcr/state`: the readable view, and what a restore reads (`world`). */
export interface StateDocument {
  readonly format: "ivs-vcr/state";
  /** The format version; a newer one than the server reads is refused. */
  readonly version: number;
  /** `all`, or `account` for a one-account snapshot. */
  readonly scope: "all" | "account";
  /** The emulator's time when it was taken. */
  readonly clock: { readonly epochMillis: number; readonly now: string };
  /** The default account (or the one asked for). */
  readonly account: string;
  /** Its resources per region, by resource type, with `live` and `stageSessions`. */
  readonly regions: Record<string, Record<string, unknown>>;
  /** Every account's state, as the emulator keeps it: what a restore reads. */
  readonly world: { readonly accounts: Record<string, unknown> };
  readonly [member: string]: unknown;
}

/** What `restore()` did. */
export interface Restored {
  readonly restored: true;
  readonly scope: "all" | "account";
  /** The accounts restored. */
  readonly accounts: readonly string[];
  /** Streams an RTMP encoder fed, ended by the restore (the restored process has no encoder). */
  readonly streamsEnded: readonly string[];
}

/** What `saveState()` wrote. */
export interface SavedState {
  readonly path: string;
  readonly bytes: number;
}

export interface ClockView {
  /** Its time, ISO-8601 with milliseconds. */
  readonly now: string;
  /** Its time in milliseconds since the Unix epoch. */
  readonly epochMillis: number;
  /** How far it is ahead of the wall clock, in seconds. */
  readonly aheadSeconds: number;
}

/** A participant joined to a stage (`joinStage`): IVS's own ids, as `GetParticipant` names them. */
export interface StageJoin {
  /** The participant's id (the token's `participantId`). */
  readonly participantId: string;
  /** The ARN of the stage joined. */
  readonly stageArn: string;
  /** The stage session the participant is in (the first join starts one). */
  readonly sessionId: string;
}

/**
 * The control plane of a running server, by its URL. `Server` is one; `new ControlPlane(url)` is
 * one for a server started elsewhere (a test runner's global setup).
 */
export declare class ControlPlane {
  constructor(url: string, options?: { requestTimeoutMs?: number });
  /** The server's base URL, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** How long a control-plane call may take, in milliseconds. */
  requestTimeoutMs: number;

  /** `AWS_ENDPOINT_URL_IVS`, `AWS_ENDPOINT_URL_IVSCHAT` and `AWS_ENDPOINT_URL_IVS_REALTIME`, all `url`. */
  env(): Record<(typeof ENDPOINT_VARIABLES)[number], string>;
  /** Sets `env()` in `process.env`, with dummy credentials and a region when none are configured. */
  setEnv(): void;
  /** Puts back what `setEnv()` changed, unless something else changed it since (`Server.stop()` does it too). */
  restoreEnv(): void;

  /** Calls a control-plane endpoint with a JSON body; resolves to the JSON answer. */
  request(method: string, path: string, body?: unknown): Promise<unknown>;
  health(): Promise<Health>;
  /** Empties the emulator, rewinds cassette sequences, clears faults; with `account`, empties that account only. */
  reset(options?: { account?: string }): Promise<void>;
  /** Per operation: matched, unmatched (with reports), unused, emulated, faulted; each account's under `accounts`. */
  summary(): Promise<Summary>;
  /** One account's part of the summary: what the emulator (and injected faults) answered in it. */
  summary(options: { account: string }): Promise<AccountSummary>;
  summary(options?: { account?: string }): Promise<Summary | AccountSummary>;
  /** The emulator's resources, per region; with `account`, that account's. */
  state(options?: { account?: string }): Promise<Record<string, unknown>>;
  /** The state as a versioned document that `restore()` takes back; with `account`, that account's alone. Never holds a private key. */
  snapshot(options?: { account?: string }): Promise<StateDocument>;
  /** Restores a `snapshot()`; a refused document (`ControlPlaneError`, status 400) changes nothing. */
  restore(document: StateDocument): Promise<Restored>;
  /** Writes the state to the server's `--state-file` now; rejects (409) when it was started without one. */
  saveState(): Promise<SavedState>;
  /** Takes a channel live, as if a broadcaster had connected. */
  startStream(channelArn: string, options?: { health?: string; viewerCount?: number }): Promise<unknown>;
  /** Ends a channel's live stream. */
  stopStream(channelArn: string): Promise<unknown>;
  /** Joins a participant to its token's stage (no media); rejects with `ControlPlaneError` when refused. */
  joinStage(token: string, options?: { publish?: boolean; subscribe?: boolean }): Promise<StageJoin>;
  /** Publishes into a stage with an ingest configuration's stream key, as an RTMP(S) encoder would. */
  joinStageWithStreamKey(streamKey: string): Promise<StageJoin>;
  /** Takes a joined participant out of its stage; the last one out ends the stage session. */
  leaveStage(participantId: string, options?: { stageArn?: string }): Promise<void>;
  /** Moves the emulator's clock forward: expiries, rate windows and timeouts follow; `reset()` returns it to the wall clock. */
  advanceClock(seconds: number): Promise<ClockView>;
  /** Sets the emulator's clock to an ISO-8601 UTC time, not before its time now. */
  setClock(time: string): Promise<ClockView>;
  /** Changes a live stream's health (a change sends IVS Stream Health Change) or viewer count. */
  updateStream(channelArn: string, options?: { health?: string; viewerCount?: number }): Promise<unknown>;
  /** The EventBridge events the emulator sent, oldest first; `detailType` keeps one type, `since` skips the first ones since the last reset, `account` keeps one account's. */
  events(options?: { detailType?: string; since?: number; account?: string }): Promise<EventBridgeEvent[]>;
  /** Adds a fault rule; resolves to it as listed, with its `id`. */
  fault(rule: FaultRule): Promise<FaultView>;
  /** The fault rules, with `remaining` uses. */
  faults(): Promise<FaultView[]>;
  /** Removes every fault rule. */
  clearFaults(): Promise<void>;
}

/** One `ivs-vcr` server process on a free loopback port. */
export declare class Server extends ControlPlane {
  private constructor();
  /** Starts a server and resolves once it listens. */
  static start(options?: ServerOptions): Promise<Server>;

  /** `replay` or `record`. */
  readonly mode: "replay" | "record";
  /** The command line it was started with. */
  readonly command: readonly string[];
  /** The server's process id. */
  readonly pid: number;
  /** Whether the process is still running. */
  readonly alive: boolean;
  /** The exit code once it has ended, else `null`. */
  readonly exitCode: number | null;

  /** The last lines of its stderr. */
  stderrTail(lines?: number): string;
  /** Command, exit status and stderr tail of a server that ended. */
  deathReport(): string;
  /** Stops the server gracefully, killing it after `timeoutMs` (15 000 by default); restores what `setEnv()` changed. */
  stop(options?: { timeoutMs?: number }): Promise<StopResult>;
}

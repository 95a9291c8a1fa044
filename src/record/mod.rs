//! The record server: a reverse proxy to IVS that writes what it sees into clean cassettes.
//!
//! [`RecordServer`] is what `ivs-vcr record` runs and what tests embed. Per request the stages are
//! `read_request → route → (replay) → forward → capture → append`:
//! - **route** finds the region (the client's SigV4 credential scope, else `--region`) and refuses
//!   a region that is not an AWS region name before any connection is made; it also picks the
//!   cassette (`/cassette/<name>/` prefix, else the default name) and validates the name.
//! - **replay** answers from the existing cassette through `matcher::Index`, as the replay server
//!   does, when the record mode says so ([`RecordMode`]).
//! - **forward** builds the upstream request with the raw path and query exactly as received,
//!   only `Content-Type` kept from the client, `Host` set to the upstream, and has `upstream` (AWS:
//!   sigv4 re-signing and the HTTP client) sends it.
//! - **capture** turns the exchange into an [`Interaction`]: no request headers (unless the
//!   cassette matches on some), an allowlist of response headers, a deterministic
//!   `x-amzn-RequestId`, secret placeholders and the optional account scrub (`redact`), then the
//!   secret scan. 5xx answers are passed downstream but not captured unless asked.
//! - **append** adds it to the cassette and writes the file in the background.
//!
//! # Determinism
//! Each request takes a tick of a logical clock when it arrives, and another when it completes.
//! Interactions whose [arrival, completion] intervals overlap form a group: their relative order
//! is a race, so within a group they are sorted by content (operation, request fingerprint, then
//! the response), and groups follow each other in arrival order. Sequential traffic therefore keeps
//! its order, and parallel traffic gives the same file whatever order it completes in. Nothing
//! per-run is written: no times (`provenance.recorded_on` is a date, kept across re-recordings),
//! no upstream request ids (replaced by a hash of the interaction), no ids of ivs-vcr's own.
//!
//! # Writes
//! The cassette is rewritten shortly (`WRITE_DELAY`) after each completed interaction, by a
//! background task, through
//! `Cassette::save` (a temporary file and a rename, so a kill never leaves half a file), and once
//! more on [`RecordServer::shutdown`]. Writes of one cassette are serialized and coalesced: a
//! writer that finds a newer state already written does nothing. Before every write `redact::scan`
//! checks the whole cassette, and a cassette that still holds something secret is not written.
//!
//! A SIGKILL cannot be handled, so what it may leave is decided here: every `*.yaml` file is a
//! complete cassette (the old one or the new one, never a mix, because only a rename replaces
//! it), interactions completed within `WRITE_DELAY` of the kill are lost, and a kill between
//! writing and renaming leaves the temporary file, `.<name>.yaml.<pid>.<random>.tmp`. That file is a
//! dot-file that `cassette::load_dir` and the replay loader skip, and the next start deletes it
//! (`cassette::remove_stale_temp_files`, which keeps the files of processes still running).
//! A write that fails (disk full, a directory where the file should be) removes its temporary
//! file, leaves the previous cassette as it was, and is reported under "not written".
//!
//! # Upstream faults
//! Only a complete upstream answer is recorded. When the exchange fails (see `upstream`: nothing
//! listening, a reset or a connection closed before or during the answer, a TLS handshake
//! failure, a timeout) the downstream client gets an AWS-style error naming the upstream host and
//! what failed, never a header or a credential: 504 `IvsVcrUpstreamTimeoutException` for the
//! connect and exchange timeouts ([`RecordServerBuilder::connect_timeout`],
//! [`RecordServerBuilder::upstream_timeout`]), 502 `IvsVcrUpstreamException` for everything
//! else. SDKs treat both as transient, and retry them by their own policy. Upstream 5xx answers
//! are passed downstream as they are. Neither is recorded: the summary counts them per
//! operation, and lists each distinct reason once with its number of requests ([`Skipped`]).
//!
//! Logs carry the operation, status, region, cassette and duration, never headers or bodies.
//!
//! # The split
//! This file has the builder, the server's lifecycle, its errors and its shared state. `stages`
//! has the per-request stages, which share one context ([`stages::RecordCtx`]) and one result
//! type (`Stage`: go on, or answer now), as pingora's phases do. `slots` opens the cassettes
//! under the record mode and orders what was captured; `writer` writes them in the background;
//! `summary` counts what was recorded and what was not.

mod slots;
mod stages;
mod summary;
mod writer;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use crate::cassette::{CassetteError, Limits};
use crate::http::{error_chain, Linger, ListenOptions, ReadTimeouts, Running, Side};
use crate::normalize;
use crate::redact::Finding;
use crate::upstream::sigv4::{self, Signer};
use crate::upstream::{Aws, Endpoint, HttpsClient, SignError, Timeouts, Upstream, UpstreamError};

use slots::Slot;
use summary::Tally;
pub use summary::{RecordOperationSummary, RecordSummary, Skipped};

/// The cassette name used when neither `--name` nor a `/cassette/<name>/` prefix gives one.
pub const DEFAULT_CASSETTE_NAME: &str = "recording";

/// How many cassettes one run may use. Each one held costs memory until the run ends, and a
/// client could otherwise create a file per request; real sessions use a few dozen.
pub(crate) const MAX_CASSETTES: usize = 1_000;

/// When to forward and when to replay, as VCR tools name it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RecordMode {
    /// Record when the cassette does not exist yet; replay it, and forward nothing, when it does.
    #[default]
    Once,
    /// Replay what the cassette answers; forward and append what it does not.
    NewEpisodes,
    /// Forward everything and rewrite the cassette.
    All,
    /// Replay only; never touch the network.
    None,
}

impl fmt::Display for RecordMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordMode::Once => "once",
            RecordMode::NewEpisodes => "new-episodes",
            RecordMode::All => "all",
            RecordMode::None => "none",
        })
    }
}

/// Errors of starting and stopping a record server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A fault rule given at start is not valid.
    #[error("invalid fault rule")]
    Fault(#[source] crate::fault::FaultError),
    /// The listening socket could not be opened.
    #[error("cannot listen on `{addr}`")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A cassette name that could escape the cassette directory or is not a plain name.
    #[error("invalid cassette name `{name}`: use letters, digits, `-`, `_`, `.` and `/` between names, without `..`")]
    BadName {
        /// The name as given.
        name: String,
    },
    /// `--region` is not an AWS region name.
    #[error("`{region}` is not an AWS region name")]
    BadRegion {
        /// The region as given.
        region: String,
    },
    /// The upstream could not be set up.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The operator's credentials could not be loaded.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// A cassette could not be read or written.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// `--upstream` is this server's own address: every request would be forwarded to itself.
    #[error("`--upstream` `{upstream}` is this record server's own address ({addr}): every request would loop back to it")]
    UpstreamIsSelf {
        /// The upstream as given.
        upstream: String,
        /// The address the server listens on.
        addr: SocketAddr,
    },
    /// A run already uses as many cassettes as it may.
    #[error("refusing cassette `{name}`: this run already uses {limit} cassettes, the limit for one run")]
    TooManyCassettes {
        /// The name asked for.
        name: String,
        /// The limit.
        limit: usize,
    },
    /// A cassette still holds secret-looking values, so it was not written.
    #[error("refusing to write `{path}`: it holds {}", join_findings(.findings))]
    SecretFound {
        /// The cassette file.
        path: PathBuf,
        /// Where the secrets are.
        findings: Vec<Finding>,
    },
}

fn join_findings(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
/// Configures and starts a [`RecordServer`].
#[derive(Debug)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct RecordServerBuilder {
    dir: PathBuf,
    name: String,
    listen: ListenOptions,
    upstream: Option<String>,
    options: RecordOptions,
    credentials: Option<SharedCredentialsProvider>,
    timeouts: Timeouts,
    faults: Vec<crate::fault::FaultRule>,
    max_fault_rules: usize,
}

/// The recording choices, beside where to listen and where to forward.
#[derive(Debug, Clone, Copy, Default)]
struct RecordOptions {
    mode: RecordMode,
    record_server_errors: bool,
    scrub_account: bool,
    /// What an existing cassette may hold; every mode reads one that exists.
    limits: Limits,
}

impl RecordServerBuilder {
    /// Names the cassette for requests without a `/cassette/<name>/` prefix (default
    /// [`DEFAULT_CASSETTE_NAME`]); it is written to `<dir>/<name>.yaml`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Serves on a listener the caller bound.
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listen.listener = Some(listener);
        self
    }

    /// Binds this address (default `127.0.0.1:0`, a free loopback port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.listen.bind = Some(addr);
        self
    }

    /// Also accepts requests whose `Host` is this name (with the bound port) or this
    /// `name:port`, besides the bound address and loopback names: for a server reached through
    /// a container name or a port mapping. Every other `Host` is refused with 403, so that a web
    /// page cannot reach the server through DNS rebinding.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.listen.allowed_hosts.push(host.into());
        self
    }

    /// The region of requests that carry no SigV4 credential scope (signed requests name their
    /// own). Without it, unsigned requests are refused.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.listen.region = Some(region.into());
        self
    }

    /// Sends requests to this URL instead of `https://ivs.<region>.amazonaws.com`; `{region}` in
    /// it is replaced by the request's region. Plain `http://` is allowed, for local upstreams.
    pub fn upstream(mut self, url: impl Into<String>) -> Self {
        self.upstream = Some(url.into());
        self
    }

    /// Sets the record mode (default [`RecordMode::Once`]).
    pub fn mode(mut self, mode: RecordMode) -> Self {
        self.options.mode = mode;
        self
    }

    /// Records upstream 5xx answers too (by default they are passed downstream only).
    pub fn record_server_errors(mut self, yes: bool) -> Self {
        self.options.record_server_errors = yes;
        self
    }

    /// The largest existing cassette file loaded, in bytes (default 64 MiB, as replay's): every
    /// mode reads the file it records into when it exists (`once`, `new-episodes` and `none`
    /// replay from it, `all` keeps its matching options). A larger file is refused, and the
    /// requests for it are answered with a 500 that says so. See
    /// [`ReplayServerBuilder::max_cassette_bytes`](crate::ReplayServerBuilder::max_cassette_bytes)
    /// for what a load costs.
    pub fn max_cassette_bytes(mut self, bytes: u64) -> Self {
        self.options.limits.bytes = bytes;
        self
    }

    /// The most interactions an existing cassette file may hold (default 100,000, as replay's);
    /// a file with more is refused as [`max_cassette_bytes`](Self::max_cassette_bytes) says.
    pub fn max_interactions(mut self, interactions: usize) -> Self {
        self.options.limits.interactions = interactions;
        self
    }

    /// Replaces the account of every ARN in what is written with `000000000000`, and marks the
    /// cassette so that replay maps incoming ARNs the same way.
    pub fn scrub_account(mut self, yes: bool) -> Self {
        self.options.scrub_account = yes;
        self
    }

    /// How long opening the TCP connection to upstream may take (default 10 s). A request that
    /// cannot connect in time gets a 504 `IvsVcrUpstreamTimeoutException`.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// How long a whole upstream exchange may take, from sending the request to the last byte of
    /// the answer (default 60 s). A request whose answer is late gets a 504
    /// `IvsVcrUpstreamTimeoutException`, and nothing of it is recorded.
    pub fn upstream_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.exchange = timeout;
        self
    }

    /// How long a downstream client may take to send its request head and its body (default 10 s
    /// and 30 s). A stalled client holds only its own connection.
    pub fn read_timeouts(mut self, header: Duration, body: Duration) -> Self {
        self.listen.read_timeouts = ReadTimeouts { header, body };
        self
    }

    /// How long the close of a connection answered 413 lingers (default 30 s in all, and 5 s
    /// without anything from the client, as nginx's `lingering_time` and `lingering_timeout`):
    /// the server reads and discards what the client still sends, so that a client that writes
    /// its whole body before reading gets the 413 rather than a broken pipe. A client that never
    /// stops sending is cut off after `total`.
    pub fn lingering_close(mut self, total: Duration, idle: Duration) -> Self {
        self.listen.linger = Linger { total, idle };
        self
    }

    /// Signs with these credentials instead of the standard AWS chain (for tests).
    pub fn credentials(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.credentials = Some(SharedCredentialsProvider::new(provider));
        self
    }

    /// Checks the options, loads credentials (except in mode `none`) and starts serving.
    /// Injects a fault from the start, as `POST /_ivs-vcr/faults` would; a fired rule answers
    /// before anything is forwarded, and is never recorded.
    pub fn fault(mut self, rule: crate::fault::FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// How many fault rules the server holds at most, those given here included (default
    /// 1,000); `POST /_ivs-vcr/faults` beyond it is refused with a 400 naming the limit.
    pub fn max_fault_rules(mut self, max: usize) -> Self {
        self.max_fault_rules = max;
        self
    }

    /// Binds, and starts recording in the background.
    pub async fn start(self) -> Result<RecordServer, RecordError> {
        if !is_valid_cassette_name(&self.name) {
            return Err(RecordError::BadName { name: self.name });
        }
        if let Some(region) = &self.listen.region {
            if !normalize::is_valid_region(region) {
                return Err(RecordError::BadRegion {
                    region: region.clone(),
                });
            }
        }
        let endpoint = match &self.upstream {
            Some(url) => Endpoint::parse(url)?,
            None => Endpoint::default(),
        };
        let upstream: Option<Box<dyn Upstream>> = if self.options.mode == RecordMode::None {
            None
        } else {
            let provider = match self.credentials {
                Some(provider) => provider,
                None => sigv4::default_credentials()
                    .await
                    .ok_or(SignError::NoCredentials)?,
            };
            let signer = Signer::new(provider);
            // Fail at start rather than on the first request when there are no credentials.
            signer.check().await?;
            Some(Box::new(Aws {
                endpoint: endpoint.clone(),
                signer,
                client: HttpsClient::new(self.timeouts)?,
            }))
        };
        let faults = crate::fault::FaultSet::with_max_rules(self.max_fault_rules);
        for rule in self.faults {
            faults.add(rule).map_err(RecordError::Fault)?;
        }
        remove_stale_temp_files(&self.dir);
        let state = Arc::new(RecordState {
            faults,
            accounts: crate::emulator::EmulatorOptions::default(),
            options: Options {
                dir: self.dir,
                default_name: self.name,
                region: self.listen.region.clone(),
                endpoint,
                record: self.options,
                read_timeouts: self.listen.read_timeouts,
                cassette_dir: Arc::default(),
            },
            upstream,
            slots: tokio::sync::Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            tally: Mutex::new(Tally::default()),
            explaining: Arc::new(tokio::sync::Semaphore::new(
                crate::replay::EXPLAIN_CONCURRENCY,
            )),
        });
        let mut running = Running::start(
            self.listen,
            state.clone(),
            "anyone who can reach this address can send requests signed with your credentials",
        )
        .map_err(|(addr, source)| RecordError::Bind { addr, source })?;
        // Known only once bound (port 0). A name other than `localhost` cannot be checked
        // without DNS; the loop mark on forwarded requests catches those at the first request.
        if state.upstream.is_some() && state.options.endpoint.is_address(running.addr) {
            running.stop().await;
            return Err(RecordError::UpstreamIsSelf {
                upstream: state.options.endpoint.template().to_owned(),
                addr: running.addr,
            });
        }
        Ok(RecordServer { running, state })
    }
}

/// Deletes the temporary files a killed recorder left in `dir` (see "Writes" in the module doc).
/// A failure is logged and does not stop the start: the files are hidden and harmless.
fn remove_stale_temp_files(dir: &std::path::Path) {
    match crate::cassette::remove_stale_temp_files(dir) {
        Ok(removed) => {
            for path in removed {
                tracing::info!(side = %Side::Internal, path = %path.display(), "removed a temporary file left by a killed recorder");
            }
        }
        Err(err) => {
            tracing::warn!(side = %Side::Internal, "{}", error_chain(&err));
        }
    }
}

/// A record server running in the background.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ivs_vcr::{RecordMode, RecordServer};
/// let server = RecordServer::builder("cassettes")
///     .name("channel-lifecycle")
///     .mode(RecordMode::All)
///     .start()
///     .await?;
/// // point the SDK at server.uri() and run the scenario…
/// let summary = server.shutdown().await; // writes cassettes/channel-lifecycle.yaml
/// println!("{summary}");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RecordServer {
    running: Running,
    state: Arc<RecordState>,
}

impl RecordServer {
    /// A builder writing cassettes under `dir`.
    pub fn builder(dir: impl Into<PathBuf>) -> RecordServerBuilder {
        RecordServerBuilder {
            dir: dir.into(),
            name: DEFAULT_CASSETTE_NAME.to_owned(),
            listen: ListenOptions::default(),
            upstream: None,
            options: RecordOptions::default(),
            credentials: None,
            timeouts: Timeouts::default(),
            faults: Vec::new(),
            max_fault_rules: crate::fault::DEFAULT_MAX_RULES,
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// The endpoint URL to give an SDK, e.g. `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// The file the default cassette is written to.
    pub fn cassette_path(&self) -> PathBuf {
        self.state.options.path_of(&self.state.options.default_name)
    }

    /// What has been recorded so far.
    pub fn summary(&self) -> RecordSummary {
        self.state.tally().summary()
    }

    /// Stops accepting, waits for in-flight requests, writes every cassette, and returns the
    /// summary.
    pub async fn shutdown(mut self) -> RecordSummary {
        self.running.stop().await;
        self.state.flush().await;
        self.state.tally().summary()
    }
}

impl Drop for RecordServer {
    /// Stops accepting. Cassettes are already written after each interaction; a last write
    /// runs in the background when a runtime is still there. Call
    /// [`shutdown`](RecordServer::shutdown) to wait for it.
    fn drop(&mut self) {
        if self.running.signal_stop() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                let state = self.state.clone();
                handle.spawn(async move { state.flush().await });
            }
        }
    }
}

/// The options that do not change while serving.
#[derive(Debug)]
struct Options {
    dir: PathBuf,
    default_name: String,
    region: Option<String>,
    endpoint: Endpoint,
    record: RecordOptions,
    read_timeouts: ReadTimeouts,
    /// The cassette folder, opened on the first write and kept for the run: every write goes
    /// through it, never through a path looked up again (see `cassette::CassetteDir`).
    cassette_dir: Arc<Mutex<Option<Arc<crate::cassette::CassetteDir>>>>,
}

impl Options {
    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.yaml"))
    }

    /// [`Options::path_of`], refused when a symbolic link below the cassette folder would take
    /// it elsewhere (see `cassette::confined_path`).
    fn confined_path_of(&self, name: &str) -> Result<PathBuf, CassetteError> {
        crate::cassette::confined_path(&self.dir, std::path::Path::new(&format!("{name}.yaml")))
    }
}

/// Everything a request handler needs, shared by all connections.
#[derive(Debug)]
struct RecordState {
    options: Options,
    /// Where requests are forwarded; absent in mode `none`.
    upstream: Option<Box<dyn Upstream>>,
    /// Cassettes in use, by name, opened on first use.
    slots: tokio::sync::Mutex<HashMap<String, Arc<Slot>>>,
    /// The logical clock of arrivals and completions (see the module doc).
    clock: AtomicU64,
    tally: Mutex<Tally>,
    /// Injected faults, checked before anything is forwarded.
    faults: crate::fault::FaultSet,
    /// How a request's access key picks its account, for the fault rules that name one. Record
    /// has no `--account`: a 12-digit key is its own account, any other the default one.
    accounts: crate::emulator::EmulatorOptions,
    /// Near-miss reports in progress, built on the blocking pool as replay's are (`stages::replay`).
    explaining: Arc<tokio::sync::Semaphore>,
}

impl crate::control::Plane for RecordState {
    fn mode(&self) -> &'static str {
        "record"
    }

    fn emulator(&self) -> Option<&crate::emulator::Emulator> {
        None
    }

    fn rewind(&self) {
        // A slot being opened right now holds the lock for a moment: its index starts at the
        // beginning anyway, so skipping it loses nothing.
        if let Ok(slots) = self.slots.try_lock() {
            for slot in slots.values() {
                if let Some(index) = &slot.replay {
                    index.rewind();
                }
            }
        }
        self.tally().forget();
    }

    fn summary(&self) -> serde_json::Value {
        let tally = self.tally();
        let operations: serde_json::Map<String, serde_json::Value> = tally
            .operations
            .iter()
            .map(|(op, s)| {
                (
                    op.clone(),
                    serde_json::json!({"recorded": s.recorded, "replayed": s.replayed, "not_recorded": s.not_recorded, "refused": s.refused, "faulted": s.faulted}),
                )
            })
            .collect();
        let unmatched: Vec<serde_json::Value> = tally
            .unmatched
            .iter()
            .map(|(operation, cassette, report)| serde_json::json!({"operation": operation, "cassette": cassette, "report": report}))
            .collect();
        drop(tally);
        let mut unused = Vec::new();
        let mut opened = Vec::new();
        if let Ok(slots) = self.slots.try_lock() {
            opened.extend(slots.keys().cloned());
            for slot in slots.values() {
                if let Some(index) = &slot.replay {
                    for (operation, (_, entries)) in index.usage() {
                        for idx in entries {
                            unused.push(serde_json::json!({
                                "cassette": slot.name,
                                "interaction": index.entries[idx].interaction_idx,
                                "operation": operation,
                            }));
                        }
                    }
                }
            }
        }
        serde_json::json!({
            "mode": "record",
            "record_mode": self.options.record.mode.to_string(),
            "operations": operations,
            "n_unmatched": unmatched.len(),
            "unmatched": unmatched,
            "unused": unused,
            // The cassettes a request has used so far: one never opened had every
            // interaction unused, which `unused` cannot list without opening it.
            "opened": opened,
        })
    }

    fn faults(&self) -> &crate::fault::FaultSet {
        &self.faults
    }
}

impl RecordState {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// True for a cassette name that stays inside the cassette directory: names made of
/// `[A-Za-z0-9_.-]`, joined by `/`, none empty or starting with `.` (so no `..`, no hidden files).
pub fn is_valid_cassette_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.split('/').all(|segment| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 28 §2: the README says recorded headers are those clients read. They are exactly
    /// `Content-Type`, the request id, and the response header members of IVS's model (on errors
    /// and outputs), which SDKs parse; nothing else is written.
    #[test]
    fn kept_response_headers_are_those_the_model_declares() {
        use crate::ivs::{ErrorType, Location, OPERATIONS};
        let outputs = OPERATIONS.iter().filter_map(|op| op.output);
        let shapes = ErrorType::ALL.iter().map(|e| e.shape()).chain(outputs);
        let mut declared: Vec<&str> = shapes
            .flat_map(|shape| shape.get().members())
            .filter(|m| m.location == Location::Header)
            .map(|m| m.location_name)
            .chain(["Content-Type", "x-amzn-RequestId"])
            .collect();
        declared.sort_unstable();
        declared.dedup();
        let mut kept = stages::KEPT_RESPONSE_HEADERS.to_vec();
        kept.sort_unstable();
        assert_eq!(kept, declared);
    }

    #[test]
    fn cassette_names() {
        let check = |name: &str, expected: bool| {
            assert_eq!(is_valid_cassette_name(name), expected, "{name:?}");
        };
        check("recording", true);
        check("dir/flow-1.v2", true);
        check("../x", false);
        check("a/../b", false);
        check("/etc/passwd", false);
        check("a//b", false);
        check(".hidden", false);
        check("a\\b", false);
        check("", false);
    }
}

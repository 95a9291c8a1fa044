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
//!   only `Content-Type` kept from the client, `Host` set to the upstream, and has `sigv4` sign it
//!   with the operator's credentials; `upstream` sends it.
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
//! writing and renaming leaves the temporary file, `.<name>.yaml.<pid>.tmp`. That file is a
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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use sha2::{Digest, Sha256};

use crate::cassette::{
    Cassette, CassetteError, Interaction, Provenance, ProvenanceKind, RecordedResponse,
};
use crate::ivs;
use crate::matcher::{Index, MatchLevel, SequenceEnd};
use crate::normalize::{self, Fingerprint};
use crate::redact::{self, Finding};
use crate::replay::Prepared;
use crate::server::{self, Downstream, Handler, HttpResponse, ReadTimeouts, Running};
use crate::sigv4::{self, SignError, Signer};
use crate::upstream::{Endpoint, Timeouts, Upstream, UpstreamError, UpstreamResponse};

/// The cassette name used when neither `--name` nor a `/cassette/<name>/` prefix gives one.
pub const DEFAULT_CASSETTE_NAME: &str = "recording";

/// Response headers written to cassettes, with the spelling they are written in. Everything else
/// (`Date`, `Content-Length`, `Connection`, CloudFront and tracing ids) changes per run or
/// describes the connection, and would make re-recordings differ.
const KEPT_RESPONSE_HEADERS: &[&str] = &[
    "Content-Type",
    "x-amzn-RequestId",
    "x-amzn-ErrorType",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
    "Cache-Control",
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
];

/// How long a write waits after an interaction completes, so that a burst of interactions is
/// written once rather than once each: every write serializes the whole cassette.
const WRITE_DELAY: Duration = Duration::from_millis(50);

/// Response headers never passed downstream: they describe the upstream connection.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

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
    listener: Option<std::net::TcpListener>,
    bind: Option<SocketAddr>,
    region: Option<String>,
    upstream: Option<String>,
    mode: RecordMode,
    record_server_errors: bool,
    scrub_account: bool,
    credentials: Option<SharedCredentialsProvider>,
    timeouts: Timeouts,
    read_timeouts: ReadTimeouts,
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
        self.listener = Some(listener);
        self
    }

    /// Binds this address (default `127.0.0.1:0`, a free loopback port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = Some(addr);
        self
    }

    /// The region of requests that carry no SigV4 credential scope (signed requests name their
    /// own). Without it, unsigned requests are refused.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
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
        self.mode = mode;
        self
    }

    /// Records upstream 5xx answers too (by default they are passed downstream only).
    pub fn record_server_errors(mut self, yes: bool) -> Self {
        self.record_server_errors = yes;
        self
    }

    /// Replaces the account of every ARN in what is written with `000000000000`, and marks the
    /// cassette so that replay maps incoming ARNs the same way.
    pub fn scrub_account(mut self, yes: bool) -> Self {
        self.scrub_account = yes;
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
        self.read_timeouts = ReadTimeouts { header, body };
        self
    }

    /// Signs with these credentials instead of the standard AWS chain (for tests).
    pub fn credentials(mut self, provider: impl ProvideCredentials + 'static) -> Self {
        self.credentials = Some(SharedCredentialsProvider::new(provider));
        self
    }

    /// Checks the options, loads credentials (except in mode `none`) and starts serving.
    pub async fn start(self) -> Result<RecordServer, RecordError> {
        if !is_valid_cassette_name(&self.name) {
            return Err(RecordError::BadName { name: self.name });
        }
        if let Some(region) = &self.region {
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
        let forwarding = if self.mode == RecordMode::None {
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
            Some(Forwarding {
                signer,
                upstream: Upstream::new(self.timeouts)?,
            })
        };
        remove_stale_temp_files(&self.dir);
        let state = Arc::new(RecordState {
            options: Options {
                dir: self.dir,
                default_name: self.name,
                region: self.region,
                endpoint,
                mode: self.mode,
                record_server_errors: self.record_server_errors,
                scrub_account: self.scrub_account,
                read_timeouts: self.read_timeouts,
            },
            forwarding,
            slots: tokio::sync::Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            tally: Mutex::new(Tally::default()),
        });
        let running = Running::start(
            self.listener,
            self.bind,
            state.clone(),
            "anyone who can reach this address can send requests signed with your credentials",
        )
        .map_err(|(addr, source)| RecordError::Bind { addr, source })?;
        Ok(RecordServer { running, state })
    }
}

/// Deletes the temporary files a killed recorder left in `dir` (see "Writes" in the module doc).
/// A failure is logged and does not stop the start: the files are hidden and harmless.
fn remove_stale_temp_files(dir: &std::path::Path) {
    match crate::cassette::remove_stale_temp_files(dir) {
        Ok(removed) => {
            for path in removed {
                tracing::info!(side = "internal", path = %path.display(), "removed a temporary file left by a killed recorder");
            }
        }
        Err(err) => {
            tracing::warn!(side = "internal", "{}", server::error_chain(&err));
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
            listener: None,
            bind: None,
            region: None,
            upstream: None,
            mode: RecordMode::default(),
            record_server_errors: false,
            scrub_account: false,
            credentials: None,
            timeouts: Timeouts::default(),
            read_timeouts: ReadTimeouts::default(),
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
    mode: RecordMode,
    record_server_errors: bool,
    scrub_account: bool,
    read_timeouts: ReadTimeouts,
}

impl Options {
    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.yaml"))
    }
}

/// What forwarding needs; absent in mode `none`.
#[derive(Debug)]
struct Forwarding {
    signer: Signer,
    upstream: Upstream,
}

/// Everything a request handler needs, shared by all connections.
#[derive(Debug)]
struct RecordState {
    options: Options,
    forwarding: Option<Forwarding>,
    /// Cassettes in use, by name, opened on first use.
    slots: tokio::sync::Mutex<HashMap<String, Arc<Slot>>>,
    /// The logical clock of arrivals and completions (see the module doc).
    clock: AtomicU64,
    tally: Mutex<Tally>,
}

/// One cassette being recorded or replayed.
#[derive(Debug)]
struct Slot {
    name: String,
    path: PathBuf,
    /// The interactions the file held at start, for modes that replay them.
    replay: Option<Index>,
    /// A copy of the file's interactions, indexed like `replay`, to answer from.
    replay_cassette: Option<Cassette>,
    /// False when nothing is forwarded (mode `none`, or `once` with an existing file).
    forward: bool,
    data: Mutex<SlotData>,
    /// The generation last written; held while writing, so writes are serialized.
    written: tokio::sync::Mutex<u64>,
}

#[derive(Debug)]
struct SlotData {
    /// The header and the interactions kept from the file.
    base: Cassette,
    /// Interactions recorded in this run, unordered.
    new: Vec<Captured>,
    /// Bumped on every change.
    generation: u64,
}

/// A captured interaction and what orders it.
#[derive(Debug, Clone)]
struct Captured {
    arrived: u64,
    completed: u64,
    key: (String, Fingerprint, String),
    interaction: Interaction,
}

/// The per-request context that goes through the stages.
#[derive(Debug)]
struct Exchange {
    peer: SocketAddr,
    arrived: u64,
    started: Instant,
    operation: String,
    region: String,
    content_type: Option<HeaderValue>,
    raw_query: Option<String>,
    downstream: Downstream,
    slot: Arc<Slot>,
}

impl Handler for RecordState {
    fn read_timeouts(&self) -> ReadTimeouts {
        self.options.read_timeouts
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, peer: SocketAddr) -> HttpResponse {
        let arrived = self.clock.fetch_add(1, Ordering::SeqCst);
        let started = Instant::now();
        let content_type = req.headers().get(http::header::CONTENT_TYPE).cloned();
        // Forwarded as received, less any query-string signing parameter: the request is signed
        // again, in headers, and a client's signature must not travel on.
        let raw_query = req.uri().query().and_then(|query| {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| {
                    !normalize::is_signing_parameter(pair.split('=').next().unwrap_or(pair))
                })
                .collect();
            (!kept.is_empty()).then(|| kept.join("&"))
        });
        let authorization = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        let body_timeout = self.options.read_timeouts.body;
        let downstream = match server::read_request(req, "", true, body_timeout).await {
            Ok(downstream) => downstream,
            Err(response) => return response,
        };
        let operation =
            normalize::operation_name(&downstream.request.method, &downstream.request.path);
        if let Err(response) = self.route_operation(&downstream, &operation) {
            return *response;
        }
        let region = match self.route_region(authorization, downstream.signed, &operation) {
            Ok(region) => region,
            Err(response) => return *response,
        };
        let slot = match self
            .route_cassette(downstream.cassette.as_deref(), &operation)
            .await
        {
            Ok(slot) => slot,
            Err(response) => return response,
        };
        let mut exchange = Exchange {
            peer,
            arrived,
            started,
            operation,
            region,
            content_type,
            raw_query,
            downstream,
            slot,
        };
        exchange.downstream.request.region = exchange.region.clone();
        if let Some(response) = self.replay(&exchange) {
            return response;
        }
        let upstream = match self.forward(&exchange).await {
            Ok(upstream) => upstream,
            Err(response) => return response,
        };
        let response = downstream_response(&upstream);
        if let Some((interaction, fingerprint)) = self.capture(&exchange, &upstream) {
            self.append(&exchange, interaction, fingerprint);
        }
        response
    }
}

impl RecordState {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.tally.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses a request at the door: counted, logged at `warn`, answered with an AWS-style 4xx.
    fn refuse(&self, operation: &str, error_type: &str, message: String) -> HttpResponse {
        tracing::warn!(side = "downstream", operation, "{message}");
        let response = server::error_response(StatusCode::BAD_REQUEST, error_type, &message);
        self.tally().refused(operation, message);
        response
    }

    /// Stage `route`: only IVS routes are forwarded. A well-formed `POST /<Name>` the catalog does
    /// not know is let through, so that operations newer than this build can still be recorded;
    /// a method IVS does not use, or a path that cannot be an operation, is refused here.
    fn route_operation(
        &self,
        downstream: &Downstream,
        operation: &str,
    ) -> Result<(), Box<HttpResponse>> {
        let req = &downstream.request;
        match ivs::check_route(&req.method, &req.path) {
            Ok(_) => Ok(()),
            Err(ivs::RouteError::UnknownOperation { .. })
                if is_operation_like(&req.method, &req.path) =>
            {
                Ok(())
            }
            Err(err) => {
                let message = err.to_string();
                tracing::warn!(side = "downstream", operation, "{message}");
                self.tally().refused(operation, message);
                Err(Box::new(server::route_error_response(&err)))
            }
        }
    }

    /// Stage `route`: the region of the request, from its credential scope or `--region`.
    /// Anything that is not an AWS region name is refused here, before any connection.
    fn route_region(
        &self,
        authorization: Option<Result<String, http::header::ToStrError>>,
        signed: bool,
        operation: &str,
    ) -> Result<String, Box<HttpResponse>> {
        let region = if !signed && authorization.is_none() {
            match &self.options.region {
                Some(region) => region.clone(),
                None => {
                    return Err(Box::new(self.refuse(
                        operation,
                        "IvsVcrMissingRegionException",
                        "refusing to forward an unsigned request: it names no region; sign it, or start ivs-vcr record with --region".into(),
                    )))
                }
            }
        } else {
            // `server` read the scope generously, for matching; it is parsed again, strictly.
            let parsed = match &authorization {
                Some(Ok(authorization)) => {
                    sigv4::scope_region(authorization).map_err(|e| e.to_string())
                }
                _ => Err("the `Authorization` header is not ASCII".to_owned()),
            };
            match parsed {
                Ok(region) => region.to_owned(),
                Err(reason) => {
                    return Err(Box::new(self.refuse(
                        operation,
                        "IvsVcrMalformedAuthorizationException",
                        format!("refusing to forward: {reason}"),
                    )))
                }
            }
        };
        if !normalize::is_valid_region(&region) {
            return Err(Box::new(self.refuse(
                operation,
                "IvsVcrInvalidRegionException",
                format!(
                    "refusing to forward: region {} is not an AWS region name",
                    serde_json::Value::from(region)
                ),
            )));
        }
        Ok(region)
    }

    /// Stage `route`: the cassette of the request, opened on first use.
    async fn route_cassette(
        &self,
        prefixed: Option<&str>,
        operation: &str,
    ) -> Result<Arc<Slot>, HttpResponse> {
        let name = prefixed.unwrap_or(&self.options.default_name);
        if !is_valid_cassette_name(name) {
            return Err(self.refuse(
                operation,
                "IvsVcrInvalidCassetteException",
                RecordError::BadName { name: name.into() }.to_string(),
            ));
        }
        let mut slots = self.slots.lock().await;
        if let Some(slot) = slots.get(name) {
            return Ok(slot.clone());
        }
        match self.open_slot(name) {
            Ok(slot) => {
                let slot = Arc::new(slot);
                slots.insert(name.to_owned(), slot.clone());
                Ok(slot)
            }
            Err(err) => {
                let message = server::error_chain(&err);
                tracing::error!(side = "internal", operation, "{message}");
                self.tally().refused(operation, message.clone());
                Err(server::error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "IvsVcrCassetteException",
                    &message,
                ))
            }
        }
    }

    /// Opens a cassette under the record mode: what is replayed, what is kept, what is forwarded.
    fn open_slot(&self, name: &str) -> Result<Slot, CassetteError> {
        let path = self.options.path_of(name);
        let existing = if path.exists() {
            Some(Cassette::load(&path)?)
        } else {
            None
        };
        let mode = self.options.mode;
        let replays = matches!(
            mode,
            RecordMode::Once | RecordMode::NewEpisodes | RecordMode::None
        );
        let forward = !matches!(
            (mode, &existing),
            (RecordMode::None, _) | (RecordMode::Once, Some(_))
        );
        let replay_cassette = existing.clone().filter(|_| replays);
        let replay = replay_cassette.as_ref().map(|c| {
            Index::build(
                std::slice::from_ref(c),
                MatchLevel::Exact,
                SequenceEnd::RepeatLast,
            )
        });
        let mut base = match existing {
            Some(mut existing) => {
                if mode == RecordMode::All {
                    existing.interactions.clear();
                }
                existing.format = crate::cassette::FORMAT_VERSION;
                existing.ivs_vcr_version = env!("CARGO_PKG_VERSION").to_owned();
                existing.name = name.to_owned();
                existing.provenance.kind = ProvenanceKind::Recorded;
                existing.provenance.source = self.options.endpoint.template().to_owned();
                if existing.provenance.recorded_on.is_none() {
                    existing.provenance.recorded_on = Some(today());
                }
                existing
            }
            None => Cassette::new(
                name,
                Provenance {
                    kind: ProvenanceKind::Recorded,
                    source: self.options.endpoint.template().to_owned(),
                    model: None,
                    recorded_on: Some(today()),
                },
            ),
        };
        if self.options.scrub_account && !base.matching.scrub_account {
            base.matching.scrub_account = true;
            for interaction in &mut base.interactions {
                redact::request(&mut interaction.request, true);
                redact::response(&mut interaction.response, true);
            }
        }
        Ok(Slot {
            name: name.to_owned(),
            path,
            replay,
            replay_cassette,
            forward,
            data: Mutex::new(SlotData {
                base,
                new: Vec::new(),
                generation: 0,
            }),
            written: tokio::sync::Mutex::new(0),
        })
    }

    /// Stage `replay`: the recorded answer, when the mode replays and the cassette has one, or a
    /// refusal when the mode forwards nothing. `None` means: forward.
    fn replay(&self, exchange: &Exchange) -> Option<HttpResponse> {
        let slot = &exchange.slot;
        let operation = &exchange.operation;
        if let (Some(index), Some(cassette)) = (&slot.replay, &slot.replay_cassette) {
            match index.lookup(&exchange.downstream.request, Some(0), true) {
                Ok(hit) => {
                    let interaction_idx = index.entries[hit.entry_idx].interaction_idx;
                    let recorded = &cassette.interactions[interaction_idx].response;
                    tracing::debug!(
                        operation = %operation,
                        cassette = %slot.name,
                        status = recorded.status,
                        "replayed"
                    );
                    self.tally().op(operation).replayed += 1;
                    return Some(
                        Prepared::new(recorded, &slot.name, interaction_idx).to_response(),
                    );
                }
                Err(miss) if !slot.forward => {
                    let why = if self.options.mode == RecordMode::None {
                        "record mode `none` never forwards"
                    } else {
                        "record mode `once` forwards nothing once the cassette exists; use --record-mode new-episodes to add to it"
                    };
                    return Some(self.refuse(
                        operation,
                        "IvsVcrUnmatchedRequestException",
                        format!(
                            "{} ({why})",
                            index.explain(&exchange.downstream.request, Some(0), &miss)
                        ),
                    ));
                }
                Err(_) => {}
            }
        }
        if !slot.forward {
            return Some(self.refuse(
                operation,
                "IvsVcrUnmatchedRequestException",
                format!(
                    "no cassette `{}` to replay, and record mode `none` never forwards",
                    slot.path.display()
                ),
            ));
        }
        None
    }

    /// Stage `forward`: builds the upstream request, signs it and sends it. A failure becomes
    /// the answer (see "Upstream faults" in the module doc): 504 when upstream was too slow, 502
    /// when it failed otherwise, 500 when we did.
    async fn forward(&self, exchange: &Exchange) -> Result<UpstreamResponse, HttpResponse> {
        let operation = &exchange.operation;
        // Invariant: `replay` answers every request when there is nothing to forward with.
        let Some(forwarding) = &self.forwarding else {
            return Err(self.refuse(
                operation,
                "IvsVcrUnmatchedRequestException",
                "record mode `none` never forwards".into(),
            ));
        };
        let fail = |status: StatusCode,
                    side: &str,
                    error_type: &str,
                    err: &dyn std::error::Error| {
            let message = server::error_chain(err);
            tracing::warn!(side, peer = %exchange.peer, operation = %operation, elapsed_ms = exchange.started.elapsed().as_millis() as u64, "{message}");
            self.tally().not_recorded(operation, message.clone());
            server::error_response(status, error_type, &message)
        };
        let request = match build_upstream_request(exchange, &self.options.endpoint) {
            Ok(request) => request,
            Err(err) => {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    "downstream",
                    "IvsVcrInvalidRegionException",
                    &err,
                ))
            }
        };
        let mut request = request;
        if let Err(err) = forwarding
            .signer
            .sign(&mut request, &exchange.region, operation, SystemTime::now())
            .await
        {
            return Err(fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "IvsVcrSigningException",
                &err,
            ));
        }
        match forwarding.upstream.send(request).await {
            Ok(response) => Ok(response),
            Err(err) if err.is_timeout() => Err(fail(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream",
                "IvsVcrUpstreamTimeoutException",
                &err,
            )),
            Err(err) => Err(fail(
                StatusCode::BAD_GATEWAY,
                "upstream",
                "IvsVcrUpstreamException",
                &err,
            )),
        }
    }

    /// Stage `capture`: the interaction to write, cleaned, or `None` when this answer is not
    /// recorded (a 5xx without `record_server_errors`, or something the secret scan refuses).
    fn capture(
        &self,
        exchange: &Exchange,
        upstream: &UpstreamResponse,
    ) -> Option<(Interaction, Fingerprint)> {
        let operation = &exchange.operation;
        let status = upstream.status.as_u16();
        let elapsed_ms = exchange.started.elapsed().as_secs_f64() * 1000.0;
        if upstream.status.is_server_error() && !self.options.record_server_errors {
            tracing::warn!(side = "upstream", peer = %exchange.peer, operation = %operation, status, elapsed_ms, "not recorded: upstream server error");
            self.tally().not_recorded(
                operation,
                format!("upstream answered {status} (record it with --record-server-errors)"),
            );
            return None;
        }
        let (matching, scrub) = {
            let data = exchange.slot.lock();
            (data.base.matching.clone(), data.base.matching.scrub_account)
        };
        let mut request = exchange.downstream.request.clone();
        request.headers.retain(|name, _| {
            matching
                .headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
        });
        redact::request(&mut request, scrub);
        let mut response = RecordedResponse {
            status,
            headers: BTreeMap::new(),
            body: None,
            body_text: None,
        };
        response.set_body_bytes(&upstream.body);
        for kept in KEPT_RESPONSE_HEADERS {
            if let Some(value) = upstream.headers.get(*kept).and_then(|v| v.to_str().ok()) {
                response
                    .headers
                    .insert((*kept).to_owned(), value.to_owned());
            }
        }
        redact::response(&mut response, scrub);
        let fingerprint = normalize::fingerprint(&normalize::request(&request, &matching));
        if response.headers.contains_key("x-amzn-RequestId") {
            response.headers.insert(
                "x-amzn-RequestId".into(),
                request_id(&fingerprint, &response),
            );
        }
        let interaction = Interaction { request, response };
        let findings = redact::scan_interaction(0, &interaction);
        if !findings.is_empty() {
            let locations = findings
                .iter()
                .map(|f| format!("{} at `{}`", f.kind, f.location))
                .collect::<Vec<_>>()
                .join("; ");
            let reason = format!("it holds {locations}");
            tracing::error!(side = "internal", operation = %operation, status, "not recorded: {reason}");
            self.tally().not_recorded(operation, reason);
            return None;
        }
        tracing::info!(peer = %exchange.peer, operation = %operation, status, region = %exchange.region, cassette = %exchange.slot.name, elapsed_ms, "recorded");
        Some((interaction, fingerprint))
    }

    /// Stage `append`: adds the interaction to its cassette and writes the file in the background.
    fn append(
        self: &Arc<Self>,
        exchange: &Exchange,
        interaction: Interaction,
        fingerprint: Fingerprint,
    ) {
        let completed = self.clock.fetch_add(1, Ordering::SeqCst);
        let key = (
            exchange.operation.clone(),
            fingerprint,
            serde_json::to_string(&interaction.response).unwrap_or_default(),
        );
        {
            let mut data = exchange.slot.lock();
            data.new.push(Captured {
                arrived: exchange.arrived,
                completed,
                key,
                interaction,
            });
            data.generation += 1;
        }
        self.tally().op(&exchange.operation).recorded += 1;
        let state = self.clone();
        let slot = exchange.slot.clone();
        tokio::spawn(async move {
            tokio::time::sleep(WRITE_DELAY).await;
            state.write(&slot).await
        });
    }

    /// Writes a cassette when it changed since the last write.
    async fn write(&self, slot: &Slot) {
        let mut written = slot.written.lock().await;
        let (generation, cassette) = {
            let data = slot.lock();
            if data.generation == *written {
                return;
            }
            (data.generation, data.cassette())
        };
        let path = slot.path.clone();
        let result = tokio::task::spawn_blocking(move || {
            let findings = redact::scan(&cassette);
            if !findings.is_empty() {
                return Err(RecordError::SecretFound { path, findings });
            }
            cassette.save(&path).map_err(RecordError::from)
        })
        .await;
        match result {
            Ok(Ok(())) => {
                *written = generation;
                self.tally().written.insert(slot.path.clone());
            }
            Ok(Err(err)) => {
                let message = server::error_chain(&err);
                tracing::error!(side = "internal", cassette = %slot.name, "{message}");
                self.tally().write_errors.insert(slot.path.clone(), message);
            }
            Err(join) => {
                tracing::error!(side = "internal", cassette = %slot.name, error = %join, "cassette writer failed");
            }
        }
    }

    /// Writes every cassette that changed since its last write.
    async fn flush(&self) {
        let slots: Vec<Arc<Slot>> = self.slots.lock().await.values().cloned().collect();
        for slot in slots {
            self.write(&slot).await;
        }
    }
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotData> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SlotData {
    /// The cassette to write: the kept interactions, then this run's in a deterministic order.
    fn cassette(&self) -> Cassette {
        let mut cassette = self.base.clone();
        cassette
            .interactions
            .extend(order(&self.new).into_iter().map(|c| c.interaction.clone()));
        cassette
    }
}

/// Orders captured interactions: groups of time-overlapping ones in arrival order, each group
/// sorted by content (see the module doc).
fn order(captured: &[Captured]) -> Vec<&Captured> {
    let mut by_arrival: Vec<&Captured> = captured.iter().collect();
    by_arrival.sort_by_key(|c| c.arrived);
    let mut out = Vec::with_capacity(captured.len());
    let mut group: Vec<&Captured> = Vec::new();
    let mut group_end = 0;
    for c in by_arrival {
        if !group.is_empty() && c.arrived > group_end {
            group.sort_by(|a, b| a.key.cmp(&b.key).then(a.arrived.cmp(&b.arrived)));
            out.append(&mut group);
        }
        group_end = if group.is_empty() {
            c.completed
        } else {
            group_end.max(c.completed)
        };
        group.push(c);
    }
    group.sort_by(|a, b| a.key.cmp(&b.key).then(a.arrived.cmp(&b.arrived)));
    out.append(&mut group);
    out
}

/// The upstream request: raw path and query as received, `Host` of the upstream, the client's
/// `Content-Type`, and nothing else of the client's (its signing headers least of all).
fn build_upstream_request(
    exchange: &Exchange,
    endpoint: &Endpoint,
) -> Result<Request<Bytes>, UpstreamError> {
    let base = endpoint.base_url(&exchange.region)?;
    let req = &exchange.downstream.request;
    let mut uri = format!("{base}{}", req.path);
    if let Some(query) = &exchange.raw_query {
        uri.push('?');
        uri.push_str(query);
    }
    let bad = |reason| UpstreamError::BadEndpoint {
        url: base.clone(),
        reason,
    };
    let uri: http::Uri = uri
        .parse()
        .map_err(|_| bad("the request path does not make a URL with it"))?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| bad("no host"))?;
    let mut builder = Request::builder()
        .method(req.method.as_str())
        .uri(uri)
        .header(http::header::HOST, host)
        .header(
            http::header::USER_AGENT,
            concat!("ivs-vcr/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(content_type) = &exchange.content_type {
        builder = builder.header(http::header::CONTENT_TYPE, content_type);
    }
    builder
        .body(exchange.downstream.raw_body.clone())
        .map_err(|_| bad("the request does not make an HTTP request with it"))
}

/// The upstream answer as the downstream client gets it: status, headers (less hop-by-hop
/// ones) and body, unchanged.
fn downstream_response(upstream: &UpstreamResponse) -> HttpResponse {
    let mut response = Response::new(Full::new(upstream.body.clone()));
    *response.status_mut() = upstream.status;
    for (name, value) in &upstream.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
        .headers_mut()
        .insert(server::MATCH_HEADER, HeaderValue::from_static("forwarded"));
    response
}

/// A request id derived from the interaction, shaped like AWS's (a UUID), so that re-recording
/// the same exchange writes the same id.
fn request_id(fingerprint: &Fingerprint, response: &RecordedResponse) -> String {
    let mut hasher = Sha256::new();
    hasher.update(fingerprint.0);
    hasher.update(response.status.to_be_bytes());
    hasher.update(response.body_bytes());
    let hex: String = hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// True for `POST /<Name>` where the name could be an AWS operation: one segment, an uppercase
/// letter followed by letters and digits.
fn is_operation_like(method: &str, path: &str) -> bool {
    let Some(name) = path.strip_prefix('/') else {
        return false;
    };
    method == "POST"
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric())
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

/// Today's date in UTC, `YYYY-MM-DD`.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// How many distinct (operation, reason) pairs each list of the summary keeps; further reasons
/// are counted under [`OTHER_REASONS`]. Reasons can hold what a request said (a refused region),
/// so without a bound a hostile client could grow the summary without end.
const MAX_REASONS: usize = 100;

/// How many operations the summary counts one by one (IVS has 46; the rest are made-up paths).
const MAX_OPERATIONS: usize = 100;

/// The operation under which requests past [`MAX_OPERATIONS`] or [`MAX_REASONS`] are counted.
const OTHER_OPERATIONS: &str = "(other operations)";

/// The reason that counts requests past [`MAX_REASONS`].
const OTHER_REASONS: &str = "other reasons (too many distinct reasons to list)";

/// Counts and reports, as the summary shows them.
#[derive(Debug, Default)]
struct Tally {
    operations: BTreeMap<String, RecordOperationSummary>,
    not_recorded: Reasons,
    refused: Reasons,
    written: std::collections::BTreeSet<PathBuf>,
    write_errors: BTreeMap<PathBuf, String>,
}

/// Skipped requests grouped by operation and reason, in the order each group first appeared.
#[derive(Debug, Default)]
struct Reasons {
    groups: Vec<Skipped>,
    /// (operation, reason) → index in `groups`.
    index: HashMap<(String, String), usize>,
}

impl Reasons {
    fn add(&mut self, operation: &str, reason: String) {
        // Past the bound, everything new goes under one key, whose operation is fixed too:
        // operation names come from request paths, and would otherwise grow the table.
        let key = if self.index.len() >= MAX_REASONS
            && !self
                .index
                .contains_key(&(operation.to_owned(), reason.clone()))
        {
            (OTHER_OPERATIONS.to_owned(), OTHER_REASONS.to_owned())
        } else {
            (operation.to_owned(), reason)
        };
        let groups = &mut self.groups;
        let idx = *self
            .index
            .entry(key)
            .or_insert_with_key(|(operation, reason)| {
                groups.push(Skipped {
                    operation: operation.clone(),
                    reason: reason.clone(),
                    n_requests: 0,
                });
                groups.len() - 1
            });
        groups[idx].n_requests += 1;
    }
}

impl Tally {
    fn op(&mut self, operation: &str) -> &mut RecordOperationSummary {
        // Operation names come from request paths: past a bound, new ones are counted together.
        let operation = if self.operations.len() >= MAX_OPERATIONS
            && !self.operations.contains_key(operation)
        {
            OTHER_OPERATIONS
        } else {
            operation
        };
        self.operations.entry(operation.to_owned()).or_default()
    }

    /// Counts a forwarded request whose answer was not recorded, and why (without the operation).
    fn not_recorded(&mut self, operation: &str, reason: String) {
        self.op(operation).not_recorded += 1;
        self.not_recorded.add(operation, reason);
    }

    /// Counts a request refused before forwarding, and why (without the operation).
    fn refused(&mut self, operation: &str, reason: String) {
        self.op(operation).refused += 1;
        self.refused.add(operation, reason);
    }

    fn summary(&self) -> RecordSummary {
        RecordSummary {
            operations: self.operations.clone(),
            not_recorded: self.not_recorded.groups.clone(),
            refused: self.refused.groups.clone(),
            written: self.written.iter().cloned().collect(),
            write_errors: self
                .write_errors
                .iter()
                .map(|(path, e)| (path.clone(), e.clone()))
                .collect(),
        }
    }
}

/// What a record server did: per operation, and every answer it did not record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordSummary {
    /// Per operation counts, sorted by operation.
    pub operations: BTreeMap<String, RecordOperationSummary>,
    /// Forwarded requests whose answer was not recorded (upstream 5xx, upstream faults, the
    /// secret scan), grouped by operation and reason, in order of first occurrence.
    pub not_recorded: Vec<Skipped>,
    /// Requests refused before forwarding (bad region, bad cassette name, unmatched in a mode
    /// that does not forward), grouped the same way.
    pub refused: Vec<Skipped>,
    /// Cassette files written.
    pub written: Vec<PathBuf>,
    /// Cassette files that could not be written, and why (the last error of each).
    pub write_errors: Vec<(PathBuf, String)>,
}

/// Requests of one operation that were not recorded, or were refused, for the same reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skipped {
    /// The IVS operation.
    pub operation: String,
    /// Why, as logged and as told to the downstream client.
    pub reason: String,
    /// How many requests.
    pub n_requests: u64,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.reason)?;
        if self.n_requests > 1 {
            write!(f, " (×{})", self.n_requests)?;
        }
        Ok(())
    }
}

/// Counts for one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordOperationSummary {
    /// Answers recorded.
    pub recorded: u64,
    /// Answers replayed from the existing cassette.
    pub replayed: u64,
    /// Answers passed downstream but not recorded.
    pub not_recorded: u64,
    /// Requests refused before forwarding.
    pub refused: u64,
}

impl RecordSummary {
    /// Interactions recorded, in total.
    pub fn n_recorded(&self) -> u64 {
        self.operations.values().map(|o| o.recorded).sum()
    }

    /// True when every answer was recorded or replayed and every cassette written.
    pub fn is_clean(&self) -> bool {
        self.not_recorded.is_empty() && self.refused.is_empty() && self.write_errors.is_empty()
    }
}

impl fmt::Display for RecordSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .operations
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(9)
            .max(9);
        writeln!(
            f,
            "{:<width$}  {:>8}  {:>8}  {:>12}  {:>7}",
            "operation", "recorded", "replayed", "not recorded", "refused"
        )?;
        for (op, s) in &self.operations {
            writeln!(
                f,
                "{op:<width$}  {:>8}  {:>8}  {:>12}  {:>7}",
                s.recorded, s.replayed, s.not_recorded, s.refused
            )?;
        }
        let total = |pick: fn(&RecordOperationSummary) -> u64| -> u64 {
            self.operations.values().map(pick).sum()
        };
        writeln!(
            f,
            "total: {} recorded, {} replayed, {} not recorded, {} refused",
            total(|o| o.recorded),
            total(|o| o.replayed),
            total(|o| o.not_recorded),
            total(|o| o.refused)
        )?;
        for path in &self.written {
            writeln!(f, "wrote {}", path.display())?;
        }
        let sections: [(&str, &[Skipped]); 2] = [
            ("not recorded:", &self.not_recorded),
            ("refused:", &self.refused),
        ];
        for (title, lines) in sections {
            if !lines.is_empty() {
                writeln!(f, "{title}")?;
                for line in lines {
                    writeln!(f, "  - {line}")?;
                }
            }
        }
        if !self.write_errors.is_empty() {
            writeln!(f, "not written:")?;
            for (path, e) in &self.write_errors {
                writeln!(f, "  - {}: {e}", path.display())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn civil_dates() {
        let check = |days: i64, expected: (i64, u32, u32)| {
            assert_eq!(civil_from_days(days), expected, "{days}");
        };
        check(0, (1970, 1, 1));
        check(19_782, (2024, 2, 29));
        check(20_788, (2026, 12, 1));
    }

    fn captured(arrived: u64, completed: u64, key: &str) -> Captured {
        Captured {
            arrived,
            completed,
            key: (key.to_owned(), Fingerprint([0; 32]), String::new()),
            interaction: serde_json::from_value(serde_json::json!({
                "request": {"method": "POST", "path": "/X", "region": "us-west-2"},
                "response": {"status": 200}
            }))
            .unwrap(),
        }
    }

    #[test]
    fn overlapping_interactions_are_ordered_by_content() {
        let check = |input: Vec<Captured>, expected: &[&str]| {
            let got: Vec<&str> = order(&input).iter().map(|c| c.key.0.as_str()).collect();
            assert_eq!(got, expected);
        };
        // Sequential: arrival order, whatever the content.
        check(vec![captured(0, 1, "b"), captured(2, 3, "a")], &["b", "a"]);
        // Overlapping: content order, whatever completed first.
        check(
            vec![
                captured(1, 5, "b"),
                captured(0, 3, "c"),
                captured(2, 4, "a"),
                captured(6, 7, "a"),
            ],
            &["a", "b", "c", "a"],
        );
    }
}

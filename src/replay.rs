//! The replay server: answers downstream requests from cassettes, offline.
//!
//! [`ReplayServer`] is what tests embed and what `ivs-vcr replay` runs. Per request the stages are
//! `read_request → match → respond → log`: `server` reads the request, `matcher::Index` picks the
//! interaction, and the answer is a response prepared once at start (status, headers and body bytes),
//! so the hot path allocates little. An unmatched request gets an AWS-style 400 naming the nearest
//! recorded interaction and its first difference, the same text is logged at `warn`, and both
//! [`ReplayServer::verify`] and `Drop` panic with a report of everything unmatched or unused.
//!
//! This module never opens an outbound connection.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use crate::cassette::{self, Cassette, CassetteError, RecordedRequest, RecordedResponse};
use crate::matcher::{Index, MatchLevel, SequenceEnd};
use crate::server::{self, Handler, HttpResponse, ReadTimeouts, Running};
use crate::{ivs, normalize};

/// The region assumed for a request that carries no SigV4 credential scope.
pub const DEFAULT_REGION: &str = "us-west-2";

/// Errors of starting a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A cassette could not be loaded.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// Some cassettes could not be loaded, and strict loading is on.
    #[error("{} cassette(s) could not be loaded: {}", .0.len(), join_errors(.0))]
    Cassettes(Vec<CassetteError>),
    /// The listening socket could not be opened.
    #[error("cannot listen on `{addr}`")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// Two cassettes have the same name, so `/cassette/<name>` would be ambiguous.
    #[error("two cassettes are named `{name}`; cassette names must be unique")]
    DuplicateName {
        /// The name.
        name: String,
    },
}

fn join_errors(errors: &[CassetteError]) -> String {
    errors
        .iter()
        .map(|e| server::error_chain(e))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Configures and starts a [`ReplayServer`].
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct ReplayServerBuilder {
    cassettes: Vec<Cassette>,
    dirs: Vec<PathBuf>,
    listener: Option<std::net::TcpListener>,
    bind: Option<SocketAddr>,
    level: MatchLevel,
    sequence_end: SequenceEnd,
    default_region: Option<String>,
    fail_on_unused: bool,
    lenient_load: bool,
    home_region: Option<String>,
    read_timeouts: ReadTimeouts,
}

impl ReplayServerBuilder {
    /// Serves this cassette (in addition to any others given).
    pub fn cassette(mut self, cassette: Cassette) -> Self {
        self.cassettes.push(cassette);
        self
    }

    /// Serves these cassettes.
    pub fn cassettes(mut self, cassettes: impl IntoIterator<Item = Cassette>) -> Self {
        self.cassettes.extend(cassettes);
        self
    }

    /// Serves every cassette under this directory (loaded by `start`).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dirs.push(dir.into());
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

    /// Sets the match level (default [`MatchLevel::Exact`]).
    pub fn match_level(mut self, level: MatchLevel) -> Self {
        self.level = level;
        self
    }

    /// Makes a request beyond the recorded answers of its sequence unmatched, instead of
    /// repeating the last answer.
    pub fn strict_sequence(mut self, strict: bool) -> Self {
        self.sequence_end = if strict {
            SequenceEnd::Strict
        } else {
            SequenceEnd::RepeatLast
        };
        self
    }

    /// The region of requests that carry no SigV4 credential scope (default `us-west-2`).
    pub fn default_region(mut self, region: impl Into<String>) -> Self {
        self.default_region = Some(region.into());
        self
    }

    /// Makes [`ReplayServer::verify`] (and `Drop`) also fail on interactions never used.
    pub fn fail_on_unused(mut self, fail: bool) -> Self {
        self.fail_on_unused = fail;
        self
    }

    /// Serves clients of every region from cassettes recorded in `home` (as the bundled set is):
    /// a request from another region is matched as if it came from `home`, with its region name
    /// replaced by `home` in path, query and body, and the answer names the client's region
    /// wherever the cassette says `home` (ARNs, ingest endpoints, playback URLs, stream keys).
    pub fn region_portable(mut self, home: impl Into<String>) -> Self {
        self.home_region = Some(home.into());
        self
    }

    /// Skips cassette files that fail to load (each is logged at `error` and listed in the
    /// summary) instead of refusing to start.
    pub fn lenient_load(mut self, lenient: bool) -> Self {
        self.lenient_load = lenient;
        self
    }

    /// How long a client may take to send its request headers and then its body (default 10 s and
    /// 30 s). A client too slow with its headers is disconnected; one too slow with its body gets
    /// a 408 `IvsVcrRequestTimeoutException` and is disconnected. Either way it holds only its own
    /// connection, never anyone else's answer.
    pub fn read_timeouts(mut self, header: Duration, body: Duration) -> Self {
        self.read_timeouts = ReadTimeouts { header, body };
        self
    }

    /// Loads the cassettes, binds, and starts serving in the background.
    pub async fn start(self) -> Result<ReplayServer, ServeError> {
        let mut cassettes = self.cassettes;
        let mut load_errors = Vec::new();
        for dir in &self.dirs {
            let (loaded, errors) = load_source(dir)?;
            cassettes.extend(loaded);
            load_errors.extend(errors);
        }
        if !load_errors.is_empty() {
            // Lenient loading skips bad files, but a server with nothing left to serve is no use.
            if !self.lenient_load || cassettes.is_empty() {
                return Err(ServeError::Cassettes(load_errors));
            }
            for err in &load_errors {
                tracing::error!(error = %join_errors(std::slice::from_ref(err)), "skipping cassette");
            }
        }
        let mut names: Vec<&str> = cassettes.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(ServeError::DuplicateName {
                name: w[0].to_owned(),
            });
        }

        let state = Arc::new(ReplayState::new(
            cassettes,
            load_errors,
            self.level,
            self.sequence_end,
            self.default_region
                .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            self.home_region,
            self.read_timeouts,
        ));
        let running = Running::start(
            self.listener,
            self.bind,
            state.clone(),
            "anyone who can reach this address can use the replay server",
        )
        .map_err(|(addr, source)| ServeError::Bind { addr, source })?;
        Ok(ReplayServer {
            running,
            state,
            fail_on_unused: self.fail_on_unused,
            armed: true,
        })
    }
}

/// Loads a cassette file or every cassette under a directory.
fn load_source(path: &Path) -> Result<(Vec<Cassette>, Vec<CassetteError>), CassetteError> {
    if path.is_file() {
        // A file named directly is skipped like one found in a directory (unless strict); only a
        // path that cannot be read at all stops the start.
        return match Cassette::load(path) {
            Ok(cassette) => Ok((vec![cassette], Vec::new())),
            Err(err @ CassetteError::Io { .. }) => Err(err),
            Err(err) => Ok((Vec::new(), vec![err])),
        };
    }
    let (cassettes, errors) = cassette::load_dir(path)?;
    if cassettes.is_empty() && errors.is_empty() {
        return Err(CassetteError::Empty {
            path: path.to_owned(),
        });
    }
    Ok((cassettes, errors))
}

/// A replay server running in the background on a loopback port.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ivs_vcr::{Cassette, ReplayServer};
/// let server = ReplayServer::start(Cassette::load("cassettes/channel-lifecycle.yaml")?).await;
/// // point the SDK at server.uri() and run the code under test…
/// server.verify(); // also runs on drop
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ReplayServer {
    running: Running,
    state: Arc<ReplayState>,
    fail_on_unused: bool,
    /// False once `shutdown` has returned the summary to the caller, who then owns the verdict.
    armed: bool,
}

impl ReplayServer {
    /// Starts a server for one cassette on a free loopback port, with default options.
    ///
    /// # Panics
    /// When no loopback port can be bound, which a test cannot recover from anyway.
    pub async fn start(cassette: Cassette) -> ReplayServer {
        ReplayServer::builder()
            .cassette(cassette)
            .start()
            .await
            .expect("a replay server on 127.0.0.1:0 starts")
    }

    /// A builder for everything else.
    pub fn builder() -> ReplayServerBuilder {
        ReplayServerBuilder::default()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// The endpoint URL to give an SDK, e.g. `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// The names of the cassettes served, in load order.
    pub fn cassette_names(&self) -> &[String] {
        &self.state.index.cassette_names
    }

    /// The number of interactions served.
    pub fn n_interactions(&self) -> usize {
        self.state.index.entries.len()
    }

    /// What has been served so far.
    pub fn summary(&self) -> Summary {
        self.state.summary()
    }

    /// Panics with a report when any request went unmatched, or (with `fail_on_unused`) when an
    /// interaction was never used.
    pub fn verify(&self) {
        let summary = self.summary();
        if !summary.is_clean(self.fail_on_unused) {
            panic!("ivs-vcr replay verification failed\n{summary}");
        }
    }

    /// Stops accepting, waits for in-flight requests, and returns the summary. The caller then
    /// owns the verdict: `Drop` no longer verifies.
    pub async fn shutdown(mut self) -> Summary {
        self.armed = false;
        self.running.stop().await;
        self.state.summary()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.running.signal_stop();
        if self.armed && !std::thread::panicking() {
            self.verify();
        }
    }
}

/// A prepared answer: built once at start, cloned per request. Record's replayed answers are
/// built the same way, so both servers answer a recorded interaction alike.
#[derive(Debug)]
pub(crate) struct Prepared {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Prepared {
    /// The answer of interaction `idx` of cassette `cassette`: recorded status, headers and body,
    /// with `x-ivs-vcr-source` and `x-ivs-vcr-match: exact`.
    pub(crate) fn new(res: &RecordedResponse, cassette: &str, idx: usize) -> Prepared {
        let mut headers = HeaderMap::new();
        for (name, value) in &res.headers {
            // Invariant: `Cassette::load` validated every header name and value; a cassette
            // built in code with a bad one loses that header rather than the whole answer.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                // Content-Length is recomputed from the body we send.
                if name != http::header::CONTENT_LENGTH {
                    headers.append(name, value);
                }
            }
        }
        if let Ok(value) = HeaderValue::from_str(&format!("{cassette}#{idx}")) {
            headers.insert(server::SOURCE_HEADER, value);
        }
        // Present from the start, so that the per-request copy never has to grow: an answer by
        // operation only overwrites the value.
        headers.insert(server::MATCH_HEADER, HeaderValue::from_static("exact"));
        Prepared {
            status: StatusCode::from_u16(res.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers,
            body: res.body_bytes(),
        }
    }

    /// The answer as a response, unchanged.
    pub(crate) fn to_response(&self) -> HttpResponse {
        let mut response = Response::new(Full::new(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// Everything a request handler needs, shared by all connections.
#[derive(Debug)]
struct ReplayState {
    index: Index,
    prepared: Vec<Prepared>,
    default_region: String,
    keep_headers: bool,
    /// The region the cassettes were recorded in, when clients of any region are served.
    home_region: Option<String>,
    read_timeouts: ReadTimeouts,
    unmatched: Mutex<Unmatched>,
    load_errors: Vec<String>,
}

impl ReplayState {
    fn new(
        cassettes: Vec<Cassette>,
        load_errors: Vec<CassetteError>,
        level: MatchLevel,
        sequence_end: SequenceEnd,
        default_region: String,
        home_region: Option<String>,
        read_timeouts: ReadTimeouts,
    ) -> ReplayState {
        let index = Index::build(&cassettes, level, sequence_end);
        let prepared = cassettes
            .iter()
            .flat_map(|c| {
                c.interactions
                    .iter()
                    .enumerate()
                    .map(move |(i, it)| (c, i, it))
            })
            .map(|(cassette, idx, interaction)| {
                Prepared::new(&interaction.response, &cassette.name, idx)
            })
            .collect();
        ReplayState {
            keep_headers: cassettes.iter().any(|c| !c.matching.headers.is_empty()),
            index,
            prepared,
            default_region,
            home_region,
            read_timeouts,
            unmatched: Mutex::new(Unmatched::default()),
            load_errors: load_errors
                .iter()
                .map(|e| join_errors(std::slice::from_ref(e)))
                .collect(),
        }
    }

    /// Builds the answer from the prepared response. With `translation = (home, region)`, the
    /// client's region replaces the home region in headers and body; both are valid region names
    /// (letters, digits and dashes), so the textual replacement cannot break the JSON.
    fn respond(
        &self,
        entry_idx: usize,
        by_operation: bool,
        translation: Option<(&str, &str)>,
    ) -> HttpResponse {
        let prepared = &self.prepared[entry_idx];
        let mut response = prepared.to_response();
        if let Some((home, region)) = translation {
            for value in response.headers_mut().values_mut() {
                let translated = value
                    .to_str()
                    .ok()
                    .filter(|text| text.contains(home))
                    .and_then(|text| HeaderValue::from_str(&text.replace(home, region)).ok());
                if let Some(translated) = translated {
                    *value = translated;
                }
            }
            let text = String::from_utf8_lossy(&prepared.body);
            if text.contains(home) {
                *response.body_mut() = Full::new(Bytes::from(text.replace(home, region)));
            }
        }
        if by_operation {
            response
                .headers_mut()
                .insert(server::MATCH_HEADER, HeaderValue::from_static("operation"));
        }
        response
    }

    fn summary(&self) -> Summary {
        let mut operations: BTreeMap<String, OperationSummary> = BTreeMap::new();
        let mut unused = Vec::new();
        for (operation, (matched, unused_entries)) in self.index.usage() {
            let slot = operations.entry(operation.clone()).or_default();
            slot.matched = matched;
            slot.unused = unused_entries.len() as u64;
            unused.extend(unused_entries);
        }
        // Entries are numbered in cassette order, so this lists them as the files do.
        unused.sort_unstable();
        let unused = unused
            .into_iter()
            .map(|idx| {
                let entry = &self.index.entries[idx];
                UnusedInteraction {
                    cassette: self.index.cassette_names[entry.cassette_idx].clone(),
                    interaction_idx: entry.interaction_idx,
                    operation: entry.normalized.operation.clone(),
                }
            })
            .collect();
        let unmatched = self.unmatched.lock().unwrap_or_else(|p| p.into_inner());
        for (operation, n) in &unmatched.per_operation {
            operations.entry(operation.clone()).or_default().unmatched += n;
        }
        Summary {
            operations,
            n_unmatched: unmatched.per_operation.values().sum(),
            unmatched: unmatched.reports.clone(),
            unused,
            load_errors: self.load_errors.clone(),
        }
    }
}

impl Handler for ReplayState {
    fn read_timeouts(&self) -> ReadTimeouts {
        self.read_timeouts
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, peer: SocketAddr) -> HttpResponse {
        let downstream = match server::read_request(
            req,
            &self.default_region,
            self.keep_headers,
            self.read_timeouts.body,
        )
        .await
        {
            Ok(downstream) => downstream,
            Err(response) => return response,
        };
        let cassette = match downstream.cassette.as_deref() {
            None => None,
            Some(name) => match self.index.cassette_idx(name) {
                Some(idx) => Some(idx),
                None => {
                    let message = format!(
                        "no cassette named `{name}`; loaded: {}",
                        self.index.cassette_names.join(", ")
                    );
                    tracing::warn!(side = "downstream", %peer, "{message}");
                    return server::error_response(
                        StatusCode::BAD_REQUEST,
                        "IvsVcrUnknownCassetteException",
                        &message,
                    );
                }
            },
        };
        let request = downstream.request;
        // A client of another region is first answered from its own region's recordings; only
        // when none answers exactly is it served from the home region's (the bundled set's), with
        // the answer translated back. Only a well-formed region is substituted into answers.
        let foreign_home = self
            .home_region
            .as_deref()
            .filter(|home| request.region != *home && normalize::is_valid_region(&request.region));
        let found = match foreign_home {
            None => self
                .index
                .lookup(&request, cassette, true)
                .map(|hit| (hit, None)),
            Some(home) => self
                .index
                .lookup(&request, cassette, false)
                .map(|hit| (hit, None))
                .or_else(|_| {
                    let mut translated = request.clone();
                    translated.region = home.to_owned();
                    translate_request(&mut translated, &request.region, home);
                    self.index
                        .lookup(&translated, cassette, true)
                        .map(|hit| (hit, Some((home, request.region.as_str()))))
                }),
        };
        match found {
            Ok((hit, translation)) => {
                tracing::debug!(
                    side = "downstream",
                    %peer,
                    method = %request.method,
                    path = %request.path,
                    entry = hit.entry_idx,
                    by_operation = hit.by_operation,
                    "replayed"
                );
                self.respond(hit.entry_idx, hit.by_operation, translation)
            }
            Err(miss) => {
                // Only now is the route checked, so that a cassette recorded with an operation
                // newer than the catalog still answers; a request that is not an IVS call at all
                // is told so, rather than shown the nearest of some other operation.
                let (response, report) = match ivs::check_route(&request.method, &request.path) {
                    Err(route) => (server::route_error_response(&route), route.to_string()),
                    Ok(_) => {
                        let report = self.index.explain(&request, cassette, &miss);
                        let response = server::error_response(
                            StatusCode::BAD_REQUEST,
                            "IvsVcrUnmatchedRequestException",
                            &report,
                        );
                        (response, report)
                    }
                };
                tracing::warn!(side = "downstream", %peer, "{report}");
                self.unmatched
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .add(miss.operation, report);
                response
            }
        }
    }
}

/// The unmatched requests so far: counted per operation, and the first reports kept, so that a
/// client sending wrong requests forever does not grow the server's memory with them.
#[derive(Debug, Default)]
struct Unmatched {
    per_operation: BTreeMap<String, u64>,
    reports: Vec<String>,
}

/// How many unmatched-request reports a server keeps for its summary.
const UNMATCHED_REPORT_LIMIT: usize = 100;

impl Unmatched {
    fn add(&mut self, operation: String, report: String) {
        // Operation names come from request paths: past the limit they are counted together.
        let key = if self.per_operation.len() < UNMATCHED_REPORT_LIMIT
            || self.per_operation.contains_key(&operation)
        {
            operation
        } else {
            "(other paths)".to_owned()
        };
        *self.per_operation.entry(key).or_default() += 1;
        if self.reports.len() < UNMATCHED_REPORT_LIMIT {
            self.reports.push(report);
        }
    }
}

/// Replaces the client's region by the home region in the request's path, query and body strings.
fn translate_request(req: &mut RecordedRequest, region: &str, home: &str) {
    if req.path.contains(region) {
        req.path = req.path.replace(region, home);
    }
    for value in req.query.values_mut().flatten() {
        if value.contains(region) {
            *value = value.replace(region, home);
        }
    }
    if let Some(body) = req.body.as_mut() {
        replace_in_strings(body, region, home);
    }
}

fn replace_in_strings(value: &mut serde_json::Value, from: &str, to: &str) {
    match value {
        serde_json::Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        serde_json::Value::Array(items) => items
            .iter_mut()
            .for_each(|v| replace_in_strings(v, from, to)),
        serde_json::Value::Object(map) => map
            .values_mut()
            .for_each(|v| replace_in_strings(v, from, to)),
        _ => {}
    }
}

/// What a replay server served: per operation, and every request or interaction left over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Per operation counts, sorted by operation.
    pub operations: BTreeMap<String, OperationSummary>,
    /// How many requests went unmatched.
    pub n_unmatched: u64,
    /// The diagnostics of the unmatched requests, in arrival order (the first 100).
    pub unmatched: Vec<String>,
    /// Interactions never used.
    pub unused: Vec<UnusedInteraction>,
    /// Cassette files skipped at load.
    pub load_errors: Vec<String>,
}

/// Counts for one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationSummary {
    /// Requests answered from a cassette.
    pub matched: u64,
    /// Requests nothing answered.
    pub unmatched: u64,
    /// Interactions never used.
    pub unused: u64,
}

/// An interaction no request used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedInteraction {
    /// The cassette's name.
    pub cassette: String,
    /// The interaction's 0-based position in the cassette.
    pub interaction_idx: usize,
    /// Its operation.
    pub operation: String,
}

impl Summary {
    /// Requests answered, in total.
    pub fn n_matched(&self) -> u64 {
        self.operations.values().map(|o| o.matched).sum()
    }

    /// True when nothing went unmatched (and, if `unused_is_failure`, nothing went unused).
    pub fn is_clean(&self, unused_is_failure: bool) -> bool {
        self.n_unmatched == 0 && (!unused_is_failure || self.unused.is_empty())
    }
}

/// How many unused interactions the summary lists one by one.
const UNUSED_LIST_LIMIT: usize = 20;

impl fmt::Display for Summary {
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
            "{:<width$}  {:>7}  {:>9}  {:>6}",
            "operation", "matched", "unmatched", "unused"
        )?;
        for (op, s) in &self.operations {
            writeln!(
                f,
                "{op:<width$}  {:>7}  {:>9}  {:>6}",
                s.matched, s.unmatched, s.unused
            )?;
        }
        writeln!(
            f,
            "total: {} matched, {} unmatched, {} unused interaction(s)",
            self.n_matched(),
            self.n_unmatched,
            self.unused.len()
        )?;
        if !self.unmatched.is_empty() {
            writeln!(f, "unmatched requests:")?;
            for report in &self.unmatched {
                writeln!(f, "  - {report}")?;
            }
            let not_listed = self.n_unmatched.saturating_sub(self.unmatched.len() as u64);
            if not_listed > 0 {
                writeln!(f, "  … and {not_listed} more")?;
            }
        }
        if !self.unused.is_empty() {
            writeln!(f, "unused interactions:")?;
            for u in self.unused.iter().take(UNUSED_LIST_LIMIT) {
                writeln!(
                    f,
                    "  - {} #{} ({})",
                    u.cassette, u.interaction_idx, u.operation
                )?;
            }
            if self.unused.len() > UNUSED_LIST_LIMIT {
                writeln!(f, "  … and {} more", self.unused.len() - UNUSED_LIST_LIMIT)?;
            }
        }
        if !self.load_errors.is_empty() {
            writeln!(f, "cassettes skipped at load:")?;
            for e in &self.load_errors {
                writeln!(f, "  - {e}")?;
            }
        }
        Ok(())
    }
}
